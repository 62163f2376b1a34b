// Strict JSON field reading for configuration objects.
#include "ssmkit/util/json_fields.h"

#include <sstream>

namespace ssmkit {

JsonFieldReader::JsonFieldReader(const nlohmann::json& config, std::string what)
    : config_(config), what_(std::move(what)) {
  if (!config_.is_object()) {
    throw InputError(what_ + ": expected a JSON object, got " + config_.dump());
  }
}

const nlohmann::json* JsonFieldReader::find(const char* key) {
  known_.insert(key);
  const auto it = config_.find(key);
  return it == config_.end() ? nullptr : &*it;
}

void JsonFieldReader::type_error(const char* key, const nlohmann::json& value,
                                 const char* expected) const {
  throw InputError(what_ + ": '" + key + "' is " + value.dump() + ", expected " + expected);
}

void JsonFieldReader::read(const char* key, bool& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_boolean()) type_error(key, *v, "true or false");
  value = v->get<bool>();
}

void JsonFieldReader::read(const char* key, int64_t& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_number_integer()) type_error(key, *v, "an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    type_error(key, *v, "an integer below 2^63");
  }
  value = v->get<int64_t>();
}

void JsonFieldReader::read(const char* key, double& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_number()) type_error(key, *v, "a number");
  value = v->get<double>();
}

void JsonFieldReader::read(const char* key, std::string& value) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_string()) type_error(key, *v, "a string");
  value = v->get<std::string>();
}

void JsonFieldReader::finish() const {
  std::ostringstream unknown;
  int count = 0;
  for (const auto& item : config_.items()) {
    if (known_.count(item.key())) continue;
    unknown << (count++ ? ", " : "") << "'" << item.key() << "'";
  }
  if (count == 0) return;
  std::ostringstream known;
  int i = 0;
  for (const auto& k : known_)
    known << (i++ ? ", " : "") << k;
  throw InputError(what_ + ": unknown key" + (count > 1 ? "s " : " ") + unknown.str() +
                   " (known: " + known.str() + ")");
}

void require_config(bool ok, const std::string& what, const char* key, const std::string& value,
                    const char* requirement) {
  if (!ok) throw InputError(what + ": '" + key + "' is " + value + ", expected " + requirement);
}

}  // namespace ssmkit
