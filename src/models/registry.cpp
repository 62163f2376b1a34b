// The model registry and the list of built-in models.
#include "ssmkit/models/registry.h"

#include <map>
#include <mutex>
#include <stdexcept>

#include "ssmkit/io/error.h"
#include "ssmkit/models/cmamba.h"
#include "ssmkit/models/s4_model.h"
#include "ssmkit/models/timae.h"
#include "ssmkit/models/timae_for_pretraining.h"
#include "ssmkit/models/vision_mamba.h"

namespace ssmkit::models {
namespace {

// Built-in models are listed here rather than self-registered from their own files: a static
// library drops object files nothing references, and with them their registration.
struct Registry {
  Registry() {
    factories["CMamba"] = [](const nlohmann::json& config) -> std::shared_ptr<Model> {
      return std::make_shared<CMambaImpl>(cmamba_options_from_json(config));
    };
    factories["S4Model"] = [](const nlohmann::json& config) -> std::shared_ptr<Model> {
      return std::make_shared<S4ModelImpl>(config.get<S4ModelOptions>());
    };
    factories["VisionMamba"] = [](const nlohmann::json& config) -> std::shared_ptr<Model> {
      return std::make_shared<VisionMambaImpl>(vision_mamba_options_from_json(config));
    };
    for (const TiMAEMixer mixer : {TiMAEMixer::kTransformer, TiMAEMixer::kMamba2}) {
      const std::string family = mixer == TiMAEMixer::kTransformer ? "TiMAE" : "TiMAEMamba";
      factories[family] = [mixer](const nlohmann::json& config) -> std::shared_ptr<Model> {
        return std::make_shared<TiMAEImpl>(timae_options_from_json(config, mixer, true));
      };
      factories[family + "ForPretraining"] =
          [mixer](const nlohmann::json& config) -> std::shared_ptr<Model> {
        return std::make_shared<TiMAEForPretrainingImpl>(
            timae_options_from_json(config, mixer, false));
      };
    }
  }
  std::mutex mutex;
  std::map<std::string, ModelFactory> factories;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

std::string known_names(const std::map<std::string, ModelFactory>& factories) {
  std::string out;
  for (const auto& entry : factories)
    out += (out.empty() ? "" : ", ") + entry.first;
  return out;
}

}  // namespace

std::shared_ptr<Model> create_model(const std::string& name, const nlohmann::json& config) {
  ModelFactory factory;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.factories.find(name);
    if (it == r.factories.end()) {
      throw InputError("model '" + name +
                       "' is unknown; known models: " + known_names(r.factories));
    }
    factory = it->second;
  }
  return factory(config);
}

void register_model(const std::string& name, ModelFactory factory) {
  if (!factory) throw std::invalid_argument("register_model: empty factory for '" + name + "'");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.factories.emplace(name, std::move(factory)).second) {
    throw std::invalid_argument("register_model: model '" + name + "' is already registered");
  }
}

bool is_registered_model(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.factories.count(name) > 0;
}

std::vector<std::string> registered_models() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& entry : r.factories)
    names.push_back(entry.first);
  return names;
}

}  // namespace ssmkit::models
