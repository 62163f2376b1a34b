// Input validation shared by every selective-scan implementation, and the dispatcher.
#include "ssmkit/ops/selective_scan.h"

#include <torch/torch.h>

#include "ssmkit/ops/selective_scan_cpu.h"
#include "ssmkit/util/checks.h"

#ifdef SSMKIT_WITH_CUDA
#include "ssmkit/ops/selective_scan_cuda.h"
#endif

namespace ssmkit::ops {
namespace {

ScanParamLayout check_param(const at::Tensor& p, const char* fn, const char* name,
                            const SelectiveScanShape& s, int64_t* n_groups) {
  check_defined(p, fn, name);
  switch (p.dim()) {
    case 2:
      check_shape(p, fn, name, "(D, N)", {s.dim, s.dstate});
      return ScanParamLayout::kFixed;
    case 3:
      check_shape(p, fn, name, "(B, N, L)", {s.batch, s.dstate, s.seqlen});
      return ScanParamLayout::kVariable;
    case 4: {
      check_shape(p, fn, name, "(B, G, N, L)", {s.batch, -1, s.dstate, s.seqlen});
      const int64_t g = p.size(1);
      TORCH_CHECK(g >= 1 && s.dim % g == 0, fn, ": '", name, "' has ", g,
                  " groups, which must divide D = ", s.dim);
      TORCH_CHECK(*n_groups == 1 || *n_groups == g, fn, ": B and C have different group counts (",
                  *n_groups, " and ", g, ")");
      *n_groups = g;
      return ScanParamLayout::kGrouped;
    }
    default:
      TORCH_CHECK(false, fn, ": '", name, "' has shape ", shape_string(p.sizes()),
                  ", expected (D, N), (B, N, L) or (B, G, N, L)");
  }
}

}  // namespace

SelectiveScanShape check_selective_scan_inputs(const SelectiveScanInputs& in, const char* fn) {
  static constexpr std::initializer_list<at::ScalarType> kInputTypes = {
      at::kFloat, at::kBFloat16, at::kHalf, at::kDouble};
  static constexpr std::initializer_list<at::ScalarType> kWeightTypes = {at::kFloat, at::kDouble};

  SelectiveScanShape s;
  check_rank(in.u, fn, "u", "(B, D, L)", 3);
  s.batch = in.u.size(0);
  s.dim = in.u.size(1);
  s.seqlen = in.u.size(2);
  TORCH_CHECK(s.seqlen >= 1, fn, ": 'u' has shape ", shape_string(in.u.sizes()),
              ", expected L >= 1");
  check_rank(in.A, fn, "A", "(D, N)", 2);
  s.dstate = in.A.size(1);
  check_shape(in.A, fn, "A", "(D, N)", {s.dim, s.dstate});
  TORCH_CHECK(s.dstate >= 1 && s.dstate <= kMaxScanStateDim, fn, ": 'A' has N = ", s.dstate,
              ", supported 1 <= N <= ", kMaxScanStateDim);
  TORCH_CHECK(!in.A.is_complex(), fn, ": 'A' is complex; the selective scan takes real A");
  check_shape(in.delta, fn, "delta", "(B, D, L)", {s.batch, s.dim, s.seqlen});
  s.b_layout = check_param(in.B, fn, "B", s, &s.n_groups);
  s.c_layout = check_param(in.C, fn, "C", s, &s.n_groups);
  if (in.D.defined()) check_shape(in.D, fn, "D", "(D)", {s.dim});
  if (in.z.defined()) check_shape(in.z, fn, "z", "(B, D, L)", {s.batch, s.dim, s.seqlen});
  if (in.delta_bias.defined()) check_shape(in.delta_bias, fn, "delta_bias", "(D)", {s.dim});
  if (in.initial_state.defined()) {
    check_shape(in.initial_state, fn, "initial_state", "(B, D, N)", {s.batch, s.dim, s.dstate});
  }

  check_dtype(in.u, fn, "u", kInputTypes);
  TORCH_CHECK(in.delta.scalar_type() == in.u.scalar_type(), fn, ": 'delta' has dtype ",
              c10::toString(in.delta.scalar_type()), ", expected the dtype of 'u' (",
              c10::toString(in.u.scalar_type()), ")");
  if (in.z.defined()) {
    TORCH_CHECK(in.z.scalar_type() == in.u.scalar_type(), fn, ": 'z' has dtype ",
                c10::toString(in.z.scalar_type()), ", expected the dtype of 'u' (",
                c10::toString(in.u.scalar_type()), ")");
  }
  for (const auto* p : {&in.B, &in.C}) {
    const char* name = p == &in.B ? "B" : "C";
    TORCH_CHECK(p->scalar_type() == in.u.scalar_type() || p->scalar_type() == at::kFloat, fn,
                ": '", name, "' has dtype ", c10::toString(p->scalar_type()),
                ", expected the dtype of 'u' (", c10::toString(in.u.scalar_type()), ") or Float");
  }
  check_dtype(in.A, fn, "A", kWeightTypes);
  if (in.D.defined()) check_dtype(in.D, fn, "D", kWeightTypes);
  if (in.delta_bias.defined()) check_dtype(in.delta_bias, fn, "delta_bias", kWeightTypes);
  if (in.initial_state.defined()) check_dtype(in.initial_state, fn, "initial_state", kWeightTypes);

  for (const auto& [t, name] : std::initializer_list<std::pair<const at::Tensor*, const char*>>{
           {&in.delta, "delta"}, {&in.A, "A"}, {&in.B, "B"}, {&in.C, "C"}, {&in.D, "D"},
           {&in.z, "z"}, {&in.delta_bias, "delta_bias"}, {&in.initial_state, "initial_state"}}) {
    if (t->defined()) check_same_device(*t, in.u, fn, name, "u");
  }
  return s;
}

bool selective_scan_has_cuda() {
#ifdef SSMKIT_WITH_CUDA
  return true;
#else
  return false;
#endif
}

SelectiveScanOutputs selective_scan(const SelectiveScanInputs& in,
                                    const SelectiveScanOptions& options, ScanBackend backend) {
  if (backend == ScanBackend::kAuto) {
    check_defined(in.u, "selective_scan", "u");
    backend = in.u.is_cuda() ? ScanBackend::kCuda : ScanBackend::kCpu;
  }
  switch (backend) {
    case ScanBackend::kReference:
      return selective_scan_reference(in, options);
    case ScanBackend::kCpu:
      return selective_scan_cpu(in, options);
    case ScanBackend::kCuda:
#ifdef SSMKIT_WITH_CUDA
      return selective_scan_cuda(in, options);
#else
      TORCH_CHECK(false,
                  "selective_scan: CUDA tensors given, but this ssmkit build has no CUDA kernels "
                  "(rebuild with a CUDA LibTorch and nvcc, SSMKIT_CUDA=AUTO or ON)");
#endif
    case ScanBackend::kAuto:
      break;
  }
  TORCH_CHECK(false, "selective_scan: unknown backend");
}

}  // namespace ssmkit::ops
