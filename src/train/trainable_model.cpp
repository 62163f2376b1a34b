// TrainableModel helpers and the torch::nn::Module adapter.
#include "ssmkit/train/trainable_model.h"

#include <c10/util/Exception.h>

namespace ssmkit::train {

std::vector<at::Tensor> TrainableModel::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& item : named_parameters())
    out.push_back(item.value());
  return out;
}

int64_t TrainableModel::parameter_count() const {
  int64_t count = 0;
  for (const auto& item : named_parameters())
    count += item.value().numel();
  return count;
}

ModuleModel::ModuleModel(std::shared_ptr<torch::nn::Module> module, ForwardFn forward)
    : module_(std::move(module)), forward_(std::move(forward)) {
  TORCH_CHECK(module_ != nullptr, "ModuleModel: module is null");
  TORCH_CHECK(static_cast<bool>(forward_), "ModuleModel: forward function is empty");
}

at::Tensor ModuleModel::forward(const at::Tensor& inputs) {
  return forward_(inputs);
}

torch::OrderedDict<std::string, at::Tensor> ModuleModel::named_parameters() const {
  return module_->named_parameters(/*recurse=*/true);
}

void ModuleModel::train(bool on) {
  module_->train(on);
}

void ModuleModel::to(const torch::Device& device) {
  module_->to(device);
}

void ModuleModel::save(torch::serialize::OutputArchive& archive) const {
  module_->save(archive);
}

void ModuleModel::load(torch::serialize::InputArchive& archive) {
  module_->load(archive);
}

}  // namespace ssmkit::train
