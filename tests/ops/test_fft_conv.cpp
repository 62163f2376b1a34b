// FFT causal convolution against the direct sum in float64, with kernels shorter and longer than L.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/fft_conv.h"
#include "test_helpers.h"

namespace {

at::Tensor direct(const at::Tensor& u /* (B, H, L) */, const at::Tensor& k /* (H, Lk) */) {
  const int64_t len = u.size(2);
  at::Tensor y = torch::zeros_like(u);
  for (int64_t t = 0; t < len; ++t) {
    for (int64_t s = 0; s <= t && s < k.size(1); ++s) {
      y.select(2, t).add_(k.select(1, s).unsqueeze(0) * u.select(2, t - s));
    }
  }
  return y;
}

TEST(FftCausalConv, MatchesDirectSum) {
  for (int64_t klen : {1, 5, 13, 20}) {
    at::Tensor u = torch::randn({2, 3, 13}, torch::kDouble);
    at::Tensor k = torch::randn({3, klen}, torch::kDouble);
    EXPECT_LT(ssmkit::testing::relative_error(ssmkit::ops::fft_causal_conv(u, k), direct(u, k)),
              1e-12)
        << "kernel length " << klen;
  }
}

TEST(FftCausalConv, BadKernelNamed) {
  try {
    ssmkit::ops::fft_causal_conv(torch::randn({2, 3, 8}), torch::randn({4, 8}));
    ADD_FAILURE();
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace())
                  .find("fft_causal_conv: 'k' has shape [4, 8], expected (H, Lk) = [3, *]"),
              std::string::npos)
        << e.what_without_backtrace();
  }
}

}  // namespace
