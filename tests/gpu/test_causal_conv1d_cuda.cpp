// The CUDA causal conv1d against LibTorch's convolution in float64 on the CPU: output and the
// gradients of x, weight and bias, over widths, lengths across tile borders, dtypes, SiLU on and
// off, and three input layouts: contiguous and channel-major (time-contiguous: the row kernels)
// and channel-last (the staged tiles); and a whole Mamba block on CUDA against the same block in
// float64 on the CPU.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ssmkit/nn/mamba.h"
#include "ssmkit/ops/causal_conv1d.h"
#include "ssmkit/ops/causal_conv1d_cuda.h"
#include "test_helpers.h"

namespace {

using ssmkit::ops::ConvActivation;
using ssmkit::testing::relative_error;

// Float32 arithmetic; 8/11-bit mantissas for outputs and gradients stored in bfloat16/float16.
constexpr double kFloat32Tolerance = 1e-5;
constexpr double kHalfTolerance = 1e-2;

// How x (B, D, L) lies in memory: (B, D, L); (D, B, L), as Mamba's channel-major projections
// write it; or (B, L, D), the row-major projections' transposed view.
enum class InputLayout { kContiguous, kChannelMajor, kChannelLast };

struct ConvCase {
  const char* name;
  int64_t batch, dim, seqlen, width;
  at::ScalarType dtype;        // x
  at::ScalarType param_dtype;  // weight and bias (float32 next to 16-bit x: autocast)
  bool silu, bias;
  InputLayout layout;
};

constexpr auto F32 = at::kFloat;
constexpr auto BF16 = at::kBFloat16;
constexpr auto F16 = at::kHalf;

constexpr auto kRows = InputLayout::kContiguous;
constexpr auto kMajor = InputLayout::kChannelMajor;
constexpr auto kLast = InputLayout::kChannelLast;

const ConvCase kCases[] = {
    // name, B, D, L, K, dtype, param dtype, silu, bias, layout
    {"L1_K4_fp32", 2, 5, 1, 4, F32, F32, true, true, kRows},
    {"L100_K4_fp32_channel_last", 2, 37, 100, 4, F32, F32, true, true, kLast},
    {"L129_K1_fp32_plain", 3, 64, 129, 1, F32, F32, false, false, kRows},
    {"L1000_K8_fp32_channel_last", 1, 33, 1000, 8, F32, F32, true, true, kLast},
    {"L257_K3_bf16_autocast", 2, 40, 257, 3, BF16, F32, true, true, kLast},
    {"L257_K4_fp16", 2, 40, 257, 4, F16, F16, false, true, kRows},
    {"L2048_K4_bf16_nobias", 4, 96, 2048, 4, BF16, BF16, true, false, kLast},
    {"L64_K2_fp32_tile", 1, 32, 64, 2, F32, F32, true, true, kRows},
    // Row kernels: several time tiles per row, rows whose starts are not 16-byte aligned, short
    // rows packed several to a warp, the channel-major layout, and every width.
    {"L2050_K4_bf16_rows_unaligned", 2, 7, 2050, 4, BF16, F32, true, true, kRows},
    {"L2048_K4_bf16_channel_major", 4, 96, 2048, 4, BF16, F32, true, true, kMajor},
    {"L24_K4_fp16_packed_rows", 3, 300, 24, 4, F16, F16, true, true, kMajor},
    {"L700_K8_fp32_channel_major", 2, 19, 700, 8, F32, F32, true, false, kMajor},
    {"L515_K5_fp32_rows", 1, 9, 515, 5, F32, F32, false, true, kRows},
    {"L12_K7_bf16_rows", 5, 33, 12, 7, BF16, BF16, true, true, kRows},
};

class CausalConv1dCuda : public ::testing::TestWithParam<ConvCase> {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  }
};

// Values of x laid out as `layout` asks: (B, D, L), (D, B, L) or (B, L, D) memory.
at::Tensor input_values(const ConvCase& c) {
  switch (c.layout) {
    case InputLayout::kChannelMajor:
      return at::randn({c.dim, c.batch, c.seqlen});
    case InputLayout::kChannelLast:
      return at::randn({c.batch, c.seqlen, c.dim});
    case InputLayout::kContiguous:
      break;
  }
  return at::randn({c.batch, c.dim, c.seqlen});
}

// A differentiable (B, D, L) view of `base`, a tensor made by input_values.
at::Tensor as_input(const at::Tensor& base, InputLayout layout) {
  switch (layout) {
    case InputLayout::kChannelMajor:
      return base.transpose(0, 1);
    case InputLayout::kChannelLast:
      return base.transpose(1, 2);
    case InputLayout::kContiguous:
      break;
  }
  return base;
}

TEST_P(CausalConv1dCuda, MatchesFloat64Convolution) {
  const ConvCase& c = GetParam();
  const double tol = c.dtype == at::kFloat ? kFloat32Tolerance : kHalfTolerance;
  const at::Device cuda(at::kCUDA);
  const at::Tensor x_values = input_values(c);
  const at::Tensor w_values = at::randn({c.dim, c.width}) * 0.5;
  const at::Tensor b_values = at::randn({c.dim}) * 0.1;
  const at::Tensor dy_values = at::randn({c.batch, c.dim, c.seqlen});
  const ConvActivation act = c.silu ? ConvActivation::kSilu : ConvActivation::kNone;

  const auto leaf = [](const at::Tensor& t, const at::Device& device, at::ScalarType dtype) {
    return t.to(device, dtype).detach().requires_grad_(true);
  };
  const at::Tensor x = leaf(x_values, cuda, c.dtype);
  const at::Tensor w = leaf(w_values, cuda, c.param_dtype);
  const at::Tensor b = c.bias ? leaf(b_values, cuda, c.param_dtype) : at::Tensor();
  ASSERT_TRUE(ssmkit::ops::causal_conv1d_cuda_supports(as_input(x, c.layout), c.width));
  const at::Tensor y = ssmkit::ops::causal_conv1d(as_input(x, c.layout), w, b, act);

  const at::Device cpu(at::kCPU);
  const at::Tensor x64 = leaf(x.detach(), cpu, at::kDouble);
  const at::Tensor w64 = leaf(w.detach(), cpu, at::kDouble);
  const at::Tensor b64 = c.bias ? leaf(b.detach(), cpu, at::kDouble) : at::Tensor();
  const at::Tensor y64 = ssmkit::ops::causal_conv1d(as_input(x64, c.layout), w64, b64, act);

  EXPECT_EQ(y.scalar_type(), c.dtype);
  EXPECT_TRUE(y.is_contiguous());
  EXPECT_LE(relative_error(y, y64), tol) << "y";

  std::vector<at::Tensor> leaves = {x, w};
  std::vector<at::Tensor> leaves64 = {x64, w64};
  if (c.bias) {
    leaves.push_back(b);
    leaves64.push_back(b64);
  }
  const std::vector<at::Tensor> got =
      torch::autograd::grad({y}, leaves, {dy_values.to(cuda, c.dtype)});
  const std::vector<at::Tensor> want =
      torch::autograd::grad({y64}, leaves64, {dy_values.to(at::kDouble)});
  const char* names[] = {"x", "weight", "bias"};
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].sizes(), leaves[i].sizes()) << names[i];
    EXPECT_EQ(got[i].scalar_type(), leaves[i].scalar_type()) << names[i];
    EXPECT_LE(relative_error(got[i], want[i]), tol) << "d" << names[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Grid, CausalConv1dCuda, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ConvCase>& info) {
                           return std::string(info.param.name);
                         });

// Inputs the kernels do not take go to LibTorch's convolution, with the same result.
TEST(CausalConv1dCudaFallback, WideFiltersAndDoubleUseLibTorch) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const at::Tensor wide = at::randn({2, 8, 50}, cuda);
  EXPECT_FALSE(ssmkit::ops::causal_conv1d_cuda_supports(wide, 9));
  EXPECT_FALSE(ssmkit::ops::causal_conv1d_cuda_supports(wide.to(at::kDouble), 4));
  const at::Tensor w = at::randn({8, 9}, cuda);
  const at::Tensor y = ssmkit::ops::causal_conv1d(wide, w, at::Tensor());
  const at::Tensor y64 =
      ssmkit::ops::causal_conv1d(wide.cpu().to(at::kDouble), w.cpu().to(at::kDouble), at::Tensor());
  EXPECT_LE(relative_error(y, y64), kFloat32Tolerance);
}

// The whole block on CUDA (conv and scan kernels, fp32) against the same weights in float64 on
// the CPU: output and every parameter's gradient.
TEST(MambaCuda, BlockMatchesFloat64OnTheCpu) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(0);
  ssmkit::nn::MambaOptions o;
  o.d_model = 48;
  o.d_state = 16;
  ssmkit::nn::Mamba reference(o);
  reference->to(torch::kDouble);
  ssmkit::nn::Mamba block(o);
  {
    torch::NoGradGuard no_grad;
    const auto src = reference->named_parameters();
    for (auto& p : block->named_parameters())
      p.value().copy_(src[p.key()]);
  }
  block->to(torch::Device(torch::kCUDA), torch::kFloat);
  const at::Tensor x = at::randn({3, 150, o.d_model}, at::kDouble);
  const at::Tensor dy = at::randn({3, 150, o.d_model}, at::kDouble);

  const at::Tensor y64 = reference->forward(x);
  y64.backward(dy);
  const at::Tensor y = block->forward(x.to(at::kCUDA, at::kFloat));
  y.backward(dy.to(at::kCUDA, at::kFloat));
  // float32 through a block: a few float32 roundings per element on top of the kernels' own.
  constexpr double kBlockTolerance = 1e-4;
  EXPECT_LE(relative_error(y, y64), kBlockTolerance) << "y";
  const auto want = reference->named_parameters();
  for (const auto& p : block->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_LE(relative_error(p.value().grad(), want[p.key()].grad()), kBlockTolerance) << p.key();
  }
}

}  // namespace
