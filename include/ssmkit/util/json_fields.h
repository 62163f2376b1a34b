// Strict reading of option structs from JSON configs: every field is type-checked, unknown fields
// are rejected (a typo must not silently fall back to a default), and errors name the field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>

namespace ssmkit {

// Throws InputError "<context>: '<field>' must be <rule>, got <got>", carrying the field's key.
[[noreturn]] void invalid_option(const char* context, const char* field, const std::string& rule,
                                 const std::string& got);

// invalid_option unless value >= 1.
void require_positive_option(const char* context, const char* field, int64_t value);
// invalid_option unless 0 <= value < 1 (dropout rates).
void require_probability_option(const char* context, const char* field, double value);

class JsonFieldReader {
 public:
  // `context` prefixes messages, e.g. "Mamba config". Throws InputError unless `j` is an object.
  JsonFieldReader(const nlohmann::json& j, std::string context);

  // Each read leaves `value` unchanged when the key is absent and throws InputError when the key
  // holds the wrong type.
  void read(const char* key, int64_t& value);
  void read(const char* key, double& value);
  void read(const char* key, bool& value);
  void read(const char* key, std::string& value);
  // The nested object under `key`, or nullptr when absent.
  const nlohmann::json* object(const char* key);

  // Throws InputError naming the first key no read() asked for.
  void finish() const;

  const std::string& context() const { return context_; }

 private:
  const nlohmann::json* find(const char* key);
  [[noreturn]] void type_error(const char* key, const char* expected,
                               const nlohmann::json& got) const;

  const nlohmann::json& j_;
  std::string context_;
  std::set<std::string> seen_;
};

}  // namespace ssmkit
