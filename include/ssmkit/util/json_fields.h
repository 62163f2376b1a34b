// Reads a configuration object (model or training options) from JSON key by key: a missing key
// keeps its default, a key of the wrong type or an unknown key throws InputError naming the key, so
// a typo in a config file or flag never passes silently.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>

#include "ssmkit/io/error.h"

namespace ssmkit {

class JsonFieldReader {
 public:
  // `what` names the object in messages, e.g. "CMamba config". Throws unless `config` is an object.
  JsonFieldReader(const nlohmann::json& config, std::string what);

  // Sets `value` from config[key] when present; throws InputError for a value of the wrong type.
  void read(const char* key, bool& value);
  void read(const char* key, int64_t& value);
  void read(const char* key, double& value);
  void read(const char* key, std::string& value);

  // Throws InputError naming every key that no read() asked for.
  void finish() const;

  const std::string& what() const { return what_; }

 private:
  const nlohmann::json* find(const char* key);
  [[noreturn]] void type_error(const char* key, const nlohmann::json& value,
                               const char* expected) const;

  const nlohmann::json& config_;
  std::string what_;
  std::set<std::string> known_;
};

// Throws InputError "<what>: '<key>' is <value>, expected <requirement>" unless `ok`.
void require_config(bool ok, const std::string& what, const char* key, const std::string& value,
                    const char* requirement);

}  // namespace ssmkit
