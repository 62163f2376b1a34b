// The SSD scan: the chunked matrix form against the sequential reference in float64 (outputs and
// every gradient, chunk sizes that do and do not divide the length, grouped B and C), continuation
// from a state, the reference against the recurrence written element by element, bad arguments.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ssmkit/ops/ssd_scan.h"
#include "test_helpers.h"

namespace {

using ssmkit::ops::ssd_chunk_scan;
using ssmkit::ops::ssd_scan_reference;
using ssmkit::ops::SsdScanOutputs;
using ssmkit::testing::relative_error;

constexpr double kSsdTol = 1e-10;  // float64: the two forms differ only in summation order

struct SsdCase {
  at::Tensor x;      // (B, L, H, P)
  at::Tensor dt;     // (B, L, H)
  at::Tensor A;      // (H)
  at::Tensor B;      // (B, L, G, N)
  at::Tensor C;      // (B, L, G, N)
  at::Tensor state;  // (B, H, P, N) initial state, or undefined

  std::vector<at::Tensor> inputs() const {
    std::vector<at::Tensor> all = {x, dt, A, B, C};
    if (state.defined()) all.push_back(state);
    return all;
  }
};

const char* const kInputNames[] = {"x", "dt", "A", "B", "C", "initial_state"};

// Random float64 inputs with Mamba-2's ranges: dt in (0.01, 0.5), A in (-2, -0.5).
SsdCase random_ssd_case(int64_t batch, int64_t len, int64_t heads, int64_t headdim, int64_t groups,
                        int64_t dstate, bool with_state) {
  const auto opts = torch::dtype(torch::kDouble).requires_grad(true);
  SsdCase c;
  c.x = torch::randn({batch, len, heads, headdim}, opts);
  c.dt = (torch::rand({batch, len, heads}, torch::kDouble) * 0.49 + 0.01).requires_grad_(true);
  c.A = (-0.5 - 1.5 * torch::rand({heads}, torch::kDouble)).requires_grad_(true);
  c.B = torch::randn({batch, len, groups, dstate}, opts);
  c.C = torch::randn({batch, len, groups, dstate}, opts);
  if (with_state) c.state = torch::randn({batch, heads, headdim, dstate}, opts);
  return c;
}

// Outputs and the gradients of <y, dy> + <final_state, dstate> for every input of `c`.
struct SsdRun {
  SsdScanOutputs out;
  std::vector<at::Tensor> grads;  // in SsdCase::inputs() order
};

template <typename Scan>
SsdRun run_with_gradients(const SsdCase& c, Scan&& scan) {
  SsdRun r;
  r.out = scan(c);
  // Fixed cotangents, drawn from a seed of their own so both forms see the same ones (randn of the
  // sizes, not randn_like, whose values would follow each output's strides).
  torch::manual_seed(1234);
  const at::Tensor dy = torch::randn(r.out.y.sizes(), torch::kDouble);
  const at::Tensor dstate = torch::randn(r.out.final_state.sizes(), torch::kDouble);
  const at::Tensor loss = (r.out.y * dy).sum() + (r.out.final_state * dstate).sum();
  r.grads = torch::autograd::grad({loss}, c.inputs());
  return r;
}

SsdRun chunked(const SsdCase& c, int64_t chunk_size) {
  return run_with_gradients(c, [&](const SsdCase& k) {
    return ssd_chunk_scan(k.x, k.dt, k.A, k.B, k.C, chunk_size, k.state);
  });
}

SsdRun reference(const SsdCase& c) {
  return run_with_gradients(
      c, [](const SsdCase& k) { return ssd_scan_reference(k.x, k.dt, k.A, k.B, k.C, k.state); });
}

void expect_runs_match(const SsdRun& got, const SsdRun& want) {
  EXPECT_LT(relative_error(got.out.y, want.out.y), kSsdTol) << "y";
  EXPECT_LT(relative_error(got.out.final_state, want.out.final_state), kSsdTol) << "final_state";
  ASSERT_EQ(got.grads.size(), want.grads.size());
  for (size_t i = 0; i < got.grads.size(); ++i) {
    EXPECT_LT(relative_error(got.grads[i], want.grads[i]), kSsdTol) << "d" << kInputNames[i];
  }
}

TEST(SsdChunkScan, MatchesTheSequentialReferenceInOutputsAndEveryGradient) {
  for (const int64_t groups : {1, 2}) {
    for (const int64_t len : {1, 7, 33, 100}) {
      torch::manual_seed(len * 10 + groups);
      const SsdCase c = random_ssd_case(2, len, 4, 3, groups, 5, /*with_state=*/true);
      const SsdRun want = reference(c);
      for (const int64_t chunk : {1, 4, 16, 64}) {
        SCOPED_TRACE("groups " + std::to_string(groups) + ", L " + std::to_string(len) +
                     ", chunk " + std::to_string(chunk));
        expect_runs_match(chunked(c, chunk), want);
      }
    }
  }
}

TEST(SsdChunkScan, StartsFromZerosWithoutAnInitialState) {
  torch::manual_seed(3);
  const SsdCase c = random_ssd_case(3, 21, 2, 4, 1, 3, /*with_state=*/false);
  expect_runs_match(chunked(c, 8), reference(c));
  SsdCase zeros = c;
  zeros.state = torch::zeros({3, 2, 4, 3}, torch::kDouble);
  const SsdScanOutputs with_zeros = ssd_chunk_scan(c.x, c.dt, c.A, c.B, c.C, 8, zeros.state);
  EXPECT_LT(relative_error(chunked(c, 8).out.y, with_zeros.y), kSsdTol);
}

// Scanning [a; b] equals scanning a, then b from a's final state: what chunked prefill relies on.
TEST(SsdChunkScan, ContinuesASequenceFromItsFinalState) {
  torch::manual_seed(4);
  const SsdCase c = random_ssd_case(2, 30, 4, 3, 2, 5, /*with_state=*/true);
  const int64_t split = 13;  // neither part a multiple of the chunk
  auto part = [&](int64_t start, int64_t len, const at::Tensor& state) {
    return ssd_chunk_scan(c.x.narrow(1, start, len), c.dt.narrow(1, start, len), c.A,
                          c.B.narrow(1, start, len), c.C.narrow(1, start, len), 8, state);
  };
  const SsdScanOutputs whole = ssd_chunk_scan(c.x, c.dt, c.A, c.B, c.C, 8, c.state);
  const SsdScanOutputs first = part(0, split, c.state);
  const SsdScanOutputs second = part(split, 30 - split, first.final_state);
  EXPECT_LT(relative_error(torch::cat({first.y, second.y}, 1), whole.y), kSsdTol);
  EXPECT_LT(relative_error(second.final_state, whole.final_state), kSsdTol);
}

// The recurrence one scalar at a time, head h reading group h / (H / G): pins down the reference.
TEST(SsdScanReference, MatchesTheRecurrenceWrittenElementByElement) {
  torch::manual_seed(5);
  const int64_t batch = 2, len = 6, heads = 4, headdim = 2, groups = 2, dstate = 3;
  const SsdCase c =
      random_ssd_case(batch, len, heads, headdim, groups, dstate, /*with_state=*/true);
  torch::NoGradGuard no_grad;
  const SsdScanOutputs got = ssd_scan_reference(c.x, c.dt, c.A, c.B, c.C, c.state);
  auto x = c.x.accessor<double, 4>();
  auto dt = c.dt.accessor<double, 3>();
  auto a = c.A.accessor<double, 1>();
  auto bm = c.B.accessor<double, 4>();
  auto cm = c.C.accessor<double, 4>();
  at::Tensor h = c.state.detach().clone();  // (B, H, P, N)
  auto ha = h.accessor<double, 4>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t hd = 0; hd < heads; ++hd) {
      const int64_t g = hd / (heads / groups);
      for (int64_t t = 0; t < len; ++t) {
        const double decay = std::exp(dt[b][t][hd] * a[hd]);
        for (int64_t p = 0; p < headdim; ++p) {
          double y = 0.0;
          for (int64_t n = 0; n < dstate; ++n) {
            ha[b][hd][p][n] =
                decay * ha[b][hd][p][n] + dt[b][t][hd] * x[b][t][hd][p] * bm[b][t][g][n];
            y += cm[b][t][g][n] * ha[b][hd][p][n];
          }
          EXPECT_NEAR(got.y[b][t][hd][p].item<double>(), y, 1e-12);
        }
      }
    }
  }
  EXPECT_LT(relative_error(got.final_state, h), 1e-14);
}

// Decays that underflow to zero within a chunk (dt A sums of -1000s) stay finite in both passes.
TEST(SsdChunkScan, StaysFiniteUnderStrongDecay) {
  torch::manual_seed(6);
  SsdCase c = random_ssd_case(1, 80, 2, 2, 1, 3, /*with_state=*/true);
  {
    torch::NoGradGuard no_grad;
    c.dt.mul_(40.0);
  }
  const SsdRun got = chunked(c, 64);
  for (const auto& g : got.grads)
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
  expect_runs_match(got, reference(c));
}

TEST(SsdChunkScan, Float32InputsGiveFloat32OutputsCloseToFloat64) {
  torch::manual_seed(7);
  const SsdCase c = random_ssd_case(2, 40, 4, 8, 2, 16, /*with_state=*/true);
  torch::NoGradGuard no_grad;
  const SsdScanOutputs want = ssd_scan_reference(c.x, c.dt, c.A, c.B, c.C, c.state);
  const SsdScanOutputs got =
      ssd_chunk_scan(c.x.to(torch::kFloat), c.dt.to(torch::kFloat), c.A.to(torch::kFloat),
                     c.B.to(torch::kFloat), c.C.to(torch::kFloat), 16, c.state.to(torch::kFloat));
  EXPECT_EQ(got.y.scalar_type(), torch::kFloat);
  EXPECT_EQ(got.final_state.scalar_type(), torch::kFloat);
  EXPECT_LT(relative_error(got.y, want.y), 1e-5);
  EXPECT_LT(relative_error(got.final_state, want.final_state), 1e-5);
}

// Runs the chunked scan on `c` and returns the error message ("" when it did not throw).
std::string message_for(const SsdCase& c, int64_t chunk_size = 4) {
  try {
    ssd_chunk_scan(c.x, c.dt, c.A, c.B, c.C, chunk_size, c.state);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(SsdChunkScan, BadArgumentsNameTheTensorAndTheExpectedShape) {
  torch::NoGradGuard no_grad;
  const SsdCase good = random_ssd_case(2, 5, 4, 3, 2, 6, /*with_state=*/true);
  EXPECT_EQ(message_for(good), "");

  SsdCase bad_dt = good;
  bad_dt.dt = torch::rand({2, 5, 3}, torch::kDouble);
  EXPECT_NE(
      message_for(bad_dt).find("ssd_chunk_scan: 'dt' has shape [2, 5, 3], expected (B, L, H)"),
      std::string::npos)
      << message_for(bad_dt);

  SsdCase bad_groups = good;
  bad_groups.B = torch::randn({2, 5, 3, 6}, torch::kDouble);
  bad_groups.C = bad_groups.B;
  EXPECT_NE(message_for(bad_groups).find("'B' has shape [2, 5, 3, 6], expected a group count G"),
            std::string::npos)
      << message_for(bad_groups);

  SsdCase bad_c = good;
  bad_c.C = torch::randn({2, 5, 2, 7}, torch::kDouble);
  EXPECT_NE(message_for(bad_c).find("'C' has shape [2, 5, 2, 7], expected (B, L, G, N)"),
            std::string::npos)
      << message_for(bad_c);

  SsdCase bad_state = good;
  bad_state.state = torch::randn({2, 4, 6, 3}, torch::kDouble);
  EXPECT_NE(message_for(bad_state).find("'initial_state' has shape [2, 4, 6, 3]"),
            std::string::npos)
      << message_for(bad_state);

  EXPECT_NE(message_for(good, 0).find("'chunk_size' must be >= 1, got 0"), std::string::npos);

  SsdCase bad_x = good;
  bad_x.x = torch::randn({2, 5, 12}, torch::kDouble);
  EXPECT_NE(message_for(bad_x).find("'x' has shape [2, 5, 12], expected 4 dimensions"),
            std::string::npos)
      << message_for(bad_x);
}

}  // namespace
