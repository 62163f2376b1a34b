// The CUDA S4D scan against the CPU scan in float64 (itself held to the plain recurrence in
// tests/ops/test_s4d_scan.cpp): output and every gradient, for 1, 2 and 8 modes per lane, one and
// two directions, lengths across chunk borders; 16-bit inputs (autocast); and the S4D layer on
// CUDA against the same layer in float64 on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "ssmkit/nn/s4d.h"
#include "ssmkit/ops/s4d_scan.h"
#include "ssmkit/ops/s4d_scan_cuda.h"
#include "ssmkit/ops/s4d_ssm.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

struct CudaScanCase {
  int64_t batch, length, channels, modes, directions;
};

std::vector<at::Tensor> scan_inputs(const CudaScanCase& c) {
  const std::vector<int64_t> rows = {c.directions, c.channels, c.modes};
  const at::Tensor radius = 0.6 + 0.399 * torch::rand(rows, torch::kDouble);
  const at::Tensor angle = 6.283185307179586 * torch::rand(rows, torch::kDouble);
  return {torch::randn({c.batch, c.length, c.channels}, torch::kDouble),
          radius * torch::cos(angle),
          radius * torch::sin(angle),
          torch::randn(rows, torch::kDouble) * 0.3,
          torch::randn(rows, torch::kDouble) * 0.3,
          torch::randn({c.channels}, torch::kDouble)};
}

// Output and gradients of `op` (ops::s4d_scan or ops::s4d_ssm) on `inputs` moved to `options`,
// seeded with `seed`.
template <typename Op>
std::vector<at::Tensor> run_with_gradients(const Op& op, const std::vector<at::Tensor>& inputs,
                                           const at::Tensor& seed,
                                           const torch::TensorOptions& options) {
  std::vector<at::Tensor> leaves;
  for (const at::Tensor& t : inputs)
    leaves.push_back(t.to(options).requires_grad_(true));
  const at::Tensor y = op(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5]);
  std::vector<at::Tensor> out = {y};
  for (const at::Tensor& g : torch::autograd::grad({y}, leaves, {seed.to(y.options())}))
    out.push_back(g);
  return out;
}

std::vector<at::Tensor> run_scan(const std::vector<at::Tensor>& inputs, const at::Tensor& seed,
                                 const torch::TensorOptions& options) {
  return run_with_gradients(ops::s4d_scan, inputs, seed, options);
}

TEST(S4DScanCuda, MatchesTheCpuScanInFloat64) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(0);
  for (const CudaScanCase c :
       {CudaScanCase{2, 100, 40, 32, 1}, CudaScanCase{3, 33, 7, 40, 2}, CudaScanCase{1, 5, 3, 3, 1},
        CudaScanCase{2, 64, 5, 200, 2}, CudaScanCase{4, 784, 16, 32, 1}}) {
    const std::vector<at::Tensor> inputs = scan_inputs(c);
    const at::Tensor seed = torch::randn({c.batch, c.length, c.channels}, torch::kDouble);
    const auto expected = run_scan(inputs, seed, torch::kDouble);
    const auto got = run_scan(inputs, seed, torch::dtype(torch::kFloat).device(torch::kCUDA));
    const char* names[] = {"y", "u", "decay_re", "decay_im", "weight_re", "weight_im", "skip"};
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_LT(relative_error(got[i].cpu().to(torch::kDouble), expected[i]), 1e-4)
          << names[i] << ": B " << c.batch << " L " << c.length << " H " << c.channels << " M "
          << c.modes << " directions " << c.directions;
    }
  }
}

TEST(S4DScanCuda, SixteenBitInputsComputeInFloat32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(1);
  const CudaScanCase c{2, 50, 8, 32, 1};
  std::vector<at::Tensor> inputs = scan_inputs(c);
  inputs[0] = inputs[0].to(torch::kBFloat16).to(torch::kDouble);  // representable in bf16
  const at::Tensor seed = torch::randn({c.batch, c.length, c.channels}, torch::kDouble);
  const auto expected = run_scan(inputs, seed, torch::kDouble);
  std::vector<at::Tensor> leaves;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto dtype = i == 0 ? torch::kBFloat16 : torch::kFloat;
    leaves.push_back(inputs[i].to(torch::dtype(dtype).device(torch::kCUDA)).requires_grad_(true));
  }
  const at::Tensor y =
      ops::s4d_scan(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5]);
  EXPECT_EQ(y.scalar_type(), torch::kFloat);
  EXPECT_LT(relative_error(y.cpu().to(torch::kDouble), expected[0]), 1e-4);
  const auto grads = torch::autograd::grad({y}, leaves, {seed.to(y.options())});
  EXPECT_EQ(grads[0].scalar_type(), torch::kBFloat16);
  EXPECT_LT(relative_error(grads[3].cpu().to(torch::kDouble), expected[4]), 1e-4);
}

// S4D's parameters as training leaves them: dt in [0.001, 0.1], A near S4D-Lin.
std::vector<at::Tensor> ssm_inputs(const CudaScanCase& c) {
  const int64_t rows = c.directions * c.channels;
  const at::Tensor modes = torch::arange(c.modes, torch::kDouble);
  return {torch::randn({c.batch, c.length, c.channels}, torch::kDouble),
          std::log(0.001) + std::log(100.0) * torch::rand({rows}, torch::kDouble),
          std::log(0.5) + 0.3 * torch::randn({rows, c.modes}, torch::kDouble),
          3.141592653589793 * modes + 0.2 * torch::randn({rows, c.modes}, torch::kDouble),
          0.7 * torch::randn({rows, c.modes, 2}, torch::kDouble),
          torch::randn({c.channels}, torch::kDouble)};
}

std::vector<at::Tensor> run_ssm(const std::vector<at::Tensor>& inputs, const at::Tensor& seed,
                                const torch::TensorOptions& options) {
  return run_with_gradients(ops::s4d_ssm, inputs, seed, options);
}

// The kernels that discretise S4D's parameters themselves (and the chain rule's kernel) against
// LibTorch's complex discretisation and the CPU scan in float64: 1 to 8 modes per lane, groups
// of 1 to 32 lanes per channel, channels that do not fill a warp, both directions.
TEST(S4DSsmCuda, FusedDiscretisationMatchesFloat64OnTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(3);
  for (const CudaScanCase c :
       {CudaScanCase{2, 100, 40, 32, 1}, CudaScanCase{3, 33, 7, 40, 2}, CudaScanCase{1, 5, 3, 3, 1},
        CudaScanCase{2, 64, 5, 200, 2}, CudaScanCase{4, 784, 16, 32, 1},
        CudaScanCase{2, 17, 9, 1, 1}, CudaScanCase{3, 50, 33, 12, 2}}) {
    const std::vector<at::Tensor> inputs = ssm_inputs(c);
    const at::Tensor seed = torch::randn({c.batch, c.length, c.channels}, torch::kDouble);
    const auto expected = run_ssm(inputs, seed, torch::kDouble);
    // Every lane layout the kernels may pick: 8 modes per lane (the default) and 4.
    for (const int modes_per_lane : {8, 4}) {
      ops::set_s4d_scan_cuda_modes_per_lane(modes_per_lane);
      const auto got = run_ssm(inputs, seed, torch::dtype(torch::kFloat).device(torch::kCUDA));
      const char* names[] = {"y", "u", "log_dt", "log_A_real", "A_imag", "C", "D"};
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_LT(relative_error(got[i].cpu().to(torch::kDouble), expected[i]), i < 2 ? 1e-4 : 5e-4)
            << names[i] << ": B " << c.batch << " L " << c.length << " H " << c.channels << " M "
            << c.modes << " directions " << c.directions << ", " << modes_per_lane
            << " modes per lane";
      }
    }
    ops::set_s4d_scan_cuda_modes_per_lane(0);
  }
}

TEST(S4DScanCuda, S4DLayerOnCudaMatchesFloat64OnTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(2);
  nn::S4DOptions o;
  o.d_model = 24;
  o.bidirectional = true;
  nn::S4D cpu(o);
  cpu->to(torch::kDouble);
  cpu->eval();
  nn::S4D gpu(o);
  {
    torch::NoGradGuard no_grad;
    const auto source = cpu->parameters();
    const auto target = gpu->parameters();
    for (size_t i = 0; i < source.size(); ++i)
      target[i].copy_(source[i]);
  }
  gpu->to(torch::kCUDA);
  gpu->eval();
  const at::Tensor x = torch::randn({3, 300, 24}, torch::kDouble);
  const at::Tensor expected = cpu(x);
  const at::Tensor got = gpu(x.to(torch::dtype(torch::kFloat).device(torch::kCUDA)));
  EXPECT_LT(relative_error(got.cpu().to(torch::kDouble), expected), 1e-4);
  gpu(x.to(torch::dtype(torch::kFloat).device(torch::kCUDA))).pow(2).mean().backward();
  cpu(x).pow(2).mean().backward();
  const auto expected_grads = cpu->named_parameters();
  for (const auto& p : gpu->named_parameters()) {
    EXPECT_LT(
        relative_error(p.value().grad().cpu().to(torch::kDouble), expected_grads[p.key()].grad()),
        1e-3)
        << p.key();
  }
}

}  // namespace
}  // namespace ssmkit::testing
