// Argument checks with messages that name the tensor, its shape and the expected shape.
#include "ssmkit/util/checks.h"

#include <sstream>

namespace ssmkit {

std::string first_line_of(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = torch_error != nullptr ? torch_error->what_without_backtrace() : e.what();
  const size_t newline = text.find('\n');
  return newline == std::string::npos ? text : text.substr(0, newline);
}

std::string shape_string(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < sizes.size(); ++i)
    out << (i ? ", " : "") << sizes[i];
  out << ']';
  return out.str();
}

namespace {
std::string expected_string(at::IntArrayRef expected) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < expected.size(); ++i) {
    out << (i ? ", " : "");
    if (expected[i] < 0)
      out << '*';
    else
      out << expected[i];
  }
  out << ']';
  return out.str();
}
}  // namespace

void check_defined(const at::Tensor& t, const char* fn, const char* name) {
  TORCH_CHECK(t.defined(), fn, ": '", name, "' is required but was not given");
}

void check_shape(const at::Tensor& t, const char* fn, const char* name, const char* layout,
                 at::IntArrayRef expected) {
  check_defined(t, fn, name);
  bool ok = t.dim() == static_cast<int64_t>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i) {
    ok = expected[i] < 0 || t.size(static_cast<int64_t>(i)) == expected[i];
  }
  TORCH_CHECK(ok, fn, ": '", name, "' has shape ", shape_string(t.sizes()), ", expected ", layout,
              " = ", expected_string(expected));
}

void check_rank(const at::Tensor& t, const char* fn, const char* name, const char* layout,
                int64_t rank) {
  check_defined(t, fn, name);
  TORCH_CHECK(t.dim() == rank, fn, ": '", name, "' has shape ", shape_string(t.sizes()),
              ", expected ", rank, " dimensions ", layout);
}

void check_same_device(const at::Tensor& t, const at::Tensor& reference, const char* fn,
                       const char* name, const char* reference_name) {
  TORCH_CHECK(t.device() == reference.device(), fn, ": '", name, "' is on ", t.device(), " but '",
              reference_name, "' is on ", reference.device(),
              "; all tensors must be on one device");
}

void check_dtype(const at::Tensor& t, const char* fn, const char* name,
                 std::initializer_list<at::ScalarType> allowed) {
  for (auto dtype : allowed) {
    if (t.scalar_type() == dtype) return;
  }
  std::ostringstream list;
  bool first = true;
  for (auto dtype : allowed) {
    list << (first ? "" : ", ") << c10::toString(dtype);
    first = false;
  }
  TORCH_CHECK(false, fn, ": '", name, "' has dtype ", c10::toString(t.scalar_type()),
              ", expected one of ", list.str());
}

}  // namespace ssmkit
