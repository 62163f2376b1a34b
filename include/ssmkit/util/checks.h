// Argument checks for every public function that takes tensors. Messages name the function, the
// tensor, its actual shape/dtype/device and what was expected, e.g.
//   selective_scan: 'delta' has shape [2, 8, 5], expected (B, D, L) = [2, 8, 4]
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <exception>
#include <initializer_list>
#include <string>
#include <vector>

namespace ssmkit {

// The first line of an error's message; for a LibTorch error, without its C++ backtrace.
std::string first_line_of(const std::exception& e);

// Formats sizes as "[2, 8, 5]".
std::string shape_string(at::IntArrayRef sizes);

// Throws c10::Error unless `t` is defined.
void check_defined(const at::Tensor& t, const char* fn, const char* name);

// Throws unless `t` has exactly the shape `expected`; a -1 entry matches any size.
// `layout` names the dimensions for the message, e.g. "(B, D, L)". Takes a view of the sizes (a
// braced list at the call), so a passing check allocates nothing: it runs before every kernel
// launch of the ops.
void check_shape(const at::Tensor& t, const char* fn, const char* name, const char* layout,
                 at::IntArrayRef expected);

// Throws unless t.dim() == rank.
void check_rank(const at::Tensor& t, const char* fn, const char* name, const char* layout,
                int64_t rank);

// Throws unless `t` is on the same device as `reference`.
void check_same_device(const at::Tensor& t, const at::Tensor& reference, const char* fn,
                       const char* name, const char* reference_name);

// Throws unless `t` is a floating-point tensor of one of `allowed`.
void check_dtype(const at::Tensor& t, const char* fn, const char* name,
                 std::initializer_list<at::ScalarType> allowed);

}  // namespace ssmkit
