// Causal convolution by real FFTs of length 2L.
#include "ssmkit/ops/fft_conv.h"

#include <torch/torch.h>

#include "ssmkit/util/checks.h"

namespace ssmkit::ops {

at::Tensor fft_causal_conv(const at::Tensor& u, const at::Tensor& k) {
  constexpr const char* fn = "fft_causal_conv";
  check_rank(u, fn, "u", "(B, H, L)", 3);
  check_dtype(u, fn, "u", {at::kFloat, at::kDouble});
  const int64_t len = u.size(2);
  TORCH_CHECK(len >= 1, fn, ": 'u' has shape ", shape_string(u.sizes()), ", expected L >= 1");
  check_rank(k, fn, "k", "(H, Lk)", 2);
  check_shape(k, fn, "k", "(H, Lk)", {u.size(1), -1});
  check_same_device(k, u, fn, "k", "u");
  TORCH_CHECK(k.scalar_type() == u.scalar_type(), fn, ": 'k' has dtype ",
              c10::toString(k.scalar_type()), ", expected the dtype of 'u' (",
              c10::toString(u.scalar_type()), ")");

  // 2L leaves room for the whole linear convolution, so nothing wraps around into [0, L).
  const int64_t fft_len = 2 * len;
  at::Tensor kernel = k.size(1) > len ? k.narrow(1, 0, len) : k;
  at::Tensor k_f = torch::fft::rfft(kernel, fft_len);  // (H, L + 1)
  at::Tensor u_f = torch::fft::rfft(u, fft_len);       // (B, H, L + 1)
  return torch::fft::irfft(u_f * k_f, fft_len).narrow(2, 0, len);
}

}  // namespace ssmkit::ops
