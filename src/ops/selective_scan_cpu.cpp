// The fast CPU selective scan's public entry: the custom autograd function around the forward and
// backward passes, and the choice of instruction set.
#include "ssmkit/ops/selective_scan_cpu.h"

#include <torch/torch.h>

#include <array>
#include <atomic>
#include <iterator>

#include "selective_scan_cpu_kernel.h"
#include "selective_scan_cpu_passes.h"

namespace ssmkit::ops {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr const char* kFn = "selective_scan_cpu";

// Null until set_selective_scan_cpu_isa: the fastest set.
std::atomic<const scan_cpu::KernelSet*> g_chosen_kernels{nullptr};

const scan_cpu::KernelSet& kernels() {
  static const scan_cpu::KernelSet* const fastest = scan_cpu::runnable_kernels().front();
  const scan_cpu::KernelSet* chosen = g_chosen_kernels.load();
  return chosen != nullptr ? *chosen : *fastest;
}

// The kernel sets by index, so the forward pass can record in the autograd context which one it
// used: the backward pass must read the checkpoints with the same state padding.
constexpr const scan_cpu::KernelSet* kAllKernels[] = {
    &scan_cpu::kGenericKernels, &scan_cpu::kAvx2Kernels, &scan_cpu::kAvx512Kernels};

int64_t index_of(const scan_cpu::KernelSet& set) {
  for (size_t i = 0; i < std::size(kAllKernels); ++i) {
    if (kAllKernels[i] == &set) return static_cast<int64_t>(i);
  }
  TORCH_CHECK(false, "selective_scan_cpu: unknown kernel set");
}

// The inputs of SelectiveScanInputs in a fixed order. The autograd function receives only the
// defined ones (an undefined tensor cannot be an autograd input) plus which slots they fill.
enum Slot { kU, kDelta, kA, kB, kC, kD, kZ, kDeltaBias, kInitialState, kNumSlots };
using Slots = std::array<at::Tensor, kNumSlots>;

Slots slots_of(const SelectiveScanInputs& in) {
  return {in.u, in.delta, in.A, in.B, in.C, in.D, in.z, in.delta_bias, in.initial_state};
}

SelectiveScanInputs inputs_of(const Slots& s) {
  SelectiveScanInputs in;
  in.u = s[kU];
  in.delta = s[kDelta];
  in.A = s[kA];
  in.B = s[kB];
  in.C = s[kC];
  in.D = s[kD];
  in.z = s[kZ];
  in.delta_bias = s[kDeltaBias];
  in.initial_state = s[kInitialState];
  return in;
}

// Bit i set: slot i is defined.
int64_t presence_mask(const Slots& s) {
  int64_t mask = 0;
  for (int i = 0; i < kNumSlots; ++i) {
    if (s[i].defined()) mask |= int64_t{1} << i;
  }
  return mask;
}

Slots unpack(at::TensorList given, int64_t mask) {
  Slots s;
  size_t next = 0;
  for (int i = 0; i < kNumSlots; ++i) {
    if ((mask >> i) & 1) s[i] = given[next++];
  }
  return s;
}

// The gradient of `input` in its dtype; both have the input's shape.
at::Tensor cast_like(const at::Tensor& grad, const at::Tensor& input) {
  return grad.defined() ? grad.to(input.scalar_type()) : grad;
}

// Non-tensor arguments of the autograd function.
struct ScanCall {
  int64_t mask = 0;
  bool delta_softplus = false;
};

class SelectiveScanCpuFunction : public torch::autograd::Function<SelectiveScanCpuFunction> {
 public:
  // Returns {y (B, D, L) in u's dtype, last state (B, D, N) in the compute dtype}.
  static variable_list forward(AutogradContext* ctx, at::TensorList given, const ScanCall& call) {
    const SelectiveScanInputs in = inputs_of(unpack(given, call.mask));
    const SelectiveScanShape shape = check_selective_scan_inputs(in, kFn);
    const scan_cpu::KernelSet& loops = kernels();
    scan_cpu::ForwardPass pass =
        scan_cpu::run_forward(loops, in, shape, call.delta_softplus, /*keep=*/true);
    ctx->save_for_backward(given.vec());
    ctx->saved_data["checkpoints"] = pass.checkpoints;
    ctx->saved_data["mask"] = call.mask;
    ctx->saved_data["kernels"] = index_of(loops);
    ctx->saved_data["delta_softplus"] = call.delta_softplus;
    ctx->set_materialize_grads(false);
    return {pass.y.to(in.u.scalar_type()), pass.last_state};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    TORCH_CHECK(!at::GradMode::is_enabled(), kFn,
                ": double backward is not supported (the backward pass is hand-written and not "
                "differentiable); call backward without create_graph");
    const int64_t mask = ctx->saved_data["mask"].toInt();
    const Slots s = unpack(ctx->get_saved_variables(), mask);
    const SelectiveScanInputs in = inputs_of(s);
    const SelectiveScanShape shape = check_selective_scan_inputs(in, kFn);
    const scan_cpu::BackwardPass g =
        scan_cpu::run_backward(kernels(), in, shape, ctx->saved_data["delta_softplus"].toBool(),
                               grads[0], grads[1], ctx->saved_data["checkpoints"].toTensor());

    const Slots grad_slots = {g.du,          g.ddelta,        g.dA, g.dB, g.dC, g.dD, g.dz,
                              g.ddelta_bias, g.dinitial_state};
    variable_list out;
    for (int i = 0; i < kNumSlots; ++i) {
      if ((mask >> i) & 1) out.push_back(cast_like(grad_slots[i], s[i]));
    }
    out.emplace_back();  // the ScanCall argument
    return out;
  }
};

}  // namespace

SelectiveScanOutputs selective_scan_cpu(const SelectiveScanInputs& in,
                                        const SelectiveScanOptions& options) {
  const SelectiveScanShape shape = check_selective_scan_inputs(in, kFn);
  TORCH_CHECK(in.u.is_cpu(), kFn, ": needs CPU tensors, 'u' is on ", in.u.device());
  const Slots slots = slots_of(in);
  bool needs_grad = false;
  for (const at::Tensor& t : slots)
    needs_grad |= t.defined() && t.requires_grad();
  needs_grad &= at::GradMode::is_enabled();

  SelectiveScanOutputs out;
  if (!needs_grad) {
    scan_cpu::ForwardPass pass =
        scan_cpu::run_forward(kernels(), in, shape, options.delta_softplus, /*keep=*/false);
    out.y = pass.y.to(in.u.scalar_type());
    if (options.return_last_state) out.last_state = pass.last_state;
    return out;
  }

  std::vector<at::Tensor> given;
  for (const at::Tensor& t : slots) {
    if (t.defined()) given.push_back(t);
  }
  ScanCall call;
  call.mask = presence_mask(slots);
  call.delta_softplus = options.delta_softplus;
  variable_list results = SelectiveScanCpuFunction::apply(at::TensorList(given), call);
  out.y = results[0];
  if (options.return_last_state) out.last_state = results[1];
  return out;
}

std::vector<std::string> selective_scan_cpu_isas() {
  std::vector<std::string> names;
  for (const scan_cpu::KernelSet* set : scan_cpu::runnable_kernels())
    names.emplace_back(set->isa);
  return names;
}

std::string selective_scan_cpu_isa() {
  return kernels().isa;
}

void set_selective_scan_cpu_isa(const std::string& isa) {
  for (const scan_cpu::KernelSet* set : scan_cpu::runnable_kernels()) {
    if (isa == set->isa) {
      g_chosen_kernels.store(set);
      return;
    }
  }
  TORCH_CHECK(false, "set_selective_scan_cpu_isa: '", isa,
              "' is not an instruction set this build and CPU run (",
              c10::Join(", ", selective_scan_cpu_isas()), ")");
}

}  // namespace ssmkit::ops
