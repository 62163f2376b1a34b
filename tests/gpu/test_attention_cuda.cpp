// ops::multi_head_attention on CUDA (ssmkit's kernels for float32 heads of up to 32 channels)
// against the attention written out in float64 on the CPU: output and the packed projections'
// gradient, without dropout at Ti-MAE's shapes, at head sizes 4-32, at a length whose backward
// needs more than the default 48 KiB of shared memory, and at a head size the kernels leave to
// LibTorch. With dropout, the mask is read back from the output (values = identity rows), then
// the output and gradients must be those of the float64 attention with that mask, eagerly and
// replayed in a CUDA graph (where each replay draws a new mask).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "ssmkit/ops/attention.h"
#include "ssmkit/ops/attention_cuda.h"
#include "ssmkit/train/cuda_graph.h"
#include "ssmkit/util/checks.h"
#include "test_helpers.h"

namespace ssmkit::testing {
namespace {

// softmax(Q K^T / sqrt(d)) (scaled by `keep`, (B, H, L, L), when defined) V per head.
at::Tensor reference_attention(const at::Tensor& qkv,  // (B, L, 3 D)
                               int64_t heads, const at::Tensor& keep = {}) {
  const int64_t batch = qkv.size(0), length = qkv.size(1), d_model = qkv.size(2) / 3;
  const int64_t head_dim = d_model / heads;
  const auto parts =
      qkv.view({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
  at::Tensor weights = torch::softmax(torch::matmul(parts[0], parts[1].transpose(-2, -1)) /
                                          std::sqrt(static_cast<double>(head_dim)),
                                      -1);  // (B, H, L, L)
  if (keep.defined()) weights = weights * keep;
  return torch::matmul(weights, parts[2]).transpose(1, 2).reshape({batch, length, d_model});
}

struct Result {
  at::Tensor y;     // (B, L, D), float64 on the CPU
  at::Tensor grad;  // (B, L, 3 D)
};

Result run(const at::Tensor& qkv0, const at::Tensor& upstream, bool cuda, int64_t heads,
           double p = 0.0, const at::Tensor& keep = {}) {
  const auto options = cuda ? torch::TensorOptions(torch::kFloat).device(torch::kCUDA)
                            : torch::TensorOptions(torch::kDouble);
  at::Tensor qkv = qkv0.to(options).clone().requires_grad_();
  const at::Tensor y =
      cuda ? ops::multi_head_attention(qkv, heads, p) : reference_attention(qkv, heads, keep);
  (y * upstream.to(options)).sum().backward();
  return {y.detach().cpu().to(torch::kDouble), qkv.grad().cpu().to(torch::kDouble)};
}

void expect_like_float64(int64_t batch, int64_t length, int64_t d_model, int64_t heads,
                         bool kernels_take_it) {
  const at::Tensor qkv = torch::randn({batch, length, 3 * d_model}, torch::kDouble);
  const at::Tensor upstream = torch::randn({batch, length, d_model}, torch::kDouble);
  EXPECT_EQ(ops::attention_cuda_takes(qkv.to(torch::kCUDA).to(torch::kFloat), heads),
            kernels_take_it);
  const Result want = run(qkv, upstream, false, heads);
  const Result got = run(qkv, upstream, true, heads);
  const std::string shape =
      shape_string({batch, length, d_model}) + " heads " + std::to_string(heads);
  EXPECT_LT(relative_error(got.y, want.y), 1e-5) << "y " << shape;
  EXPECT_LT(relative_error(got.grad, want.grad), 1e-4) << "grad qkv " << shape;
}

class AttentionCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    torch::manual_seed(11);
  }
};

TEST_F(AttentionCuda, MatchesFloat64WithoutDropout) {
  expect_like_float64(64, 141, 64, 4, true);  // Ti-MAE's encoder: heads of 16
  expect_like_float64(8, 141, 32, 4, true);   // its decoder: heads of 8
  expect_like_float64(3, 37, 96, 8, true);    // heads of 12
  expect_like_float64(2, 5, 32, 1, true);     // one head of 32, fewer steps than a warp
  expect_like_float64(2, 300, 64, 2, true);   // 157 KB of shared memory in the backward
  expect_like_float64(2, 600, 16, 4, true);   // rows looped over by the threads
  expect_like_float64(2, 20, 128, 2, false);  // heads of 64: LibTorch's attention
}

// A (B, L, 3 D) input whose values are identity rows (L = d): then y holds the dropped,
// rescaled attention weights themselves.
at::Tensor identity_values(int64_t batch, int64_t heads, int64_t head_dim) {
  const int64_t length = head_dim;
  at::Tensor qkv = torch::randn({batch, length, 3, heads, head_dim}, torch::kDouble);
  qkv.select(2, 2).copy_(torch::eye(head_dim, torch::kDouble).view({1, length, 1, head_dim}));
  return qkv.view({batch, length, 3 * heads * head_dim});
}

// The keep mask (B, H, L, L) scaled by 1 / (1 - p), read from y = P' (identity values).
at::Tensor keep_from_output(const at::Tensor& y, int64_t heads, double p) {
  const int64_t batch = y.size(0), length = y.size(1), head_dim = y.size(2) / heads;
  const at::Tensor weights = y.view({batch, length, heads, head_dim}).permute({0, 2, 1, 3});
  return (weights != 0).to(torch::kDouble) / (1.0 - p);
}

TEST_F(AttentionCuda, DropoutMaskIsRedrawnInTheBackwardAndKeepsOneMinusP) {
  const int64_t batch = 64, heads = 4, head_dim = 16;
  const double p = 0.3;
  const at::Tensor qkv = identity_values(batch, heads, head_dim);
  const at::Tensor upstream = torch::randn({batch, head_dim, heads * head_dim}, torch::kDouble);
  torch::manual_seed(5);
  const Result got = run(qkv, upstream, true, heads, p);
  const at::Tensor keep = keep_from_output(got.y, heads, p);
  const double kept = (keep > 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 1.0 - p, 0.01);  // 65,536 draws: 4.5 standard deviations
  const Result want = run(qkv, upstream, false, heads, p, keep);
  EXPECT_LT(relative_error(got.y, want.y), 1e-5);
  EXPECT_LT(relative_error(got.grad, want.grad), 1e-4);
  // The same seed gives the same mask; the next call a new one.
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(run(qkv, upstream, true, heads, p).y, got.y));
  EXPECT_FALSE(torch::equal(run(qkv, upstream, true, heads, p).y, got.y));
  // Evaluation (p = 0) keeps everything.
  EXPECT_EQ((run(qkv, upstream, true, heads).y == 0).sum().item<int64_t>(), 0);
}

TEST_F(AttentionCuda, GraphReplaysDrawNewMasksAndMatchFloat64) {
  ASSERT_TRUE(train::CudaGraph::supported());
  const int64_t batch = 4, heads = 2, head_dim = 8;
  const double p = 0.25;
  const at::Tensor qkv64 = identity_values(batch, heads, head_dim);
  const at::Tensor upstream64 = torch::randn({batch, head_dim, heads * head_dim}, torch::kDouble);
  const auto cuda = torch::TensorOptions(torch::kFloat).device(torch::kCUDA);
  const at::Tensor qkv = qkv64.to(cuda).requires_grad_();
  const at::Tensor upstream = upstream64.to(cuda);
  at::Tensor y, grad;
  const auto step = [&] {
    y = ops::multi_head_attention(qkv, heads, p);
    grad = torch::autograd::grad({(y * upstream).sum()}, {qkv})[0];
  };
  train::CudaGraph graph(qkv.device());
  graph.run_on_capture_stream(step);
  graph.capture(step);
  std::vector<at::Tensor> outputs;
  for (int replay = 0; replay < 2; ++replay) {
    graph.replay();
    const Result got{y.detach().cpu().to(torch::kDouble), grad.cpu().to(torch::kDouble)};
    const at::Tensor keep = keep_from_output(got.y, heads, p);
    const Result want = run(qkv64, upstream64, false, heads, p, keep);
    EXPECT_LT(relative_error(got.y, want.y), 1e-5) << "replay " << replay;
    EXPECT_LT(relative_error(got.grad, want.grad), 1e-4) << "replay " << replay;
    outputs.push_back(got.y);
  }
  EXPECT_FALSE(torch::equal(outputs[0], outputs[1]));
}

TEST_F(AttentionCuda, BadArgumentsAreOneError) {
  const at::Tensor qkv = torch::randn({2, 5, 30}, torch::kCUDA);
  EXPECT_THROW(ops::multi_head_attention(qkv, 4, 0.0), c10::Error);  // 30 = 3 D, D = 10
  EXPECT_THROW(ops::multi_head_attention(qkv, 1, 1.0), std::exception);
}

}  // namespace
}  // namespace ssmkit::testing
