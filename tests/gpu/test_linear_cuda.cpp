// ops::linear on CUDA (the bias gradient as a matrix-vector product) against LibTorch's linear in
// float64 on the CPU: output and the three gradients, for a (B, L, in) input and a 2-D one, in
// float32 with TF32 off.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "ssmkit/ops/linear.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

std::vector<at::Tensor> run_linear(const std::vector<at::Tensor>& inputs, const at::Tensor& seed,
                                   const torch::TensorOptions& options, bool ours) {
  std::vector<at::Tensor> leaves;
  for (const at::Tensor& t : inputs)
    leaves.push_back(t.to(options).clone().requires_grad_());
  const at::Tensor y = ours ? ops::linear(leaves[0], leaves[1], leaves[2])
                            : torch::linear(leaves[0], leaves[1], leaves[2]);
  std::vector<at::Tensor> out = {y.detach().cpu().to(torch::kDouble)};
  for (const at::Tensor& g : torch::autograd::grad({y}, leaves, {seed.to(y.options())}))
    out.push_back(g.cpu().to(torch::kDouble));
  return out;
}

TEST(LinearCuda, MatchesTheCpuInFloat64) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(7);
  // Another test in this process may have allowed TF32 (the Trainer applies its precision).
  at::globalContext().setAllowTF32CuBLAS(false);
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{8, 300, 64}, {1000, 48}}) {
    std::vector<int64_t> out_shape = shape;
    out_shape.back() = 96;
    const std::vector<at::Tensor> inputs = {torch::randn(shape, torch::kDouble),
                                            torch::randn({96, shape.back()}, torch::kDouble),
                                            torch::randn({96}, torch::kDouble)};
    const at::Tensor seed = torch::randn(out_shape, torch::kDouble);
    const auto expected = run_linear(inputs, seed, torch::kDouble, false);
    const auto got =
        run_linear(inputs, seed, torch::dtype(torch::kFloat).device(torch::kCUDA), true);
    const char* names[] = {"y", "x", "weight", "bias"};
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_LT(relative_error(got[i], expected[i]), 1e-4) << names[i];
  }
}

// An input that needs no gradient (a model's raw series): the backward skips its product, and the
// parameters' gradients are LibTorch's.
TEST(LinearCuda, AnInputWithoutGradientIsSkipped) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  at::globalContext().setAllowTF32CuBLAS(false);
  torch::manual_seed(8);
  const auto cuda = torch::dtype(torch::kFloat).device(torch::kCUDA);
  const at::Tensor x = torch::randn({4, 70, 1}, cuda);
  const at::Tensor w = torch::randn({64, 1}, cuda).requires_grad_();
  const at::Tensor b = torch::randn({64}, cuda).requires_grad_();
  const at::Tensor seed = torch::randn({4, 70, 64}, cuda);
  const auto ours = torch::autograd::grad({ops::linear(x, w, b)}, {w, b}, {seed});
  const auto theirs = torch::autograd::grad({torch::linear(x, w, b)}, {w, b}, {seed});
  EXPECT_LT(relative_error(ours[0], theirs[0]), 1e-5);
  EXPECT_LT(relative_error(ours[1], theirs[1]), 1e-5);
}

}  // namespace
}  // namespace ssmkit::testing
