// Strict, field-naming JSON reads for option structs.
#include "ssmkit/util/json_fields.h"

#include <utility>

#include "ssmkit/io/error.h"

namespace ssmkit {

JsonFieldReader::JsonFieldReader(const nlohmann::json& j, std::string context)
    : j_(j), context_(std::move(context)) {
  if (!j_.is_object()) {
    throw InputError(context_ + ": expected a JSON object, got " + j_.dump());
  }
}

const nlohmann::json* JsonFieldReader::find(const char* key) {
  seen_.insert(key);
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

void JsonFieldReader::type_error(const char* key, const char* expected,
                                 const nlohmann::json& got) const {
  throw InputError(context_ + ": '" + key + "' must be " + expected + ", got " + got.dump(), key);
}

void JsonFieldReader::read(const char* key, int64_t& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_number_integer()) type_error(key, "an integer", *v);
  value = v->get<int64_t>();
}

void JsonFieldReader::read(const char* key, double& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_number()) type_error(key, "a number", *v);
  value = v->get<double>();
}

void JsonFieldReader::read(const char* key, bool& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_boolean()) type_error(key, "true or false", *v);
  value = v->get<bool>();
}

void JsonFieldReader::read(const char* key, std::string& value) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return;
  if (!v->is_string()) type_error(key, "a string", *v);
  value = v->get<std::string>();
}

const nlohmann::json* JsonFieldReader::object(const char* key) {
  const nlohmann::json* v = find(key);
  if (v != nullptr && !v->is_object()) type_error(key, "a JSON object", *v);
  return v;
}

void JsonFieldReader::finish() const {
  for (const auto& item : j_.items()) {
    if (seen_.count(item.key()) == 0) {
      std::string known;
      for (const auto& key : seen_)
        known += (known.empty() ? "" : ", ") + key;
      throw InputError(context_ + ": unknown field '" + item.key() + "' (known fields: " + known +
                       ")");
    }
  }
}

void invalid_option(const char* context, const char* field, const std::string& rule,
                    const std::string& got) {
  throw InputError(std::string(context) + ": '" + field + "' must be " + rule + ", got " + got,
                   field);
}

void require_positive_option(const char* context, const char* field, int64_t value) {
  if (value < 1) invalid_option(context, field, ">= 1", std::to_string(value));
}

void require_probability_option(const char* context, const char* field, double value) {
  if (!(value >= 0.0 && value < 1.0)) invalid_option(context, field, "in [0, 1)", std::to_string(value));
}

}  // namespace ssmkit
