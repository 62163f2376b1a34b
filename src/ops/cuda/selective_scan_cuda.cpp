// The CUDA selective scan: validates the tensors, fills the kernels' params, launches them on the
// current stream of the tensors' device, sums the kernels' float32 partials, and wires forward and
// backward into autograd.
#include "ssmkit/ops/selective_scan_cuda.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/util/accumulate.h>
#include <c10/util/strides.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <utility>
#include <vector>

#include "kernel_dtype.h"
#include "selective_scan/selective_scan_launch.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

namespace k = ssmkit::kernels;

constexpr const char* kFn = "selective_scan_cuda";
// Largest grid y dimension (the batch runs along it).
constexpr int64_t kMaxBatch = 65535;
// As torch's softplus (and the kernels): above this, softplus(x) = x.
constexpr double kSoftplusThreshold = 20.0;

std::atomic<bool> g_poison_outputs{false};
std::atomic<int> g_states_per_thread{0};
std::atomic<int> g_fwd_pipelined{-1};

at::Tensor new_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
  at::Tensor t = at::empty(sizes, options);
  if (g_poison_outputs.load(std::memory_order_relaxed)) {
    t.fill_(std::numeric_limits<double>::quiet_NaN());
  }
  return t;
}

// A contiguous tensor of `sizes` over `buffer`'s storage from element `offset` on. Not a view in
// autograd's sense (set_ rather than narrow): the final state goes back to the caller, who may
// modify it in place.
at::Tensor storage_view(const at::Tensor& buffer, int64_t offset, at::IntArrayRef sizes) {
  at::Tensor t = at::empty({0}, buffer.options());
  t.set_(buffer.storage(), buffer.storage_offset() + offset, sizes, c10::contiguous_strides(sizes));
  return t;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

at::Tensor last_dim_contiguous(const at::Tensor& t) {
  return t.stride(-1) == 1 ? t : t.contiguous();
}

// Validated inputs in the layouts the kernels read.
struct ScanCall {
  SelectiveScanShape shape;
  at::Tensor u, delta, z;    // (B, D, L), last dimension contiguous; z may be undefined
  at::Tensor A;              // (D, N) float32, contiguous
  at::Tensor B, C;           // input-dependent: (B, N, L) / (B, G, N, L), last dim contiguous;
                             // fixed: (D, N) float32 contiguous
  at::Tensor D, delta_bias;  // (D) float32 contiguous, or undefined
  at::Tensor initial_state;  // (B, D, N) float32 contiguous, or undefined
  at::ScalarType B_dtype, C_dtype;  // as given (gradients come back in these)
  k::ScanDtype input_dtype = k::ScanDtype::kFloat32;
  k::ScanDtype bc_dtype = k::ScanDtype::kFloat32;
  int64_t tiles_per_group = 0;
  int64_t n_chunks = 0;
  int64_t n_slabs = 0;

  bool var_B() const { return shape.b_layout != ScanParamLayout::kFixed; }
  bool var_C() const { return shape.c_layout != ScanParamLayout::kFixed; }
  bool empty() const { return shape.batch == 0 || shape.dim == 0; }
};

ScanCall prepare(const SelectiveScanInputs& in) {
  ScanCall c;
  c.shape = check_selective_scan_inputs(in, kFn);
  const SelectiveScanShape& s = c.shape;
  TORCH_CHECK(in.u.is_cuda(), kFn, ": 'u' is on ", in.u.device(),
              "; the CUDA selective scan takes CUDA tensors");
  const at::ScalarType dtype = in.u.scalar_type();
  TORCH_CHECK(
      dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf, kFn, ": 'u' has dtype ",
      c10::toString(dtype),
      "; the CUDA kernel supports Float, BFloat16 and Half inputs (Double runs on the CPU)");
  for (const auto& [t, name] : std::initializer_list<std::pair<const at::Tensor*, const char*>>{
           {&in.A, "A"},
           {&in.D, "D"},
           {&in.delta_bias, "delta_bias"},
           {&in.initial_state, "initial_state"}}) {
    TORCH_CHECK(!t->defined() || t->scalar_type() == at::kFloat, kFn, ": '", name, "' has dtype ",
                c10::toString(t->scalar_type()),
                "; the CUDA kernel takes Float weights and states");
  }
  TORCH_CHECK(s.batch <= kMaxBatch, kFn, ": 'u' has batch ", s.batch, ", supported up to ",
              kMaxBatch);
  TORCH_CHECK(s.seqlen <= k::kScanMaxSeqlen, kFn, ": 'u' has length ", s.seqlen,
              ", supported up to ", k::kScanMaxSeqlen);

  c.u = last_dim_contiguous(in.u);
  c.delta = last_dim_contiguous(in.delta);
  if (in.z.defined()) c.z = last_dim_contiguous(in.z);
  c.A = in.A.contiguous();
  if (in.D.defined()) c.D = in.D.contiguous();
  if (in.delta_bias.defined()) c.delta_bias = in.delta_bias.contiguous();
  if (in.initial_state.defined()) c.initial_state = in.initial_state.contiguous();
  c.B_dtype = in.B.scalar_type();
  c.C_dtype = in.C.scalar_type();
  c.B = c.var_B() ? last_dim_contiguous(in.B) : in.B.to(at::kFloat).contiguous();
  c.C = c.var_C() ? last_dim_contiguous(in.C) : in.C.to(at::kFloat).contiguous();
  // Input-dependent B and C share one element type in the kernels: the input dtype or float32.
  if (c.var_B() && c.var_C() && c.B.scalar_type() != c.C.scalar_type()) {
    c.B = c.B.to(at::kFloat);
    c.C = c.C.to(at::kFloat);
  }
  const at::ScalarType bc = c.var_B()   ? c.B.scalar_type()
                            : c.var_C() ? c.C.scalar_type()
                                        : at::kFloat;
  c.input_dtype = kernel_dtype(dtype, kFn);
  c.bc_dtype = kernel_dtype(bc, kFn);
  c.tiles_per_group = ceil_div(s.dim / s.n_groups, k::kScanChannelsPerBlock);
  c.n_chunks = ceil_div(s.seqlen, k::kScanChunk);
  c.n_slabs = ceil_div(s.dstate, k::kScanSlabStates);
  return c;
}

// Strides of input-dependent B or C read as (B, G, N, L); (B, N, L) has group stride 0.
void param_strides(const at::Tensor& t, int64_t* batch, int64_t* group, int64_t* dstate) {
  *batch = t.stride(0);
  *group = t.dim() == 4 ? t.stride(1) : 0;
  *dstate = t.stride(-2);
}

void fill_params(const ScanCall& c, bool delta_softplus, k::SelectiveScanFwdParams* p) {
  const SelectiveScanShape& s = c.shape;
  p->batch = s.batch;
  p->dim = s.dim;
  p->seqlen = s.seqlen;
  p->dstate = s.dstate;
  p->n_groups = s.n_groups;
  p->dim_per_group = s.dim / s.n_groups;
  p->tiles_per_group = c.tiles_per_group;
  p->n_chunks = c.n_chunks;
  p->n_slabs = c.n_slabs;
  p->var_B = c.var_B();
  p->var_C = c.var_C();
  p->delta_softplus = delta_softplus;
  p->states_per_thread = g_states_per_thread.load(std::memory_order_relaxed);
  p->fwd_pipelined = g_fwd_pipelined.load(std::memory_order_relaxed);
  p->u = c.u.data_ptr();
  p->u_batch_stride = c.u.stride(0);
  p->u_dim_stride = c.u.stride(1);
  p->delta = c.delta.data_ptr();
  p->delta_batch_stride = c.delta.stride(0);
  p->delta_dim_stride = c.delta.stride(1);
  if (c.z.defined()) {
    p->z = c.z.data_ptr();
    p->z_batch_stride = c.z.stride(0);
    p->z_dim_stride = c.z.stride(1);
  }
  p->A = c.A.data_ptr<float>();
  p->B = c.B.data_ptr();
  if (c.var_B()) param_strides(c.B, &p->B_batch_stride, &p->B_group_stride, &p->B_dstate_stride);
  p->C = c.C.data_ptr();
  if (c.var_C()) param_strides(c.C, &p->C_batch_stride, &p->C_group_stride, &p->C_dstate_stride);
  p->D = c.D.defined() ? c.D.data_ptr<float>() : nullptr;
  p->delta_bias = c.delta_bias.defined() ? c.delta_bias.data_ptr<float>() : nullptr;
  p->initial_state = c.initial_state.defined() ? c.initial_state.data_ptr<float>() : nullptr;
}

struct ForwardOutputs {
  at::Tensor y;            // (B, D, L) input dtype
  at::Tensor last_state;   // (B, D, N) float32
  at::Tensor checkpoints;  // (B, max(1, chunks - 1), N, D) float32, or undefined
};

// y from the per-slab partial sums of C x (N > 16).
at::Tensor finish_forward_slabs(const ScanCall& c, const at::Tensor& y_partial) {
  at::Tensor y = y_partial.sum(0);  // (B, D, L)
  if (c.D.defined()) y = y + c.D.view({1, -1, 1}) * c.u.to(at::kFloat);
  if (c.z.defined()) y = y * at::silu(c.z.to(at::kFloat));
  return y.to(c.u.scalar_type());
}

// keep_last_state: allocate and write the final state (an inference call that does not return
// it skips one allocation, host time before the launch).
ForwardOutputs run_forward(const ScanCall& c, bool delta_softplus, bool keep_checkpoints,
                           bool keep_last_state) {
  const SelectiveScanShape& s = c.shape;
  const c10::cuda::CUDAGuard guard(c.u.device());
  const at::TensorOptions f32 = c.u.options().dtype(at::kFloat);
  ForwardOutputs out;
  // The checkpoints and the final state share one allocation: each allocation before the launch
  // is host time the GPU waits for on an idle device. The kernel takes raw pointers; the two
  // tensors over that storage are made after the launch.
  const std::vector<int64_t> checkpoint_sizes = {s.batch, std::max<int64_t>(1, c.n_chunks - 1),
                                                 s.dstate, s.dim};
  const int64_t checkpoint_count = keep_checkpoints ? c10::multiply_integers(checkpoint_sizes) : 0;
  const int64_t state_count = keep_last_state ? s.batch * s.dim * s.dstate : 0;
  at::Tensor states;  // (checkpoint_count + state_count) float32
  if (checkpoint_count + state_count > 0) {
    states = new_output({checkpoint_count + state_count}, f32);
  }
  auto finish_states = [&] {
    if (keep_checkpoints) out.checkpoints = storage_view(states, 0, checkpoint_sizes);
    if (keep_last_state) {
      out.last_state = storage_view(states, checkpoint_count, {s.batch, s.dim, s.dstate});
    }
  };
  at::Tensor y_partial;  // (slabs, B, D, L)
  if (c.n_slabs == 1) {
    out.y = new_output({s.batch, s.dim, s.seqlen}, c.u.options());
  } else {
    y_partial = new_output({c.n_slabs, s.batch, s.dim, s.seqlen}, f32);
  }
  if (c.empty()) {
    if (!out.y.defined()) out.y = at::empty({s.batch, s.dim, s.seqlen}, c.u.options());
    finish_states();
    return out;
  }

  k::SelectiveScanFwdParams p;
  fill_params(c, delta_softplus, &p);
  p.y = c.n_slabs == 1 ? out.y.data_ptr() : nullptr;
  p.y_partial = c.n_slabs == 1 ? nullptr : y_partial.data_ptr<float>();
  float* const states_data = states.defined() ? states.data_ptr<float>() : nullptr;
  p.checkpoints = keep_checkpoints ? states_data : nullptr;
  p.last_state = keep_last_state ? states_data + checkpoint_count : nullptr;
  C10_CUDA_CHECK(
      k::launch_selective_scan_fwd(p, c.input_dtype, c.bc_dtype, at::cuda::getCurrentCUDAStream()));
  finish_states();
  if (c.n_slabs > 1) out.y = finish_forward_slabs(c, y_partial);
  return out;
}

struct Gradients {
  at::Tensor du, ddelta, dz;   // (B, D, L) input dtype
  at::Tensor dA;               // (D, N) float32
  at::Tensor dB, dC;           // shape and dtype of B, C
  at::Tensor dD, ddelta_bias;  // (D) float32
  at::Tensor dinitial_state;   // (B, D, N) float32
};

// du, ddelta, dz, dD and ddelta_bias from the per-slab partial sums over states (N > 16).
void finish_backward_slabs(const ScanCall& c, bool delta_softplus, const at::Tensor& dout,
                           const at::Tensor& P_partial, const at::Tensor& Q_partial,
                           const at::Tensor& y_partial, Gradients* g) {
  const at::Tensor u = c.u.to(at::kFloat);  // (B, D, L)
  at::Tensor v = c.delta.to(at::kFloat);    // (B, D, L) delta + bias
  if (c.delta_bias.defined()) v = v + c.delta_bias.view({1, -1, 1});
  const at::Tensor dt = delta_softplus ? at::softplus(v, 1, kSoftplusThreshold) : v;
  const at::Tensor P = P_partial.sum(0);  // (B, D, L)
  const at::Tensor Q = Q_partial.sum(0);  // (B, D, L)
  const at::Tensor dout_f = dout.to(at::kFloat);
  at::Tensor dy = dout_f;  // (B, D, L) gradient of the ungated y
  at::Tensor zf, sz;
  if (c.z.defined()) {
    zf = c.z.to(at::kFloat);
    sz = at::sigmoid(zf);
    dy = dout_f * zf * sz;
  }
  at::Tensor du = dt * P;
  if (c.D.defined()) du = du + c.D.view({1, -1, 1}) * dy;
  at::Tensor ddelta = u * P + Q;
  if (delta_softplus) ddelta = ddelta * at::sigmoid(v);
  g->du = du.to(c.u.scalar_type());
  g->ddelta = ddelta.to(c.u.scalar_type());
  if (c.D.defined()) g->dD = (dy * u).sum(0).sum(1);  // over batch and time
  if (c.delta_bias.defined()) g->ddelta_bias = ddelta.sum(0).sum(1);
  if (c.z.defined()) {
    at::Tensor y = y_partial.sum(0);
    if (c.D.defined()) y = y + c.D.view({1, -1, 1}) * u;
    g->dz = (dout_f * y * sz * (1 + zf * (1 - sz))).to(c.u.scalar_type());
  }
}

// Gathers the sums of the backward's float32 partials, then does them all in one launch. Each call
// returns the tensor the launch fills: of `dtype` when the kernel writes that type, float32
// otherwise (the caller casts after launch()). The partials are raw float32 arrays, row-major
// with the sizes given (they share one allocation, see PartialsWorkspace).
class PartialSums {
 public:
  explicit PartialSums(const at::TensorOptions& f32) : f32_(f32) {}
  // (B, rest...) -> (rest...): the sum over batch.
  at::Tensor over_batch(const float* partial, at::IntArrayRef sizes, at::ScalarType dtype) {
    const at::IntArrayRef rest = sizes.slice(1);
    const int64_t count = c10::multiply_integers(rest);
    return add(partial, rest, dtype, /*inner=*/count, /*outer_stride=*/0, sizes[0], count);
  }
  // (B, G, tiles, N, L) -> `shape`: the sum over channel tiles into (B, G, N, L), or over groups
  // and tiles into (B, N, L) (an ungrouped B next to a grouped C). Either way the summed
  // dimensions sit together between the leading ones and (N, L).
  at::Tensor over_tiles(const float* partial, at::IntArrayRef sizes, at::IntArrayRef shape,
                        at::ScalarType dtype) {
    const int64_t inner = sizes[3] * sizes[4];
    const int64_t outputs = c10::multiply_integers(shape);
    const int64_t terms = outputs == 0 ? 0 : c10::multiply_integers(sizes) / outputs;
    return add(partial, shape, dtype, inner, terms * inner, terms, inner);
  }
  void launch() {
    C10_CUDA_CHECK(k::selective_scan_partial_sums(p_, at::cuda::getCurrentCUDAStream()));
  }

 private:
  at::Tensor add(const float* partial, at::IntArrayRef shape, at::ScalarType dtype, int64_t inner,
                 int64_t outer_stride, int64_t terms, int64_t term_stride) {
    TORCH_INTERNAL_ASSERT(p_.n_sums < k::kMaxScanPartialSums);
    const bool kernel_writes = dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf;
    at::Tensor out = at::empty(shape, f32_.dtype(kernel_writes ? dtype : at::kFloat));
    k::ScanPartialSum& sum = p_.sums[p_.n_sums++];
    sum.src = partial;
    sum.dst = out.data_ptr();
    sum.dst_dtype = kernel_dtype(out.scalar_type(), kFn);
    sum.count = out.numel();
    sum.inner = std::max<int64_t>(1, inner);
    sum.outer_stride = outer_stride;
    sum.terms = terms;
    sum.term_stride = term_stride;
    return out;
  }
  at::TensorOptions f32_;
  k::ScanPartialSumsParams p_;
};

// The backward kernel's float32 partials (of dA, dB, dC, dD, ddelta_bias) carved out of one
// allocation: they live only until the sums launch, and every allocation is host time before the
// backward kernel starts.
class PartialsWorkspace {
 public:
  // Reserves a partial of these sizes (none if `wanted` is false); returns its slot.
  int reserve(std::vector<int64_t> sizes, bool wanted = true) {
    const int slot = static_cast<int>(sizes_.size());
    offsets_.push_back(total_);
    if (wanted) total_ += c10::multiply_integers(sizes);
    wanted_.push_back(wanted);
    sizes_.push_back(std::move(sizes));
    return slot;
  }
  void allocate(const at::TensorOptions& f32) {
    buffer_ = new_output({std::max<int64_t>(1, total_)}, f32);
  }
  float* data(int slot) const {
    return wanted_[slot] ? buffer_.data_ptr<float>() + offsets_[slot] : nullptr;
  }
  at::IntArrayRef sizes(int slot) const { return sizes_[slot]; }

 private:
  std::vector<std::vector<int64_t>> sizes_;
  std::vector<int64_t> offsets_;
  std::vector<bool> wanted_;
  int64_t total_ = 0;
  at::Tensor buffer_;
};

Gradients run_backward(const ScanCall& c, bool delta_softplus, const at::Tensor& checkpoints,
                       const at::Tensor& dout_in, const at::Tensor& dlast_in) {
  const SelectiveScanShape& s = c.shape;
  const c10::cuda::CUDAGuard guard(c.u.device());
  const at::TensorOptions f32 = c.u.options().dtype(at::kFloat);
  const at::TensorOptions in_opts = c.u.options();
  const bool fused = c.n_slabs == 1;
  Gradients g;
  if (c.empty()) {
    g.du = at::zeros_like(c.u);
    g.ddelta = at::zeros_like(c.delta);
    if (c.z.defined()) g.dz = at::zeros_like(c.z);
    g.dA = at::zeros_like(c.A);
    g.dB = at::zeros(c.B.sizes(), c.B.options().dtype(c.B_dtype));
    g.dC = at::zeros(c.C.sizes(), c.C.options().dtype(c.C_dtype));
    if (c.D.defined()) g.dD = at::zeros_like(c.D);
    if (c.delta_bias.defined()) g.ddelta_bias = at::zeros_like(c.delta_bias);
    if (c.initial_state.defined()) g.dinitial_state = at::zeros_like(c.initial_state);
    return g;
  }
  const at::Tensor dout = last_dim_contiguous(dout_in.to(c.u.scalar_type()));  // (B, D, L)
  at::Tensor dlast;                                                            // (B, D, N)
  if (dlast_in.defined()) dlast = dlast_in.to(at::kFloat).contiguous();

  const int64_t L = s.seqlen;
  auto param_partial_sizes = [&](bool var) -> std::vector<int64_t> {
    if (var) return {s.batch, s.n_groups, c.tiles_per_group, s.dstate, L};
    return {s.batch, s.dim, s.dstate};
  };
  PartialsWorkspace partials;
  const int dA_slot = partials.reserve({s.batch, s.dim, s.dstate});
  const int dB_slot = partials.reserve(param_partial_sizes(c.var_B()));
  const int dC_slot = partials.reserve(param_partial_sizes(c.var_C()));
  const int dD_slot = partials.reserve({s.batch, s.dim}, fused && c.D.defined());
  const int dbias_slot = partials.reserve({s.batch, s.dim}, fused && c.delta_bias.defined());
  partials.allocate(f32);
  if (c.initial_state.defined()) g.dinitial_state = new_output({s.batch, s.dim, s.dstate}, f32);
  at::Tensor P_partial, Q_partial, y_partial;
  if (fused) {
    g.du = new_output({s.batch, s.dim, L}, in_opts);
    g.ddelta = new_output({s.batch, s.dim, L}, in_opts);
    if (c.z.defined()) g.dz = new_output({s.batch, s.dim, L}, in_opts);
  } else {
    P_partial = new_output({c.n_slabs, s.batch, s.dim, L}, f32);
    Q_partial = new_output({c.n_slabs, s.batch, s.dim, L}, f32);
    if (c.z.defined()) y_partial = new_output({c.n_slabs, s.batch, s.dim, L}, f32);
  }

  k::SelectiveScanBwdParams p;
  fill_params(c, delta_softplus, &p);
  p.checkpoints = checkpoints.data_ptr<float>();
  p.dout = dout.data_ptr();
  p.dout_batch_stride = dout.stride(0);
  p.dout_dim_stride = dout.stride(1);
  p.dlast_state = dlast.defined() ? dlast.data_ptr<float>() : nullptr;
  auto ptr = [](const at::Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; };
  auto fptr = [](const at::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; };
  p.du = ptr(g.du);
  p.ddelta = ptr(g.ddelta);
  p.dz = ptr(g.dz);
  p.dA_partial = partials.data(dA_slot);
  p.dB_partial = partials.data(dB_slot);
  p.dC_partial = partials.data(dC_slot);
  p.dD_partial = partials.data(dD_slot);
  p.ddelta_bias_partial = partials.data(dbias_slot);
  p.dinitial_state = fptr(g.dinitial_state);
  p.P_partial = fptr(P_partial);
  p.Q_partial = fptr(Q_partial);
  p.y_recomputed_partial = fptr(y_partial);
  C10_CUDA_CHECK(
      k::launch_selective_scan_bwd(p, c.input_dtype, c.bc_dtype, at::cuda::getCurrentCUDAStream()));

  PartialSums sums(f32);
  const auto over_batch = [&](int slot, at::ScalarType dtype) {
    return sums.over_batch(partials.data(slot), partials.sizes(slot), dtype);
  };
  const auto param_sum = [&](int slot, bool var, const at::Tensor& param, at::ScalarType dtype) {
    return var ? sums.over_tiles(partials.data(slot), partials.sizes(slot), param.sizes(), dtype)
               : over_batch(slot, dtype);
  };
  g.dA = over_batch(dA_slot, at::kFloat);
  g.dB = param_sum(dB_slot, c.var_B(), c.B, c.B_dtype);
  g.dC = param_sum(dC_slot, c.var_C(), c.C, c.C_dtype);
  if (fused && c.D.defined()) g.dD = over_batch(dD_slot, at::kFloat);
  if (fused && c.delta_bias.defined()) g.ddelta_bias = over_batch(dbias_slot, at::kFloat);
  sums.launch();
  g.dB = g.dB.to(c.B_dtype);  // no-ops unless the kernel could not write that dtype
  g.dC = g.dC.to(c.C_dtype);
  if (!fused) {
    finish_backward_slabs(c, delta_softplus, dout, P_partial, Q_partial, y_partial, &g);
  }
  return g;
}

// Autograd's custom functions take defined tensors only: absent optional inputs (D, z, delta_bias,
// initial_state) travel as empty placeholders, with a bit each in `present` saying which are real.
constexpr int64_t kHasD = 1;
constexpr int64_t kHasZ = 2;
constexpr int64_t kHasDeltaBias = 4;
constexpr int64_t kHasInitialState = 8;

SelectiveScanInputs make_inputs(const at::Tensor& u, const at::Tensor& delta, const at::Tensor& A,
                                const at::Tensor& B, const at::Tensor& C, const at::Tensor& D,
                                const at::Tensor& z, const at::Tensor& delta_bias,
                                const at::Tensor& initial_state, int64_t present) {
  SelectiveScanInputs in;
  in.u = u;
  in.delta = delta;
  in.A = A;
  in.B = B;
  in.C = C;
  if (present & kHasD) in.D = D;
  if (present & kHasZ) in.z = z;
  if (present & kHasDeltaBias) in.delta_bias = delta_bias;
  if (present & kHasInitialState) in.initial_state = initial_state;
  return in;
}

// Autograd node: the forward keeps the chunk checkpoints, the backward runs the backward kernel.
// The forward kernel is launched before the node is built (`launched` holds its outputs): the
// node's bookkeeping then overlaps the kernel instead of delaying its start.
class SelectiveScanFunction : public torch::autograd::Function<SelectiveScanFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::Tensor u,
                                                at::Tensor delta, at::Tensor A, at::Tensor B,
                                                at::Tensor C, at::Tensor D, at::Tensor z,
                                                at::Tensor delta_bias, at::Tensor initial_state,
                                                bool delta_softplus, int64_t present,
                                                const ForwardOutputs* launched) {
    const ForwardOutputs& out = *launched;
    // An unused output's gradient stays undefined instead of a tensor of zeros: the backward
    // treats an undefined last-state gradient as zero without reading memory.
    ctx->set_materialize_grads(false);
    ctx->save_for_backward({u, delta, A, B, C, D, z, delta_bias, initial_state});
    ctx->saved_data["checkpoints"] = out.checkpoints;
    ctx->saved_data["delta_softplus"] = delta_softplus;
    ctx->saved_data["present"] = present;
    return {out.y, out.last_state};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const int64_t present = ctx->saved_data["present"].toInt();
    const ScanCall c = prepare(make_inputs(saved[0], saved[1], saved[2], saved[3], saved[4],
                                           saved[5], saved[6], saved[7], saved[8], present));
    const at::Tensor checkpoints = ctx->saved_data["checkpoints"].toTensor();
    const bool delta_softplus = ctx->saved_data["delta_softplus"].toBool();
    at::Tensor dout = grad_outputs[0];  // (B, D, L)
    if (!dout.defined()) dout = at::zeros_like(c.u);
    Gradients g = run_backward(c, delta_softplus, checkpoints, dout, grad_outputs[1]);
    return {g.du,          g.ddelta,         g.dA,         g.dB,         g.dC,        g.dD, g.dz,
            g.ddelta_bias, g.dinitial_state, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

bool any_requires_grad(const SelectiveScanInputs& in) {
  for (const at::Tensor* t :
       {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.z, &in.delta_bias, &in.initial_state}) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

}  // namespace

SelectiveScanOutputs selective_scan_cuda(const SelectiveScanInputs& in,
                                         const SelectiveScanOptions& options) {
  SelectiveScanOutputs out;
  if (at::GradMode::is_enabled() && any_requires_grad(in)) {
    const ScanCall call = prepare(in);
    const ForwardOutputs launched =
        run_forward(call, options.delta_softplus, /*keep_checkpoints=*/true,
                    /*keep_last_state=*/true);
    const at::Tensor absent = at::empty({0}, in.u.options());
    const auto or_absent = [&](const at::Tensor& t) { return t.defined() ? t : absent; };
    const int64_t present = (in.D.defined() ? kHasD : 0) | (in.z.defined() ? kHasZ : 0) |
                            (in.delta_bias.defined() ? kHasDeltaBias : 0) |
                            (in.initial_state.defined() ? kHasInitialState : 0);
    torch::autograd::variable_list r = SelectiveScanFunction::apply(
        in.u, in.delta, in.A, in.B, in.C, or_absent(in.D), or_absent(in.z),
        or_absent(in.delta_bias), or_absent(in.initial_state), options.delta_softplus, present,
        &launched);
    out.y = r[0];
    if (options.return_last_state) out.last_state = r[1];
  } else {
    ForwardOutputs r = run_forward(prepare(in), options.delta_softplus, /*keep_checkpoints=*/false,
                                   options.return_last_state);
    out.y = r.y;
    if (options.return_last_state) out.last_state = r.last_state;
  }
  return out;
}

void set_selective_scan_cuda_poison_outputs(bool enabled) {
  g_poison_outputs.store(enabled, std::memory_order_relaxed);
}

void set_selective_scan_cuda_states_per_thread(int states) {
  TORCH_CHECK(states == 0 || states == 2 || states == 4,
              "set_selective_scan_cuda_states_per_thread: ", states, " given, expected 0, 2 or 4");
  g_states_per_thread.store(states, std::memory_order_relaxed);
}

void set_selective_scan_cuda_forward_pipelined(int pipelined) {
  TORCH_CHECK(pipelined >= -1 && pipelined <= 1,
              "set_selective_scan_cuda_forward_pipelined: ", pipelined,
              " given, expected -1, 0 or 1");
  g_fwd_pipelined.store(pipelined, std::memory_order_relaxed);
}

}  // namespace ssmkit::ops
