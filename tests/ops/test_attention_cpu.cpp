// ssmkit's CPU attention loops (ops/attention_cpu.h), in every instruction-set build this CPU runs:
// outputs and gradients against the formula in float64 with the same dropout mask, for the head
// widths with compiled loops and for others, lengths that are and are not whole vectors; and
// multi_head_attention's float32 CPU path drawing its mask as ops::dropout_keep_mask does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "ssmkit/ops/attention.h"
#include "ssmkit/ops/attention_cpu.h"
#include "ssmkit/ops/dropout.h"

namespace {

using ssmkit::ops::attention_cpu;
using ssmkit::ops::attention_cpu_isas;
using ssmkit::ops::set_attention_cpu_isa;

// softmax(Q K^T / sqrt(d)) * keep / (1 - p) V per head, in float64, on the packed (B, L, 3 D).
at::Tensor reference(const at::Tensor& qkv, int64_t heads, const at::Tensor& keep, double p) {
  const int64_t batch = qkv.size(0), length = qkv.size(1), d_model = qkv.size(2) / 3;
  const int64_t head_dim = d_model / heads;
  const auto parts =
      qkv.view({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
  at::Tensor weights = torch::softmax(
      torch::matmul(parts[0], parts[1].transpose(-2, -1)) / std::sqrt(double(head_dim)), -1);
  if (keep.defined()) weights = weights * keep.to(weights.scalar_type()) / (1.0 - p);
  return torch::matmul(weights, parts[2]).transpose(1, 2).reshape({batch, length, d_model});
}

// Restores the default build after a test that picks one.
class AttentionCpu : public ::testing::Test {
 protected:
  void TearDown() override { set_attention_cpu_isa(attention_cpu_isas().front()); }
};

TEST_F(AttentionCpu, EveryBuildFollowsTheFormulaInFloat64WithTheSameMask) {
  struct Case {
    int64_t batch, length, heads, head_dim;
    double p;
  };
  // Head widths 8, 16, 32 and 64 have compiled loops, 4 and 12 take the run-time ones; lengths
  // 1, 7, 17 and 141 are shorter, longer and not multiples of any vector width.
  const std::vector<Case> cases = {{2, 17, 3, 16, 0.3}, {3, 7, 2, 8, 0.0},   {1, 141, 2, 16, 0.1},
                                   {2, 33, 1, 32, 0.5}, {1, 20, 2, 64, 0.2}, {2, 9, 2, 12, 0.3},
                                   {2, 1, 4, 4, 0.0},   {1, 70, 3, 8, 0.4}};
  for (const std::string& isa : attention_cpu_isas()) {
    set_attention_cpu_isa(isa);
    for (const Case& c : cases) {
      SCOPED_TRACE(isa + " B" + std::to_string(c.batch) + " L" + std::to_string(c.length) + " H" +
                   std::to_string(c.heads) + " d" + std::to_string(c.head_dim) + " p" +
                   std::to_string(c.p));
      torch::manual_seed(11);
      const int64_t d_model = c.heads * c.head_dim;
      const at::Tensor qkv64 = torch::randn({c.batch, c.length, 3 * d_model}, torch::kDouble);
      const at::Tensor grad_y64 = torch::randn({c.batch, c.length, d_model}, torch::kDouble);
      const at::Tensor keep =
          c.p > 0.0 ? (torch::rand({c.batch, c.heads, c.length, c.length}) >= c.p).to(torch::kByte)
                    : at::Tensor();

      const at::Tensor qkv = qkv64.to(torch::kFloat).requires_grad_(true);
      const at::Tensor y = attention_cpu(qkv, c.heads, keep, c.p);
      y.backward(grad_y64.to(torch::kFloat));

      const at::Tensor qkv_ref = qkv64.clone().requires_grad_(true);
      const at::Tensor y_ref = reference(qkv_ref, c.heads, keep, c.p);
      y_ref.backward(grad_y64);

      EXPECT_TRUE(torch::allclose(y.to(torch::kDouble), y_ref, 1e-5, 1e-5))
          << "max |dy| " << (y.to(torch::kDouble) - y_ref).abs().max().item<double>();
      const at::Tensor grad = qkv.grad().to(torch::kDouble);
      EXPECT_TRUE(torch::allclose(grad, qkv_ref.grad(), 1e-5, 1e-5))
          << "max |dgrad| " << (grad - qkv_ref.grad()).abs().max().item<double>();
    }
  }
}

TEST_F(AttentionCpu, MultiHeadAttentionDrawsItsMaskAsDropoutKeepMaskDoes) {
  const int64_t batch = 4, length = 23, heads = 2, head_dim = 16, d_model = heads * head_dim;
  torch::manual_seed(5);
  const at::Tensor qkv = torch::randn({batch, length, 3 * d_model});
  torch::manual_seed(21);
  const at::Tensor y = ssmkit::ops::multi_head_attention(qkv, heads, 0.25);
  torch::manual_seed(21);
  const at::Tensor keep = ssmkit::ops::dropout_keep_mask({batch, heads, length, length}, 0.25);
  const double dropped = 1.0 - keep.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, 0.25, 0.03);
  EXPECT_TRUE(torch::allclose(y, attention_cpu(qkv, heads, keep, 0.25), 1e-6, 1e-6));
  // Without dropout, the same as no mask at all.
  EXPECT_TRUE(torch::equal(ssmkit::ops::multi_head_attention(qkv, heads, 0.0),
                           attention_cpu(qkv, heads, at::Tensor(), 0.0)));
}

TEST_F(AttentionCpu, ResultsDoNotDependOnTheThreadCount) {
  torch::manual_seed(8);
  const at::Tensor qkv = torch::randn({3, 30, 3 * 32}).requires_grad_(true);
  const at::Tensor grad_y = torch::randn({3, 30, 32});
  const at::Tensor keep = (torch::rand({3, 2, 30, 30}) >= 0.2).to(torch::kByte);
  const int threads = at::get_num_threads();
  std::vector<at::Tensor> outputs, grads;
  for (int n : {1, 2}) {
    at::set_num_threads(n);
    qkv.mutable_grad() = at::Tensor();
    const at::Tensor y = attention_cpu(qkv, 2, keep, 0.2);
    y.backward(grad_y);
    outputs.push_back(y.detach());
    grads.push_back(qkv.grad().clone());
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(outputs[0], outputs[1]));
  EXPECT_TRUE(torch::equal(grads[0], grads[1]));
}

TEST_F(AttentionCpu, AMaskOrInputItCannotReadIsRefused) {
  const at::Tensor qkv = torch::randn({2, 5, 3 * 8});
  const auto refused = [](const char* what) {
    return ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr(what));
  };
  EXPECT_THAT(
      [&] {
        attention_cpu(qkv, 2, torch::ones({2, 2, 5, 4}, torch::kByte), 0.1);
      },
      refused("'keep' must be uint8 of shape (B, H, L, L) = (2, 2, 5, 5)"));
  EXPECT_THAT(
      [&] {
        attention_cpu(qkv, 2, torch::ones({2, 2, 5, 5}), 0.1);
      },
      refused("'keep' must be uint8"));
  EXPECT_THAT([&] { attention_cpu(qkv.to(torch::kDouble), 2, at::Tensor(), 0.0); },
              refused("'qkv' must be a CPU float32"));
}

TEST_F(AttentionCpu, AnUnknownBuildIsNamedWithTheOnesThatRun) {
  EXPECT_THAT([] { set_attention_cpu_isa("sse9"); },
              ::testing::ThrowsMessage<c10::Error>(::testing::AllOf(
                  ::testing::HasSubstr("'sse9'"), ::testing::HasSubstr("generic"))));
}

}  // namespace
