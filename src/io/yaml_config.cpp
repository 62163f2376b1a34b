// YAML <-> JSON for configuration files, with yaml-cpp.
#include "ssmkit/io/yaml_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>

#include "ssmkit/io/ascii_case.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/number_text.h"

namespace ssmkit::io {
namespace {

bool is_integer_text(const std::string& text) {
  size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  if (i >= text.size() || text.size() - i > 18) return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i), text.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

// The JSON value of a plain (unquoted) YAML scalar.
nlohmann::json plain_scalar(const std::string& text) {
  const std::string word = ascii_lower(text);
  if (word.empty() || word == "null" || word == "~") return nullptr;
  if (word == "true") return true;
  if (word == "false") return false;
  if (is_integer_text(text)) return std::stoll(text);
  const NumberText number = parse_number_text(text);
  if (number.kind == NumberTextKind::number && trim_blanks(text) == text) return number.value;
  return text;
}

nlohmann::json to_json_value(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and leaves plain ones "?".
      return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& item : node) list.push_back(to_json_value(item));
      return list;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& item : node) object[item.first.as<std::string>()] = to_json_value(item.second);
      return object;
    }
  }
  return nullptr;
}

// Strings that a plain scalar would turn into something else are quoted.
bool needs_quotes(const std::string& text) {
  return !plain_scalar(text).is_string() || text != std::string(trim_blanks(text));
}

void emit(YAML::Emitter& out, const nlohmann::json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& item : value.items()) {
      out << YAML::Key << item.key() << YAML::Value;
      emit(out, item.value());
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : value) emit(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (needs_quotes(text)) out << YAML::DoubleQuoted;
    out << text;
  } else if (value.is_null()) {
    out << YAML::Null;
  } else if (value.is_boolean()) {
    out << (value.get<bool>() ? "true" : "false");
  } else {
    // JSON's shortest round-trip text of the number, as a plain scalar.
    std::string text = value.dump();
    if (value.is_number_float() && text.find_first_of(".eE") == std::string::npos) text += ".0";
    out << text;
  }
}

}  // namespace

nlohmann::json parse_yaml_config(std::string_view text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw InputError(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": invalid YAML (" + e.msg + ")");
  }
  if (!root.IsMap()) throw InputError(origin + ": a config file must hold a YAML mapping");
  return to_json_value(root);
}

std::string to_yaml(const nlohmann::json& config) {
  YAML::Emitter out;
  emit(out, config);
  return std::string(out.c_str()) + "\n";
}

bool is_yaml_path(const std::string& path) {
  const std::string name = ascii_lower(path);
  const auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

}  // namespace ssmkit::io
