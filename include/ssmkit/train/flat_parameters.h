// Parameters packed into one buffer and their gradients into another, so that whole-model
// operations (zeroing gradients, their norm, scaling, an optimizer update) are a few large
// kernels instead of a few per parameter, and so that a CUDA graph finds them at fixed addresses.
// Each parameter becomes a view of the value buffer; its .grad() a view of the gradient buffer.
// A training step releases the gradients before backward and gathers them after it, so that
// autograd hands each parameter its fresh gradient tensor instead of adding it into a zeroed view
// (one small add kernel per parameter, a tenth of a short transformer step on a GPU) and one
// concatenation fills the buffer.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace ssmkit::train {

class FlatParameters {
 public:
  // Why `parameters` cannot be packed (empty string: they can): they must be dense, of one
  // floating dtype and on one device, and distinct.
  static std::string unsupported_reason(const std::vector<at::Tensor>& parameters);

  // Packs `parameters` in the order given, keeping their values and existing gradients.
  explicit FlatParameters(std::vector<at::Tensor> parameters);

  size_t size() const { return parameters_.size(); }
  const std::vector<at::Tensor>& parameters() const { return parameters_; }
  at::Tensor& values() { return values_; }        // (P)
  at::Tensor& gradients() { return gradients_; }  // (P)
  int64_t offset(size_t i) const { return offsets_[i]; }
  int64_t numel(size_t i) const { return parameters_[i].numel(); }

  // The elements [offset(first), offset(last) + numel(last)) of a (P) buffer: parameters
  // first..last as one range.
  at::Tensor range(const at::Tensor& flat,  // (P)
                   size_t first, size_t last) const;
  // Parameter i's part of a (P) buffer, shaped like the parameter (an alias of the storage, not
  // an autograd view).
  at::Tensor view_of(const at::Tensor& flat,  // (P)
                     size_t i) const;

  // Where parameter i's part of a (P) buffer starts.
  const void* address_in(const at::Tensor& flat,  // (P)
                         size_t i) const;

  // False once something replaced a parameter's storage or its gradient (loading weights with
  // set_(), zero_grad(set_to_none)): the buffers then no longer alias the model.
  bool intact() const;

  void zero_gradients();
  // Leaves every parameter without a gradient, so that the next backward stores each fresh
  // gradient tensor as it is (autograd adds into an existing gradient, one kernel per parameter).
  void release_gradients();
  // Writes every parameter's gradient into the gradient buffer (zeros where a parameter got
  // none) and makes each .grad() a view of it again. With every gradient fresh this is one
  // concatenation.
  void gather_gradients();
  // Global L2 norm of the gradients, float64 scalar () on their device, without synchronising.
  at::Tensor gradient_norm() const;

 private:
  std::vector<at::Tensor> parameters_;
  std::vector<int64_t> offsets_;
  at::Tensor values_;                       // (P)
  at::Tensor gradients_;                    // (P)
  std::vector<at::Tensor> gradient_views_;  // parameter i's part of gradients_, its shape
};

}  // namespace ssmkit::train
