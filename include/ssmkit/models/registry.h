// Maps model names to constructors from a JSON config, so programs build any model by name (and
// rebuild one from a checkpoint's config) without if-chains. Built-in models are registered on
// first use; register_model adds more at run time.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ssmkit/models/model.h"

namespace ssmkit::models {

using ModelFactory = std::function<std::shared_ptr<Model>(const nlohmann::json& config)>;

// Builds model `name` from `config` (the model's own keys). Throws InputError for an unknown name
// (listing the known ones) and for a bad config (naming the key).
std::shared_ptr<Model> create_model(const std::string& name, const nlohmann::json& config);

// Adds a model; throws std::invalid_argument if the name is taken or the factory is empty.
void register_model(const std::string& name, ModelFactory factory);

bool is_registered_model(const std::string& name);

// Sorted names of every registered model.
std::vector<std::string> registered_models();

}  // namespace ssmkit::models
