// Packing parameters and gradients into flat buffers.
#include "ssmkit/train/flat_parameters.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <set>
#include <vector>

namespace ssmkit::train {

std::string FlatParameters::unsupported_reason(const std::vector<at::Tensor>& parameters) {
  if (parameters.empty()) return "there are no parameters";
  std::set<const void*> seen;
  const at::Tensor& first = parameters.front();
  for (const auto& p : parameters) {
    if (!p.defined() || p.layout() != at::kStrided) return "a parameter is not a dense tensor";
    if (!at::isFloatingType(p.scalar_type())) return "a parameter is not floating point";
    if (p.scalar_type() != first.scalar_type()) return "parameters have different dtypes";
    if (p.device() != first.device()) return "parameters are on different devices";
    if (!seen.insert(p.unsafeGetTensorImpl()).second) return "a parameter is listed twice";
  }
  return "";
}

FlatParameters::FlatParameters(std::vector<at::Tensor> parameters)
    : parameters_(std::move(parameters)) {
  const std::string reason = unsupported_reason(parameters_);
  TORCH_CHECK(reason.empty(), "FlatParameters: ", reason);
  int64_t total = 0;
  for (const auto& p : parameters_) {
    offsets_.push_back(total);
    total += p.numel();
  }
  const auto options = parameters_.front().options();
  values_ = at::empty({total}, options);
  gradients_ = at::zeros({total}, options);
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& p = parameters_[i];
    const at::Tensor value = view_of(values_, i);
    gradient_views_.push_back(view_of(gradients_, i));
    value.copy_(p);
    if (p.grad().defined()) gradient_views_[i].copy_(p.grad());
    // set_data keeps the parameter's identity (the optimizer and the module still hold it).
    p.set_data(value);
    p.mutable_grad() = gradient_views_[i];
  }
}

const void* FlatParameters::address_in(const at::Tensor& flat, size_t i) const {
  return static_cast<const char*>(flat.data_ptr()) +
         offsets_[i] * static_cast<int64_t>(flat.element_size());
}

at::Tensor FlatParameters::range(const at::Tensor& flat, size_t first, size_t last) const {
  TORCH_CHECK(first <= last && last < parameters_.size(), "FlatParameters::range: bad range");
  return flat.narrow(0, offsets_[first], offsets_[last] + numel(last) - offsets_[first]);
}

at::Tensor FlatParameters::view_of(const at::Tensor& flat, size_t i) const {
  // Aliases the storage with set_() rather than narrow().view(): an autograd view could not be
  // detached in place, which LibTorch 1.x's Optimizer::zero_grad() does to gradients.
  const auto sizes = parameters_[i].sizes();
  std::vector<int64_t> strides(sizes.size(), 1);
  for (size_t d = sizes.size(); d-- > 1;)
    strides[d - 1] = strides[d] * std::max<int64_t>(sizes[d], 1);
  at::Tensor alias = at::empty({0}, flat.options());
  alias.set_(flat.storage(), flat.storage_offset() + offsets_[i], sizes, strides);
  return alias;
}

bool FlatParameters::intact() const {
  // Called every step: pointer comparisons only.
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    const at::Tensor& g = p.grad();
    if (p.data_ptr() != address_in(values_, i) || !p.is_contiguous()) return false;
    if (!g.defined() || g.data_ptr() != address_in(gradients_, i) || !g.is_contiguous()) {
      return false;
    }
  }
  return true;
}

void FlatParameters::zero_gradients() {
  gradients_.zero_();
}

void FlatParameters::release_gradients() {
  for (at::Tensor& p : parameters_)
    p.mutable_grad() = at::Tensor();
}

void FlatParameters::gather_gradients() {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> fresh;
  fresh.reserve(parameters_.size());
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& g = parameters_[i].grad();
    // A gradient that is already its view (not released) cannot be a source of the same buffer.
    if (!g.defined() || g.data_ptr() == address_in(gradients_, i)) break;
    fresh.push_back(g.reshape({-1}));
  }
  if (fresh.size() == parameters_.size()) {
    at::cat_out(gradients_, fresh);
  } else {
    for (size_t i = 0; i < parameters_.size(); ++i) {
      const at::Tensor& g = parameters_[i].grad();
      if (!g.defined()) {
        gradient_views_[i].zero_();
      } else if (g.data_ptr() != address_in(gradients_, i)) {
        gradient_views_[i].copy_(g);
      }
    }
  }
  for (size_t i = 0; i < parameters_.size(); ++i)
    parameters_[i].mutable_grad() = gradient_views_[i];
}

at::Tensor FlatParameters::gradient_norm() const {
  return at::linalg_vector_norm(gradients_, 2, c10::nullopt, false, at::kDouble);
}

}  // namespace ssmkit::train
