// Program configuration as nested JSON: the program's defaults, merged with a --config file and
// then flag overrides addressed by dotted keys ("optimizer.lr" is config["optimizer"]["lr"]).
// Unknown keys and wrongly typed values are errors naming their source, so a typo never passes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ssmkit::io {

// Reads a JSON file, or a YAML file (.yaml, .yml; io/yaml_config.h); an InputError names the file
// and the line and column of a syntax error.
nlohmann::json read_config_file(const std::string& path);

// Deep-merges `overrides` into `config`. Every key of `overrides` must already exist in `config`
// with a compatible type (an integer may replace a float, anything may replace null); otherwise an
// InputError names `source`, the dotted key and, for unknown keys, the closest known key.
void merge_config(nlohmann::json& config, const nlohmann::json& overrides,
                  const std::string& source);

// Sets the value at `dotted_key` from command-line text, parsed as the type of the value it
// replaces (integer, float, bool, string; arrays as JSON or comma-separated). Errors as above.
void set_config_value(nlohmann::json& config, const std::string& dotted_key,
                      const std::string& text, const std::string& source);

// Appends the items of `text` (parsed as for set_config_value) to the list at `dotted_key`, for a
// "--key+=value" flag; an InputError when the value there is not a list.
void append_config_value(nlohmann::json& config, const std::string& dotted_key,
                         const std::string& text, const std::string& source);

// Applies "key=value" assignments (a repeatable --set flag) with set_config_value. An item
// without '=' continues the previous value, because option parsers split list values at commas.
void apply_config_assignments(nlohmann::json& config, const std::vector<std::string>& assignments,
                              const std::string& source);

// The value at `dotted_key`; an InputError names the key when it is absent.
const nlohmann::json& config_value(const nlohmann::json& config, const std::string& dotted_key);

// Every leaf as (dotted key, value as JSON text), in key order.
std::vector<std::pair<std::string, std::string>> flatten_config(const nlohmann::json& config);

// flatten_config as an aligned two-column table, for the startup log.
std::string format_config_table(const nlohmann::json& config);

// Typed reader of one config object (e.g. the "optimizer" section) for the factories. Each get
// marks its key as known; finish() then rejects any key that no get asked for. Errors name the
// section and key, e.g. "optimizer.momentum: expected a number, got \"fast\"".
class ConfigSection {
 public:
  // `section` must be an object or null (null reads as empty).
  ConfigSection(const nlohmann::json& section, std::string name);

  bool has(const std::string& key) const;
  double number(const std::string& key, double fallback);
  int64_t integer(const std::string& key, int64_t fallback);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key, const std::string& fallback);
  // A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::string& fallback,
                     std::initializer_list<const char*> allowed);
  std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback);
  std::vector<std::string> strings(const std::string& key,
                                   const std::vector<std::string>& fallback);
  // A list of [name, number] pairs, e.g. [["encoder.embedding", 0.5], ["encoder.layers.0", 0.7]]
  // (a JSON object would lose the order, and YAML configs write lists of lists).
  std::vector<std::pair<std::string, double>> named_numbers(
      const std::string& key, const std::vector<std::pair<std::string, double>>& fallback);
  // A nested section (null when absent), for another ConfigSection.
  nlohmann::json section(const std::string& key);
  // Accepts these keys without reading them: settings of sibling variants (e.g. a schedule's
  // keys when another schedule is chosen), so one section can hold every variant's defaults.
  void allow(std::initializer_list<const char*> keys);
  // Throws InputError listing the keys no getter asked for, and the keys that are known.
  void finish() const;

  const std::string& name() const { return name_; }

 private:
  const nlohmann::json* find(const std::string& key);
  [[noreturn]] void type_error(const std::string& key, const char* expected,
                               const nlohmann::json& got) const;

  nlohmann::json section_;
  std::string name_;
  std::set<std::string> known_;
};

}  // namespace ssmkit::io
