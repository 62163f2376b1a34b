// Mamba-2 on CUDA: the chunked SSD scan on the GPU against the sequential reference in float64 on
// the CPU (outputs and every gradient, chunk sizes that do and do not divide the length, grouped B
// and C, a carried state); the whole block on the GPU against the same block in float64 on the
// CPU, forward and every parameter's gradient; step() after a chunked prefill against forward().
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include <vector>

#include "ssmkit/nn/mamba2.h"
#include "ssmkit/ops/ssd_scan.h"
#include "test_helpers.h"

namespace {

using ssmkit::testing::relative_error;

constexpr double kScanFloat32Tolerance = 2e-5;   // float32 on the GPU vs float64
constexpr double kScanFloat64Tolerance = 1e-10;  // float64 on the GPU: summation order only

struct ScanCase {
  int64_t batch, length, heads, headdim, groups, state, chunk;
  bool with_state;
};

TEST(Mamba2Cuda, ChunkedScanMatchesTheSequentialReferenceInOutputsAndGradients) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(11);
  const ScanCase cases[] = {{2, 100, 4, 16, 1, 16, 32, false},
                            {1, 256, 8, 8, 2, 32, 64, true},
                            {3, 37, 2, 32, 2, 8, 16, true}};
  for (const ScanCase& c : cases) {
    const auto f64 = torch::dtype(torch::kDouble);
    std::vector<at::Tensor> cpu = {torch::randn({c.batch, c.length, c.heads, c.headdim}, f64),
                                   torch::rand({c.batch, c.length, c.heads}, f64) * 0.49 + 0.01,
                                   -0.5 - 1.5 * torch::rand({c.heads}, f64),
                                   torch::randn({c.batch, c.length, c.groups, c.state}, f64),
                                   torch::randn({c.batch, c.length, c.groups, c.state}, f64)};
    if (c.with_state) cpu.push_back(torch::randn({c.batch, c.heads, c.headdim, c.state}, f64));
    for (auto& t : cpu)
      t.requires_grad_(true);
    const auto init = [&](const std::vector<at::Tensor>& v) {
      return c.with_state ? v[5] : at::Tensor();
    };
    const auto reference =
        ssmkit::ops::ssd_scan_reference(cpu[0], cpu[1], cpu[2], cpu[3], cpu[4], init(cpu));
    const at::Tensor grad_y = torch::randn_like(reference.y);
    const auto expected = torch::autograd::grad({reference.y}, cpu, {grad_y});
    for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
      std::vector<at::Tensor> gpu;
      for (const auto& t : cpu)
        gpu.push_back(t.detach().to(torch::kCUDA, dtype).requires_grad_(true));
      const auto out =
          ssmkit::ops::ssd_chunk_scan(gpu[0], gpu[1], gpu[2], gpu[3], gpu[4], c.chunk, init(gpu));
      const double tol = dtype == torch::kFloat64 ? kScanFloat64Tolerance : kScanFloat32Tolerance;
      EXPECT_LT(relative_error(out.y.cpu(), reference.y), tol) << "L " << c.length;
      EXPECT_LT(relative_error(out.final_state.cpu(), reference.final_state), tol)
          << "L " << c.length;
      const auto grads = torch::autograd::grad({out.y}, gpu, {grad_y.to(torch::kCUDA, dtype)});
      for (size_t i = 0; i < grads.size(); ++i) {
        EXPECT_LT(relative_error(grads[i].cpu(), expected[i]), 10 * tol)
            << "gradient " << i << ", L " << c.length;
      }
    }
  }
}

TEST(Mamba2Cuda, BlockMatchesTheFloat64BlockOnTheCpuAndStepContinuesAPrefill) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(12);
  ssmkit::nn::Mamba2Options o;
  o.d_model = 32;
  o.d_state = 16;
  o.headdim = 16;
  o.ngroups = 2;
  o.chunk_size = 16;
  ssmkit::nn::Mamba2 reference(o);
  reference->to(torch::kDouble);
  ssmkit::nn::Mamba2 gpu(o);
  {
    torch::NoGradGuard no_grad;
    const auto source = reference->named_parameters();
    for (auto& item : gpu->named_parameters())
      item.value().copy_(source[item.key()].to(torch::kFloat32));
  }
  gpu->to(torch::kCUDA);
  const at::Tensor x = torch::randn({2, 40, 32}, torch::kDouble);
  const at::Tensor y = reference->forward(x);
  const at::Tensor y_gpu = gpu->forward(x.to(torch::kCUDA, torch::kFloat32));
  EXPECT_LT(relative_error(y_gpu.cpu(), y), 1e-5);
  const at::Tensor grad = torch::randn_like(y);
  y.backward(grad);
  y_gpu.backward(grad.to(torch::kCUDA, torch::kFloat32));
  const auto expected = reference->named_parameters();
  for (const auto& item : gpu->named_parameters()) {
    EXPECT_LT(relative_error(item.value().grad().cpu(), expected[item.key()].grad()), 1e-4)
        << item.key();
  }
  // Prefill 24 tokens in chunks, then step the remaining 16 one by one.
  torch::NoGradGuard no_grad;
  auto cache = gpu->make_cache(2);
  const at::Tensor xg = x.to(torch::kCUDA, torch::kFloat32);
  std::vector<at::Tensor> outputs = {gpu->forward_chunk(xg.narrow(1, 0, 24), cache)};
  for (int64_t t = 24; t < 40; ++t)
    outputs.push_back(gpu->step(xg.select(1, t), cache).unsqueeze(1));
  EXPECT_LT(relative_error(torch::cat(outputs, 1).cpu(), y), 1e-5);
}

}  // namespace
