// The forward and backward passes of the fast CPU selective scan on tensors: inputs converted and
// padded for the loops, work split over threads, per-task gradient buffers summed.
#include "selective_scan_cpu_passes.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <vector>

namespace ssmkit::ops::scan_cpu {
namespace {

// Lane-steps (state lanes x time steps) below which a piece of work is not worth a thread.
constexpr int64_t kMinParallelWork = int64_t{1} << 15;

// Backward tasks per thread: a few more tasks than threads let a thread that started late or was
// preempted leave its share to the others (each task has private gradient buffers, so not many).
constexpr int64_t kTasksPerThread = 4;

// Calls worker(i) for every i in [0, n) on LibTorch's intra-op threads, each thread taking the next
// index when it is free rather than a fixed share: on a busy machine a thread that starts late or
// is preempted then delays the call by one item, not by its whole share. make_worker() runs once
// per thread and returns that thread's worker, which owns the thread's buffers.
template <typename MakeWorker>
void for_each_shared(int64_t n, const MakeWorker& make_worker) {
  std::atomic<int64_t> next{0};
  const int64_t threads = std::min<int64_t>(n, at::get_num_threads());
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
    auto worker = make_worker();
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1))
      worker(i);
  });
}

at::ScalarType compute_type(const at::Tensor& u) {  // (B, D, L)
  return u.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

int64_t padded(int64_t dstate, int64_t block) {
  return (dstate + block - 1) / block * block;
}

int64_t n_chunks(int64_t seqlen) {
  return (seqlen + kChunkLength - 1) / kChunkLength;
}

// `t` as a contiguous tensor of `type` whose last dimension is zero-padded to `width`.
at::Tensor pad_last(const at::Tensor& t,  // (..., n), any leading dimensions
                    int64_t width, at::ScalarType type) {
  if (t.size(-1) == width) return t.to(type).contiguous();
  std::vector<int64_t> sizes = t.sizes().vec();
  sizes.back() = width;
  at::Tensor out = torch::zeros(sizes, t.options().dtype(type));
  out.narrow(-1, 0, t.size(-1)).copy_(t);
  return out;
}

// B or C with time before state, so one time step's states are contiguous:
// (D, N) -> (D, Np), (B, N, L) -> (B, L, Np), (B, G, N, L) -> (B, G, L, Np).
at::Tensor time_major(const at::Tensor& p,  // (D, N) | (B, N, L) | (B, G, N, L)
                      ScanParamLayout layout, int64_t width, at::ScalarType type) {
  return pad_last(layout == ScanParamLayout::kFixed ? p : p.transpose(-1, -2), width, type);
}

// The inverse of time_major for a gradient: padding dropped, state before time again.
at::Tensor state_major(const at::Tensor& g,  // (D, Np) | (B, L, Np) | (B, G, L, Np)
                       ScanParamLayout layout, int64_t dstate) {
  at::Tensor out = g.narrow(-1, 0, dstate);
  if (layout != ScanParamLayout::kFixed) out = out.transpose(-1, -2);
  return out.contiguous();
}

// Shape of a time-major B or C (or gradient buffer) holding `rows` batches.
std::vector<int64_t> time_major_shape(ScanParamLayout layout, const SelectiveScanShape& s,
                                      int64_t rows, int64_t width) {
  switch (layout) {
    case ScanParamLayout::kFixed:
      return {s.dim, width};
    case ScanParamLayout::kVariable:
      return {rows, s.seqlen, width};
    case ScanParamLayout::kGrouped:
      return {rows, s.n_groups, s.seqlen, width};
  }
  TORCH_CHECK(false, "selective_scan_cpu: unknown parameter layout");
}

template <typename T>
ParamRows<T> rows_of(T* data, ScanParamLayout layout, const SelectiveScanShape& s, int64_t width,
                     int64_t first_batch) {
  ParamRows<T> rows;
  rows.data = data;
  rows.first_batch = first_batch;
  switch (layout) {
    case ScanParamLayout::kFixed:
      rows.channel_stride = width;
      break;
    case ScanParamLayout::kVariable:
      rows.batch_stride = s.seqlen * width;
      rows.time_stride = width;
      break;
    case ScanParamLayout::kGrouped:
      rows.batch_stride = s.n_groups * s.seqlen * width;
      rows.group_stride = s.seqlen * width;
      rows.time_stride = width;
      break;
  }
  return rows;
}

template <typename T>
T* data_or_null(const at::Tensor& t) {  // any shape, contiguous, or undefined
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

at::Tensor converted(const at::Tensor& t,  // any shape, or undefined
                     at::ScalarType type) {
  return t.defined() ? t.to(type).contiguous() : at::Tensor();
}

// The inputs as the loops read them; owns the tensors a ScanProblem points into.
struct PreparedInputs {
  const SelectiveScanShape& shape;
  int64_t width;  // padded N
  at::Tensor u, delta, A, B, C, D, z, delta_bias, initial_state;

  PreparedInputs(const SelectiveScanInputs& in, const SelectiveScanShape& s, int64_t state_block)
      : shape(s), width(padded(s.dstate, state_block)) {
    const at::ScalarType type = compute_type(in.u);
    u = converted(in.u, type);
    delta = converted(in.delta, type);
    A = pad_last(in.A, width, type);
    B = time_major(in.B, s.b_layout, width, type);
    C = time_major(in.C, s.c_layout, width, type);
    D = converted(in.D, type);
    z = converted(in.z, type);
    delta_bias = converted(in.delta_bias, type);
    initial_state = converted(in.initial_state, type);
  }

  template <typename T>
  ScanProblem<T> problem(bool delta_softplus) const {
    ScanProblem<T> p;
    p.batch = shape.batch;
    p.dim = shape.dim;
    p.seqlen = shape.seqlen;
    p.dstate = shape.dstate;
    p.padded_dstate = width;
    p.channels_per_group = shape.dim / shape.n_groups;
    p.n_chunks = n_chunks(shape.seqlen);
    p.delta_softplus = delta_softplus;
    p.u = u.data_ptr<T>();
    p.delta = delta.data_ptr<T>();
    p.A = A.data_ptr<T>();
    p.B = rows_of<const T>(B.data_ptr<T>(), shape.b_layout, shape, width, 0);
    p.C = rows_of<const T>(C.data_ptr<T>(), shape.c_layout, shape, width, 0);
    p.D = data_or_null<T>(D);
    p.z = data_or_null<T>(z);
    p.delta_bias = data_or_null<T>(delta_bias);
    p.initial_state = data_or_null<T>(initial_state);
    return p;
  }
};

template <typename T>
ForwardPass forward_typed(ForwardFn<T> loops, const PreparedInputs& prep, bool delta_softplus,
                          bool keep_checkpoints) {
  const SelectiveScanShape& s = prep.shape;
  const ScanProblem<T> problem = prep.problem<T>(delta_softplus);
  const auto options = prep.u.options();
  ForwardPass out;
  out.y = torch::empty({s.batch, s.dim, s.seqlen}, options);
  out.last_state = torch::empty({s.batch, s.dim, s.dstate}, options);
  if (keep_checkpoints) {
    out.checkpoints = torch::empty({s.batch, s.dim, problem.n_chunks, prep.width}, options);
  }
  ForwardResults<T> results;
  results.y = out.y.data_ptr<T>();
  results.last_state = out.last_state.data_ptr<T>();
  results.checkpoints = data_or_null<T>(out.checkpoints);
  const int64_t channels = s.batch * s.dim;
  const int64_t block = std::max<int64_t>(1, kMinParallelWork / (s.seqlen * prep.width));
  for_each_shared((channels + block - 1) / block, [&] {
    return
        [&](int64_t i) { loops(problem, results, i * block, std::min(channels, (i + 1) * block)); };
  });
  return out;
}

// Sums per-task buffers of a B or C gradient (task i holds batches from first_batch[i]) into one
// time-major gradient.
at::Tensor sum_param_parts(const std::vector<at::Tensor>& parts,  // (D, Np) | (rows, [G,] L, Np)
                           const std::vector<int64_t>& first_batch, ScanParamLayout layout,
                           const SelectiveScanShape& s, int64_t width,
                           const at::TensorOptions& options) {
  at::Tensor total = torch::zeros(time_major_shape(layout, s, s.batch, width), options);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (layout == ScanParamLayout::kFixed) {
      total.add_(parts[i]);
    } else {
      total.narrow(0, first_batch[i], parts[i].size(0)).add_(parts[i]);
    }
  }
  return total;
}

template <typename T>
BackwardPass backward_typed(BackwardFn<T> loops, const PreparedInputs& prep, bool delta_softplus,
                            const at::Tensor& grad_y,           // (B, D, L)
                            const at::Tensor& grad_last_state,  // (B, D, N)
                            const at::Tensor& checkpoints) {    // (B, D, chunks, Np)
  const SelectiveScanShape& s = prep.shape;
  const ScanProblem<T> problem = prep.problem<T>(delta_softplus);
  const at::ScalarType type = prep.u.scalar_type();
  const auto options = prep.u.options();
  const int64_t channels = s.batch * s.dim;

  const at::Tensor gy = converted(grad_y, type);
  const at::Tensor glast = converted(grad_last_state, type);
  BackwardSeeds<T> seeds;
  seeds.grad_y = data_or_null<T>(gy);
  seeds.grad_last_state = data_or_null<T>(glast);
  seeds.checkpoints = checkpoints.data_ptr<T>();

  BackwardPass g;
  g.du = torch::empty({s.batch, s.dim, s.seqlen}, options);
  g.ddelta = torch::empty({s.batch, s.dim, s.seqlen}, options);
  if (prep.z.defined()) g.dz = torch::empty({s.batch, s.dim, s.seqlen}, options);
  if (prep.initial_state.defined()) {
    g.dinitial_state = torch::empty({s.batch, s.dim, s.dstate}, options);
  }

  // Each task owns a contiguous range of (batch, channel) pairs and private buffers for the
  // gradients that sum over channels or batches, so no two threads write the same memory and the
  // sums do not depend on which thread ran which task.
  const int64_t work = channels * s.seqlen * prep.width;
  const int64_t max_tasks = std::min<int64_t>(channels, kTasksPerThread * at::get_num_threads());
  const int64_t n_tasks =
      channels == 0 ? 0 : std::clamp<int64_t>(work / kMinParallelWork, 1, max_tasks);
  const at::Tensor dA_parts = torch::zeros({n_tasks, s.dim, prep.width}, options);
  const at::Tensor dD_parts =
      prep.D.defined() ? torch::zeros({n_tasks, s.dim}, options) : at::Tensor();
  const at::Tensor dbias_parts =
      prep.delta_bias.defined() ? torch::zeros({n_tasks, s.dim}, options) : at::Tensor();
  std::vector<at::Tensor> dB_parts(n_tasks);
  std::vector<at::Tensor> dC_parts(n_tasks);
  std::vector<int64_t> first_batch(n_tasks);
  std::vector<int64_t> task_begin(n_tasks + 1, 0);
  std::vector<BackwardResults<T>> results(n_tasks);
  for (int64_t i = 1; i <= n_tasks; ++i)
    task_begin[i] = channels * i / n_tasks;
  for (int64_t i = 0; i < n_tasks; ++i) {
    first_batch[i] = task_begin[i] / s.dim;
    const int64_t rows = (task_begin[i + 1] - 1) / s.dim - first_batch[i] + 1;
    dB_parts[i] = torch::zeros(time_major_shape(s.b_layout, s, rows, prep.width), options);
    dC_parts[i] = torch::zeros(time_major_shape(s.c_layout, s, rows, prep.width), options);
    BackwardResults<T>& r = results[i];
    r.du = g.du.data_ptr<T>();
    r.ddelta = g.ddelta.data_ptr<T>();
    r.dz = data_or_null<T>(g.dz);
    r.dinitial_state = data_or_null<T>(g.dinitial_state);
    r.dA = dA_parts[i].data_ptr<T>();
    r.dD = prep.D.defined() ? dD_parts[i].data_ptr<T>() : nullptr;
    r.ddelta_bias = prep.delta_bias.defined() ? dbias_parts[i].data_ptr<T>() : nullptr;
    r.dB = rows_of<T>(dB_parts[i].data_ptr<T>(), s.b_layout, s, prep.width, first_batch[i]);
    r.dC = rows_of<T>(dC_parts[i].data_ptr<T>(), s.c_layout, s, prep.width, first_batch[i]);
  }

  for_each_shared(n_tasks, [&] {
    return [&, scratch = std::vector<T>(static_cast<size_t>(backward_scratch_size(prep.width)))](
               int64_t i) mutable {
      loops(problem, seeds, results[i], task_begin[i], task_begin[i + 1], scratch.data());
    };
  });

  g.dA = dA_parts.sum(0).narrow(-1, 0, s.dstate).contiguous();
  if (dD_parts.defined()) g.dD = dD_parts.sum(0);
  if (dbias_parts.defined()) g.ddelta_bias = dbias_parts.sum(0);
  g.dB = state_major(sum_param_parts(dB_parts, first_batch, s.b_layout, s, prep.width, options),
                     s.b_layout, s.dstate);
  g.dC = state_major(sum_param_parts(dC_parts, first_batch, s.c_layout, s, prep.width, options),
                     s.c_layout, s.dstate);
  return g;
}

}  // namespace

ForwardPass run_forward(const KernelSet& kernels, const SelectiveScanInputs& in,
                        const SelectiveScanShape& shape, bool delta_softplus,
                        bool keep_checkpoints) {
  const PreparedInputs prep(in, shape, kernels.state_block);
  if (compute_type(in.u) == at::kDouble) {
    return forward_typed<double>(kernels.forward_f64, prep, delta_softplus, keep_checkpoints);
  }
  return forward_typed<float>(kernels.forward_f32, prep, delta_softplus, keep_checkpoints);
}

BackwardPass run_backward(const KernelSet& kernels, const SelectiveScanInputs& in,
                          const SelectiveScanShape& shape, bool delta_softplus,
                          const at::Tensor& grad_y,           // (B, D, L)
                          const at::Tensor& grad_last_state,  // (B, D, N)
                          const at::Tensor& checkpoints) {    // (B, D, chunks, Np)
  const PreparedInputs prep(in, shape, kernels.state_block);
  TORCH_CHECK(checkpoints.defined() && checkpoints.scalar_type() == prep.u.scalar_type() &&
                  checkpoints.sizes() ==
                      at::IntArrayRef({shape.batch, shape.dim, n_chunks(shape.seqlen), prep.width}),
              "selective_scan_cpu: backward without the forward pass's checkpoints");
  if (compute_type(in.u) == at::kDouble) {
    return backward_typed<double>(kernels.backward_f64, prep, delta_softplus, grad_y,
                                  grad_last_state, checkpoints);
  }
  return backward_typed<float>(kernels.backward_f32, prep, delta_softplus, grad_y, grad_last_state,
                               checkpoints);
}

}  // namespace ssmkit::ops::scan_cpu
