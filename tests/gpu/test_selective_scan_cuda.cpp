// The CUDA selective scan against the float64 reference on the CPU: output, last state and every
// gradient, over a grid of lengths, state sizes, B/C layouts, options and dtypes, on fresh random
// inputs, with every kernel output buffer poisoned with NaN before the kernels run.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <string>
#include <vector>

#include "ssmkit/ops/selective_scan.h"
#include "ssmkit/ops/selective_scan_cuda.h"
#include "test_helpers.h"

namespace {

using ssmkit::ops::ScanBackend;
using ssmkit::ops::SelectiveScanInputs;
using ssmkit::ops::SelectiveScanOptions;
using ssmkit::testing::relative_error;

// Relative-error bounds against float64: float32 arithmetic, and 8/11-bit mantissas for the
// outputs and gradients stored in bfloat16/float16.
constexpr double kFloat32Tolerance = 1e-5;
constexpr double kHalfTolerance = 1e-2;
// The kernels' thread layouts, each forced: the plain forward (and the backward) with 2 and with
// 4 states per thread, and the pipelined forward (the backward then picked by grid size).
struct KernelChoice {
  const char* name;
  int states_per_thread;
  int forward_pipelined;
};
constexpr KernelChoice kKernelChoices[] = {
    {"plain, 2 states", 2, 0}, {"plain, 4 states", 4, 0}, {"pipelined forward", 0, 1}};

enum class Layout { kFixed, kVariable, kGrouped };

struct Case {
  const char* name;
  int64_t batch, dim, seqlen, dstate, groups;
  Layout b_layout, c_layout;
  at::ScalarType dtype;     // u, delta, z
  at::ScalarType bc_dtype;  // input-dependent B and C
  bool z, D, delta_bias, softplus, initial_state, last_state;
  bool strided;  // pass u, delta, B as non-contiguous views
};

constexpr auto F32 = at::kFloat;
constexpr auto BF16 = at::kBFloat16;
constexpr auto F16 = at::kHalf;
constexpr auto kFix = Layout::kFixed;
constexpr auto kVar = Layout::kVariable;
constexpr auto kGrp = Layout::kGrouped;

// A combinatorial grid: every length, state size, layout, dtype and option appears, in
// combinations that keep the float64 reference cheap (small B and D for long L).
const Case kCases[] = {
    // name, B, D, L, N, G, layout of B, of C, dtype, B/C dtype,
    // z, D, delta_bias, softplus, initial_state, last_state, strided
    {"L1_N1_fp32_all", 2, 3, 1, 1, 1, kVar, kVar, F32, F32, 1, 1, 1, 1, 1, 1, 0},
    {"L1_N256_fp32_fixed", 3, 5, 1, 256, 1, kFix, kFix, F32, F32, 0, 1, 0, 0, 1, 1, 0},
    {"L100_N16_fp32_var_all", 2, 5, 100, 16, 1, kVar, kVar, F32, F32, 1, 1, 1, 1, 1, 1, 0},
    {"L100_N16_fp32_fixed_plain", 2, 7, 100, 16, 1, kFix, kFix, F32, F32, 0, 0, 0, 0, 0, 0, 0},
    {"L100_N256_fp16_fixB_varC", 2, 7, 100, 256, 1, kFix, kVar, F16, F16, 1, 1, 1, 1, 1, 1, 0},
    {"L100_N64_bf16_grouped", 2, 15, 100, 64, 3, kGrp, kGrp, BF16, BF16, 1, 0, 1, 0, 1, 1, 0},
    {"L300_N16_fp32_strided", 2, 67, 300, 16, 1, kGrp, kVar, F32, F32, 1, 1, 1, 1, 1, 1, 1},
    {"L300_N12_bf16_strided", 1, 41, 300, 12, 1, kVar, kVar, BF16, BF16, 0, 1, 1, 1, 0, 1, 1},
    {"L2048_N16_bf16_grouped", 2, 9, 2048, 16, 3, kGrp, kGrp, BF16, BF16, 0, 1, 1, 1, 0, 1, 0},
    {"L2048_N1_fp16_var", 2, 3, 2048, 1, 1, kVar, kVar, F16, F16, 1, 0, 0, 1, 0, 0, 0},
    {"L2049_N64_fp32_varB_fixC", 1, 3, 2049, 64, 1, kVar, kFix, F32, F32, 1, 1, 0, 1, 1, 1, 0},
    {"L2049_N16_bf16_fp32BC", 2, 35, 2049, 16, 1, kVar, kVar, BF16, F32, 1, 1, 1, 1, 1, 1, 0},
    {"L2049_N16_fp16_varB_grpC", 1, 45, 2049, 16, 3, kVar, kGrp, F16, F16, 0, 1, 0, 1, 1, 0, 0},
    {"L8192_N16_fp32_var", 1, 33, 8192, 16, 1, kVar, kVar, F32, F32, 0, 1, 1, 1, 0, 0, 0},
    {"L8192_N256_fp32_fixB_varC", 1, 1, 8192, 256, 1, kFix, kVar, F32, F32, 1, 1, 1, 1, 1, 1, 0},
};

// The leaves of one call: inputs whose gradients are checked. Undefined when the case omits them.
struct Leaves {
  at::Tensor u, delta, A, B, C, D, z, delta_bias, initial_state;

  std::vector<at::Tensor> defined() const {
    std::vector<at::Tensor> out;
    for (const at::Tensor* t : {&u, &delta, &A, &B, &C, &D, &z, &delta_bias, &initial_state}) {
      if (t->defined()) out.push_back(*t);
    }
    return out;
  }
  static std::vector<std::string> names(const Leaves& l) {
    std::vector<std::string> out;
    const std::pair<const at::Tensor*, const char*> all[] = {{&l.u, "u"},
                                                             {&l.delta, "delta"},
                                                             {&l.A, "A"},
                                                             {&l.B, "B"},
                                                             {&l.C, "C"},
                                                             {&l.D, "D"},
                                                             {&l.z, "z"},
                                                             {&l.delta_bias, "delta_bias"},
                                                             {&l.initial_state, "initial_state"}};
    for (const auto& [t, name] : all) {
      if (t->defined()) out.emplace_back(name);
    }
    return out;
  }
};

at::Tensor param_values(Layout layout, const Case& c) {  // (D, N) | (B, N, L) | (B, G, N, L)
  switch (layout) {
    case Layout::kFixed:
      return at::randn({c.dim, c.dstate});
    case Layout::kVariable:
      return at::randn({c.batch, c.dstate, c.seqlen});
    case Layout::kGrouped:
      return at::randn({c.batch, c.groups, c.dstate, c.seqlen});
  }
  return {};
}

// Fresh random values in the ranges Mamba sees: dt = softplus(delta + bias) around 0.1, A < 0.
Leaves random_leaves(const Case& c, const at::Device& device) {
  const auto on = [&](at::Tensor t, at::ScalarType dtype) {
    return t.to(device, dtype).detach().requires_grad_(true);
  };
  Leaves l;
  l.u = on(at::randn({c.batch, c.dim, c.seqlen}), c.dtype);
  at::Tensor delta = c.softplus ? at::randn({c.batch, c.dim, c.seqlen}) * 0.5 - 2.0
                                : at::rand({c.batch, c.dim, c.seqlen}) * 0.2 + 0.01;
  l.delta = on(delta, c.dtype);
  l.A = on(-at::exp(at::randn({c.dim, c.dstate}) * 0.5), at::kFloat);
  l.B = on(param_values(c.b_layout, c), c.b_layout == kFix ? at::kFloat : c.bc_dtype);
  l.C = on(param_values(c.c_layout, c), c.c_layout == kFix ? at::kFloat : c.bc_dtype);
  if (c.D) l.D = on(at::randn({c.dim}), at::kFloat);
  if (c.z) l.z = on(at::randn({c.batch, c.dim, c.seqlen}), c.dtype);
  // Without softplus, dt = delta + bias itself must stay positive (else the states grow without
  // bound, as they would in a real model).
  if (c.delta_bias) {
    l.delta_bias = on(c.softplus ? at::randn({c.dim}) * 0.3 : at::rand({c.dim}) * 0.1, at::kFloat);
  }
  if (c.initial_state) l.initial_state = on(at::randn({c.batch, c.dim, c.dstate}), at::kFloat);
  return l;
}

// The same values as float64 CPU leaves, for the reference.
Leaves float64_copy(const Leaves& l) {
  const auto copy = [](const at::Tensor& t) {
    return t.defined() ? t.detach().to(at::kCPU, at::kDouble).requires_grad_(true) : at::Tensor();
  };
  return {copy(l.u), copy(l.delta),      copy(l.A),
          copy(l.B), copy(l.C),          copy(l.D),
          copy(l.z), copy(l.delta_bias), copy(l.initial_state)};
}

// A differentiable non-contiguous view with the values of t: last dimension strided (transpose
// round trip) or rows padded (so rows are not 16-byte aligned).
at::Tensor transposed_view(const at::Tensor& t) {
  return t.transpose(-1, -2).contiguous().transpose(-1, -2);
}
at::Tensor padded_view(const at::Tensor& t) {
  constexpr int64_t kPad = 3;  // odd, so that row starts lose 16-byte alignment
  return at::constant_pad_nd(t, {0, kPad}).narrow(-1, 0, t.size(-1));
}

SelectiveScanInputs inputs_of(const Leaves& l, bool strided) {
  SelectiveScanInputs in;
  in.u = strided ? padded_view(l.u) : l.u;
  in.delta = strided ? transposed_view(l.delta) : l.delta;
  in.A = l.A;
  in.B = strided && l.B.dim() > 2 ? padded_view(l.B) : l.B;
  in.C = l.C;
  in.D = l.D;
  in.z = l.z;
  in.delta_bias = l.delta_bias;
  in.initial_state = l.initial_state;
  return in;
}

struct Result {
  at::Tensor y, last_state;
  std::vector<at::Tensor> grads;  // in Leaves::defined() order
};

Result run(const Leaves& leaves, const SelectiveScanInputs& in, const SelectiveScanOptions& options,
           ScanBackend backend, const at::Tensor& dy, const at::Tensor& dlast) {
  Result r;
  const auto out = ssmkit::ops::selective_scan(in, options, backend);
  r.y = out.y;
  r.last_state = out.last_state;
  std::vector<at::Tensor> outputs = {out.y};
  std::vector<at::Tensor> grad_outputs = {dy};
  if (options.return_last_state) {
    outputs.push_back(out.last_state);
    grad_outputs.push_back(dlast);
  }
  r.grads = torch::autograd::grad(outputs, leaves.defined(), grad_outputs);
  return r;
}

class SelectiveScanCuda : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
    ssmkit::ops::set_selective_scan_cuda_poison_outputs(true);
  }
  void TearDown() override {
    ssmkit::ops::set_selective_scan_cuda_poison_outputs(false);
    ssmkit::ops::set_selective_scan_cuda_states_per_thread(0);
    ssmkit::ops::set_selective_scan_cuda_forward_pipelined(-1);
  }
};

TEST_P(SelectiveScanCuda, MatchesFloat64Reference) {
  const Case& c = GetParam();
  const double tol = c.dtype == at::kFloat ? kFloat32Tolerance : kHalfTolerance;
  const at::Device cuda(at::kCUDA);
  const Leaves leaves = random_leaves(c, cuda);
  const Leaves ref_leaves = float64_copy(leaves);
  SelectiveScanOptions options;
  options.delta_softplus = c.softplus;
  options.return_last_state = c.last_state;
  const at::Tensor dy = at::randn({c.batch, c.dim, c.seqlen}).to(cuda, c.dtype);
  const at::Tensor dlast = at::randn({c.batch, c.dim, c.dstate}).to(cuda);

  const Result want =
      run(ref_leaves, inputs_of(ref_leaves, false), options, ScanBackend::kReference,
          dy.to(at::kCPU, at::kDouble), dlast.to(at::kCPU, at::kDouble));
  const std::vector<std::string> names = Leaves::names(leaves);
  const std::vector<at::Tensor> inputs = leaves.defined();

  // Every kernel layout (picked by grid size in real use).
  for (const KernelChoice& choice : kKernelChoices) {
    SCOPED_TRACE(choice.name);
    ssmkit::ops::set_selective_scan_cuda_states_per_thread(choice.states_per_thread);
    ssmkit::ops::set_selective_scan_cuda_forward_pipelined(choice.forward_pipelined);
    const Result got =
        run(leaves, inputs_of(leaves, c.strided), options, ScanBackend::kAuto, dy, dlast);
    EXPECT_EQ(got.y.scalar_type(), c.dtype);
    EXPECT_LE(relative_error(got.y, want.y), tol) << "y";
    if (c.last_state) {
      EXPECT_EQ(got.last_state.scalar_type(), at::kFloat);
      EXPECT_LE(relative_error(got.last_state, want.last_state), kFloat32Tolerance) << "last_state";
    }
    ASSERT_EQ(got.grads.size(), want.grads.size());
    for (size_t i = 0; i < got.grads.size(); ++i) {
      ASSERT_TRUE(got.grads[i].defined()) << names[i];
      EXPECT_EQ(got.grads[i].sizes(), inputs[i].sizes()) << names[i];
      EXPECT_EQ(got.grads[i].scalar_type(), inputs[i].scalar_type()) << names[i];
      // 16-bit inputs carry their rounding into every gradient; float32 ones need float32 accuracy.
      EXPECT_LE(relative_error(got.grads[i], want.grads[i]), tol) << "d" << names[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Grid, SelectiveScanCuda, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// The inference path (no autograd, no checkpoints) computes the same output bit for bit.
TEST(SelectiveScanCudaPaths, InferenceMatchesTrainingForward) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const Case c = {"", 3, 70, 777, 16, 1, kVar, kVar, BF16, BF16, 1, 1, 1, 1, 1, 1, 0};
  const Leaves leaves = random_leaves(c, at::Device(at::kCUDA));
  SelectiveScanOptions options;
  options.delta_softplus = true;
  options.return_last_state = true;
  const auto train = ssmkit::ops::selective_scan(inputs_of(leaves, false), options);
  at::Tensor y_infer, last_infer;
  {
    at::AutoGradMode no_grad(false);
    const auto infer = ssmkit::ops::selective_scan(inputs_of(leaves, false), options);
    y_infer = infer.y;
    last_infer = infer.last_state;
  }
  EXPECT_TRUE(at::equal(train.y.detach(), y_infer));
  EXPECT_TRUE(at::equal(train.last_state.detach(), last_infer));
}

std::string error_of(const SelectiveScanInputs& in) {
  try {
    ssmkit::ops::selective_scan(in);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(SelectiveScanCudaErrors, NamesUnsupportedDtypeAndDevice) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  SelectiveScanInputs in;
  in.u = at::randn({2, 3, 5}, cuda.dtype(at::kDouble));
  in.delta = at::rand({2, 3, 5}, cuda.dtype(at::kDouble));
  in.A = -at::rand({3, 4}, cuda.dtype(at::kDouble));
  in.B = at::randn({2, 4, 5}, cuda.dtype(at::kDouble));
  in.C = at::randn({2, 4, 5}, cuda.dtype(at::kDouble));
  std::string msg = error_of(in);
  EXPECT_NE(msg.find("supports Float, BFloat16 and Half"), std::string::npos) << msg;

  in.u = in.u.to(at::kFloat);
  in.delta = in.delta.to(at::kFloat);
  in.B = in.B.to(at::kFloat);
  in.C = in.C.to(at::kFloat);
  msg = error_of(in);
  EXPECT_NE(msg.find("'A' has dtype Double"), std::string::npos) << msg;

  in.A = in.A.to(at::kFloat).cpu();
  msg = error_of(in);
  EXPECT_NE(msg.find("'A' is on cpu"), std::string::npos) << msg;
}

// A length past the kernels' int time indices is refused before anything is copied or launched.
// The inputs are broadcast views (stride 0 along time), so the test allocates almost nothing.
TEST(SelectiveScanCudaErrors, NamesLengthBeyondTheKernelsLimit) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const int64_t too_long = int64_t{1} << 31;
  SelectiveScanInputs in;
  in.u = at::zeros({1, 2, 1}, cuda).expand({1, 2, too_long});
  in.delta = in.u;
  in.A = -at::ones({2, 4}, cuda);
  in.B = at::zeros({1, 4, 1}, cuda).expand({1, 4, too_long});
  in.C = in.B;
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("'u' has length 2147483648, supported up to 2147483615"), std::string::npos)
      << msg;
}

}  // namespace
