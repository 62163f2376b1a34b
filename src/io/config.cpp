// Configuration merging, dotted-key overrides, typed section reading and the config table.
#include "ssmkit/io/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ssmkit/io/error.h"
#include "ssmkit/io/number_text.h"
#include "ssmkit/io/text_list.h"
#include "ssmkit/io/yaml_config.h"

namespace ssmkit::io {
namespace {

using nlohmann::json;

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::vector<std::string> split_dotted(const std::string& dotted_key, const std::string& source) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(dotted_key);
  while (std::getline(in, part, '.')) {
    if (part.empty()) throw InputError(source + ": '" + dotted_key + "' is not a valid key");
    parts.push_back(part);
  }
  if (parts.empty()) throw InputError(source + ": empty config key");
  return parts;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> keys_of(const json& object) {
  std::vector<std::string> keys;
  if (object.is_object()) {
    for (const auto& item : object.items())
      keys.push_back(item.key());
  }
  return keys;
}

// " (did you mean 'x'?)" when a known key is close enough to be a plausible typo.
std::string suggestion(const std::string& key, const std::vector<std::string>& known) {
  // A typo changes at most a third of a key's characters (and at least one is allowed).
  const size_t max_distance = std::max<size_t>(1, key.size() / 3);
  std::string best;
  size_t best_distance = max_distance + 1;
  for (const auto& candidate : known) {
    const size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

[[noreturn]] void unknown_key(const std::string& source, const std::string& prefix,
                              const std::string& key, const json& parent) {
  const auto known = keys_of(parent);
  throw InputError(source + ": unknown config key '" + join_key(prefix, key) + "'" +
                   suggestion(key, known) + "; known keys" +
                   (prefix.empty() ? "" : " of '" + prefix + "'") + ": " + join_names(known));
}

const char* type_name(const json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_boolean()) return "true or false";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  if (value.is_object()) return "a section";
  return "null";
}

// Whether `replacement` may take the place of `current` (same kind; integer for float; any for
// null).
bool compatible(const json& current, const json& replacement) {
  if (current.is_null()) return true;
  if (current.is_number_float()) return replacement.is_number();
  if (current.is_number()) return replacement.is_number_integer();
  return current.type() == replacement.type();
}

void merge_into(json& config, const json& overrides, const std::string& source,
                const std::string& prefix) {
  for (const auto& item : overrides.items()) {
    const std::string key = item.key();
    if (!config.contains(key)) unknown_key(source, prefix, key, config);
    json& current = config[key];
    const json& replacement = item.value();
    const std::string dotted = join_key(prefix, key);
    if (current.is_object()) {
      if (!replacement.is_object()) {
        throw InputError(source + ": '" + dotted + "' is a section; give it as an object, got " +
                         type_name(replacement));
      }
      merge_into(current, replacement, source, dotted);
    } else if (!compatible(current, replacement)) {
      throw InputError(source + ": '" + dotted + "' expects " + type_name(current) + ", got " +
                       replacement.dump());
    } else {
      current = replacement;
    }
  }
}

bool parse_integer(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = value;
  return true;
}

bool parse_double(const std::string& text, double& out) {
  const NumberText number = parse_number_text(text);
  if (number.kind != NumberTextKind::number) return false;
  out = number.value;
  return true;
}

bool parse_bool(std::string text, bool& out) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    out = true;
  } else if (text == "false" || text == "0" || text == "no" || text == "off") {
    out = false;
  } else {
    return false;
  }
  return true;
}

// Parses `text` as a value of the same kind as `like`; false when it does not parse.
bool parse_like(const json& like, const std::string& text, json& out) {
  if (like.is_number_float()) {
    double value = 0;
    if (!parse_double(text, value)) return false;
    out = value;
  } else if (like.is_number()) {
    int64_t value = 0;
    if (!parse_integer(text, value)) return false;
    out = value;
  } else if (like.is_boolean()) {
    bool value = false;
    if (!parse_bool(text, value)) return false;
    out = value;
  } else if (like.is_string()) {
    out = text;
  } else {
    // null or unknown element kind: JSON when it parses (Python's True/False and None too, as
    // Lightning command lines spell them), else the plain text.
    out = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (text == "True" || text == "False") out = text == "True";
    if (text == "None") out = nullptr;
    if (out.is_discarded()) out = text;
  }
  return true;
}

json parse_list(const json& current, const std::string& text, const std::string& where) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && parsed.is_array()) return parsed;
  const json element_like = current.empty() ? json() : current.front();
  json list = json::array();
  if (text.empty()) return list;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    json value;
    if (!parse_like(element_like, item, value)) {
      throw InputError(where + ": list item '" + item + "' is not " + type_name(element_like));
    }
    list.push_back(value);
  }
  return list;
}

void flatten_into(const json& value, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& item : value.items())
      flatten_into(item.value(), join_key(prefix, item.key()), out);
  } else {
    out.emplace_back(prefix, value.is_string() ? value.get<std::string>() : value.dump());
  }
}

}  // namespace

json read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open config file");
  if (is_yaml_path(path)) {
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_yaml_config(text, path);
  }
  try {
    json config = json::parse(in);
    if (!config.is_object()) {
      throw InputError(path + ": a config file must hold a JSON object, got " + type_name(config));
    }
    return config;
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte offset; translate it into line and column for people.
    std::ifstream again(path);
    std::string contents((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
    const size_t offset = std::min<size_t>(e.byte, contents.size());
    size_t line = 1;
    size_t column = 1;
    for (size_t i = 0; i + 1 < offset; ++i) {
      if (contents[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw InputError(path + ":" + std::to_string(line) + ":" + std::to_string(column) +
                     ": invalid JSON (" + e.what() + ")");
  }
}

void merge_config(json& config, const json& overrides, const std::string& source) {
  if (!overrides.is_object()) {
    throw InputError(source + ": expected a JSON object, got " + type_name(overrides));
  }
  merge_into(config, overrides, source, "");
}

namespace {

// set_config_value and append_config_value: a list's items replace it, or are appended to it.
void assign_config_value(json& config, const std::string& dotted_key, const std::string& text,
                         const std::string& source, bool append) {
  const auto parts = split_dotted(dotted_key, source);
  json* node = &config;
  std::string prefix;
  for (const auto& part : parts) {
    if (!node->is_object() || !node->contains(part)) unknown_key(source, prefix, part, *node);
    node = &(*node)[part];
    prefix = join_key(prefix, part);
  }
  const std::string where = source + " " + dotted_key;
  if (node->is_object()) {
    throw InputError(where + ": '" + dotted_key + "' is a section; set one of its keys (" +
                     join_names(keys_of(*node)) + ")");
  }
  if (node->is_array()) {
    const json items = parse_list(*node, text, where);
    if (!append) node->clear();
    node->insert(node->end(), items.begin(), items.end());
    return;
  }
  if (append) throw InputError(where + "+=: '" + dotted_key + "' is not a list");
  json value;
  if (!parse_like(*node, text, value)) {
    throw InputError(where + ": expected " + type_name(*node) + ", got '" + text + "'");
  }
  *node = value;
}

}  // namespace

void set_config_value(json& config, const std::string& dotted_key, const std::string& text,
                      const std::string& source) {
  assign_config_value(config, dotted_key, text, source, /*append=*/false);
}

void append_config_value(json& config, const std::string& dotted_key, const std::string& text,
                         const std::string& source) {
  assign_config_value(config, dotted_key, text, source, /*append=*/true);
}

void apply_config_assignments(json& config, const std::vector<std::string>& assignments,
                              const std::string& source) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& item : assignments) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      if (pairs.empty()) throw InputError(source + ": '" + item + "' is not KEY=VALUE");
      pairs.back().second += "," + item;
    } else {
      pairs.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
  }
  for (const auto& [key, value] : pairs)
    set_config_value(config, key, value, source);
}

const json& config_value(const json& config, const std::string& dotted_key) {
  const json* node = &config;
  std::string prefix;
  for (const auto& part : split_dotted(dotted_key, "config")) {
    if (!node->is_object() || !node->contains(part)) unknown_key("config", prefix, part, *node);
    node = &(*node)[part];
    prefix = join_key(prefix, part);
  }
  return *node;
}

std::vector<std::pair<std::string, std::string>> flatten_config(const json& config) {
  std::vector<std::pair<std::string, std::string>> out;
  flatten_into(config, "", out);
  return out;
}

std::string format_config_table(const json& config) {
  const auto rows = flatten_config(config);
  size_t key_width = std::string("key").size();
  for (const auto& row : rows)
    key_width = std::max(key_width, row.first.size());
  std::ostringstream out;
  out << std::string("key") + std::string(key_width - 3, ' ') << "  value\n";
  out << std::string(key_width, '-') << "  " << std::string(key_width / 2 + 5, '-') << "\n";
  for (const auto& row : rows) {
    out << row.first << std::string(key_width - row.first.size(), ' ') << "  " << row.second
        << "\n";
  }
  return out.str();
}

// ---------------------------------------------------------------------------------------------

ConfigSection::ConfigSection(const json& section, std::string name)
    : section_(section.is_null() ? json::object() : section), name_(std::move(name)) {
  if (!section_.is_object()) {
    throw InputError(name_ + ": expected a config section (JSON object), got " + section_.dump());
  }
}

bool ConfigSection::has(const std::string& key) const {
  return section_.contains(key);
}

const json* ConfigSection::find(const std::string& key) {
  known_.insert(key);
  const auto it = section_.find(key);
  return it == section_.end() || it->is_null() ? nullptr : &*it;
}

void ConfigSection::type_error(const std::string& key, const char* expected,
                               const json& got) const {
  throw InputError(name_ + "." + key + ": expected " + expected + ", got " + got.dump());
}

double ConfigSection::number(const std::string& key, double fallback) {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_number()) type_error(key, "a number", *value);
  return value->get<double>();
}

int64_t ConfigSection::integer(const std::string& key, int64_t fallback) {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (value->is_number_float()) {
    const double d = value->get<double>();
    if (d != std::floor(d)) type_error(key, "an integer", *value);
    return static_cast<int64_t>(d);
  }
  if (!value->is_number()) type_error(key, "an integer", *value);
  return value->get<int64_t>();
}

bool ConfigSection::boolean(const std::string& key, bool fallback) {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) type_error(key, "true or false", *value);
  return value->get<bool>();
}

std::string ConfigSection::string(const std::string& key, const std::string& fallback) {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_string()) type_error(key, "a string", *value);
  return value->get<std::string>();
}

std::string ConfigSection::choice(const std::string& key, const std::string& fallback,
                                  std::initializer_list<const char*> allowed) {
  const std::string value = string(key, fallback);
  std::vector<std::string> names;
  for (const char* option : allowed) {
    if (value == option) return value;
    names.emplace_back(option);
  }
  throw InputError(name_ + "." + key + ": '" + value + "' is not one of " + join_names(names) +
                   suggestion(value, names));
}

std::vector<double> ConfigSection::numbers(const std::string& key,
                                           const std::vector<double>& fallback) {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_array()) type_error(key, "a list of numbers", *value);
  std::vector<double> out;
  for (const auto& item : *value) {
    if (!item.is_number()) type_error(key, "a list of numbers", *value);
    out.push_back(item.get<double>());
  }
  return out;
}

std::vector<std::string> ConfigSection::strings(const std::string& key,
                                                const std::vector<std::string>& fallback) {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_array()) type_error(key, "a list of strings", *value);
  std::vector<std::string> out;
  for (const auto& item : *value) {
    if (!item.is_string()) type_error(key, "a list of strings", *value);
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<std::pair<std::string, double>> ConfigSection::named_numbers(
    const std::string& key, const std::vector<std::pair<std::string, double>>& fallback) {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_array()) type_error(key, "a list of [name, number] pairs", *value);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& item : *value) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_number()) {
      throw InputError(name_ + "." + key +
                       ": expected a list of [name, number] pairs, got the item " + item.dump());
    }
    out.emplace_back(item[0].get<std::string>(), item[1].get<double>());
  }
  return out;
}

nlohmann::json ConfigSection::section(const std::string& key) {
  const json* value = find(key);
  if (value == nullptr) return json();
  if (!value->is_object()) type_error(key, "a section (JSON object)", *value);
  return *value;
}

void ConfigSection::allow(std::initializer_list<const char*> keys) {
  for (const char* key : keys)
    known_.insert(key);
}

void ConfigSection::finish() const {
  std::vector<std::string> unknown;
  for (const auto& item : section_.items()) {
    if (known_.count(item.key()) == 0) unknown.push_back(item.key());
  }
  if (unknown.empty()) return;
  const std::vector<std::string> known(known_.begin(), known_.end());
  throw InputError(name_ + ": unknown key '" + unknown.front() + "'" +
                   suggestion(unknown.front(), known) + "; known keys: " + join_names(known));
}

}  // namespace ssmkit::io
