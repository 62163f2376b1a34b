// What the Trainer trains: a model seen through forward, its named parameters, train/eval mode,
// device placement and archive save/load. ModuleModel adapts any torch::nn::Module.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/ordered_dict.h>
#include <torch/serialize/archive.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ssmkit::train {

class TrainableModel {
 public:
  virtual ~TrainableModel() = default;
  // inputs (B, ...) -> outputs (B, ...), whatever the loss function expects.
  virtual at::Tensor forward(const at::Tensor& inputs) = 0;
  virtual torch::OrderedDict<std::string, at::Tensor> named_parameters() const = 0;
  // Training mode (dropout on) when true, evaluation mode when false.
  virtual void train(bool on) = 0;
  // Moves parameters and buffers in place: tensors keep their identity, so an optimizer built
  // earlier still holds them.
  virtual void to(const torch::Device& device) = 0;
  // Parameters and buffers.
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;

  std::vector<at::Tensor> parameters() const;
  int64_t parameter_count() const;
};

// A torch::nn::Module with a forward function.
class ModuleModel : public TrainableModel {
 public:
  using ForwardFn = std::function<at::Tensor(const at::Tensor& inputs)>;
  ModuleModel(std::shared_ptr<torch::nn::Module> module, ForwardFn forward);

  at::Tensor forward(const at::Tensor& inputs) override;
  torch::OrderedDict<std::string, at::Tensor> named_parameters() const override;
  void train(bool on) override;
  void to(const torch::Device& device) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  torch::nn::Module& module() { return *module_; }

 private:
  std::shared_ptr<torch::nn::Module> module_;
  ForwardFn forward_;
};

// Wraps a module holder (torch::nn::Linear, a TORCH_MODULE, ...) or a shared_ptr to a module whose
// forward takes one tensor.
template <typename ModuleHolder>
std::unique_ptr<ModuleModel> wrap_module(ModuleHolder holder) {
  auto module = holder.ptr();
  return std::make_unique<ModuleModel>(
      module, [module](const at::Tensor& inputs) { return module->forward(inputs); });
}

template <typename Module>
std::unique_ptr<ModuleModel> wrap_module(std::shared_ptr<Module> module) {
  return std::make_unique<ModuleModel>(
      module, [module](const at::Tensor& inputs) { return module->forward(inputs); });
}

}  // namespace ssmkit::train
