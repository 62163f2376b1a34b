// Times ssmkit's CUDA selective scan at the rows of the anchor table (docs: anchors) and prints the
// ratio to the official mamba-ssm kernel measured on the same H200. Forward without autograd
// (inference), forward that keeps checkpoints for autograd, and forward + backward of all inputs.
#ifdef SSMKIT_WITH_CUDA

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/Sleep.h>
#include <cuda_runtime_api.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cxxopts.hpp>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "ssmkit/ops/selective_scan.h"
#include "ssmkit/ops/selective_scan_cuda.h"

namespace {

using ssmkit::ops::SelectiveScanInputs;
using ssmkit::ops::SelectiveScanOptions;

// The official mamba-ssm selective_scan_cuda kernel (built for sm_90) on the same H200: median of
// 20 runs with CUDA events; u, delta (B, D, L); B, C (B, 1, N, L); D and delta_bias; softplus; no
// z.
struct AnchorRow {
  int64_t batch, dim, seqlen, dstate;
  at::ScalarType dtype;
  double forward_ms;
  double forward_backward_ms;
};
const AnchorRow kAnchors[] = {
    {8, 1536, 2048, 16, at::kFloat, 0.840, 2.919},
    {8, 1536, 2048, 16, at::kBFloat16, 0.423, 2.181},
    {16, 1536, 1024, 16, at::kFloat, 0.815, 2.925},
    {16, 1536, 1024, 16, at::kBFloat16, 0.425, 2.162},
    {4, 2048, 8192, 16, at::kFloat, 2.305, 7.737},
    {4, 2048, 8192, 16, at::kBFloat16, 1.127, 5.820},
    {32, 256, 512, 16, at::kFloat, 0.171, 0.546},
    {32, 256, 512, 16, at::kBFloat16, 0.082, 0.372},
};

// Input sets cycled through so that repeated runs read memory, not the 60 MB L2: at least this
// many bytes of inputs in flight.
constexpr double kRotationBytes = 512e6;

void check_cuda(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    std::fprintf(stderr, "bench_selective_scan_cuda: %s: %s\n", what, cudaGetErrorString(err));
    std::exit(1);
  }
}

struct InputSet {
  at::Tensor u, delta, A, B, C, D, delta_bias, dy;
  SelectiveScanInputs inputs() const {
    SelectiveScanInputs in;
    in.u = u;
    in.delta = delta;
    in.A = A;
    in.B = B;
    in.C = C;
    in.D = D;
    in.delta_bias = delta_bias;
    return in;
  }
  std::vector<at::Tensor> leaves() const { return {u, delta, A, B, C, D, delta_bias}; }
};

InputSet make_set(const AnchorRow& r, bool requires_grad) {
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  InputSet s;
  s.u = at::randn({r.batch, r.dim, r.seqlen}, cuda).to(r.dtype);
  s.delta = (at::randn({r.batch, r.dim, r.seqlen}, cuda) * 0.5 - 2.0).to(r.dtype);
  s.A = -at::exp(at::randn({r.dim, r.dstate}, cuda) * 0.5);
  s.B = at::randn({r.batch, 1, r.dstate, r.seqlen}, cuda).to(r.dtype);
  s.C = at::randn({r.batch, 1, r.dstate, r.seqlen}, cuda).to(r.dtype);
  s.D = at::randn({r.dim}, cuda);
  s.delta_bias = at::randn({r.dim}, cuda) * 0.3;
  s.dy = at::randn({r.batch, r.dim, r.seqlen}, cuda).to(r.dtype);
  if (requires_grad) {
    for (at::Tensor* t : {&s.u, &s.delta, &s.A, &s.B, &s.C, &s.D, &s.delta_bias}) {
      t->requires_grad_(true);
    }
  }
  return s;
}

struct Timing {
  double ms = 0;       // median CUDA-event time
  double host_us = 0;  // median CPU time of the call itself
};

// Median over `iters` runs after `warmup` runs, each timed with CUDA events. By default the GPU is
// idle when a run starts, so the host's work before the first launch counts, as it does for a
// caller that waits on the result (this is how the anchors were taken). With `gpu_only`, a spin
// kernel keeps the GPU busy while the host enqueues the run, and the events time the kernels alone
// (as in a training loop whose host runs ahead of the GPU).
Timing median_timing(const std::function<void(int)>& fn, int warmup, int iters, bool gpu_only) {
  // About 1 ms at H200 clocks: longer than the host's work for one fwd+bwd.
  constexpr int64_t kSpinCycles = 2'000'000;
  for (int i = 0; i < warmup; ++i)
    fn(i);
  check_cuda(cudaDeviceSynchronize(), "warm-up");
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "event");
  check_cuda(cudaEventCreate(&stop), "event");
  std::vector<float> times;
  std::vector<double> host;
  for (int i = 0; i < iters; ++i) {
    if (gpu_only) at::cuda::sleep(kSpinCycles);
    check_cuda(cudaEventRecord(start, at::cuda::getCurrentCUDAStream()), "record");
    const auto t0 = std::chrono::steady_clock::now();
    fn(warmup + i);
    host.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    check_cuda(cudaEventRecord(stop, at::cuda::getCurrentCUDAStream()), "record");
    check_cuda(cudaEventSynchronize(stop), "sync");
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "elapsed");
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  const size_t mid = times.size() / 2;
  std::nth_element(times.begin(), times.begin() + mid, times.end());
  std::nth_element(host.begin(), host.begin() + mid, host.end());
  return {times[mid], host[mid]};
}

// Host costs on this machine without the scan: LibTorch's autograd on a trivial graph (one
// multiply and the gradient of its input on a small CUDA tensor), and CUDA allocations from the
// caching allocator. What the scan's calls cost the host beyond these is ssmkit's own set-up.
void print_host_baselines(int warmup, int iters) {
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const at::Tensor x = at::randn({1024}, cuda).requires_grad_(true);
  const at::Tensor dy = at::ones_like(x);
  const Timing autograd = median_timing(
      [&](int) {
        const at::Tensor y = x * 2.0;
        torch::autograd::grad({y}, {x}, {dy});
      },
      warmup, iters, false);
  // One small kernel on an idle GPU: the least any call timed with events can take here (the
  // launch's host time and its start-up latency).
  const at::Tensor small = at::empty({1024}, cuda);
  const Timing one_kernel = median_timing([&](int) { small.zero_(); }, warmup, iters, false);
  constexpr int kAllocations = 8;
  const Timing allocations = median_timing(
      [&](int) {
        for (int i = 0; i < kAllocations; ++i)
          at::empty({1 << 18}, cuda);
      },
      warmup, iters, false);
  std::printf(
      "Host baselines: y = 2 x on 1024 CUDA floats and the gradient of x, %.0f us per call "
      "(events %.3f ms); one small kernel, %.0f us per call (events %.3f ms); %d CUDA "
      "allocations of 1 MB, %.1f us each.\n\n",
      autograd.host_us, autograd.ms, one_kernel.host_us, one_kernel.ms, kAllocations,
      allocations.host_us / kAllocations);
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_selective_scan_cuda",
                       "Times the CUDA selective scan at the anchor rows (official mamba-ssm "
                       "kernel on the same H200) and prints the ratios.");
  cli.add_options()("iters", "timed runs per measurement (median reported)",
                    cxxopts::value<int>()->default_value("30"))(
      "warmup", "untimed runs first", cxxopts::value<int>()->default_value("5"))(
      "row", "only this row of the anchor table (0-based; -1: all)",
      cxxopts::value<int>()->default_value("-1"))(
      "states", "force the kernels' states per thread (2 or 4; 0: picked by grid size)",
      cxxopts::value<int>()->default_value("0"))(
      "pipelined", "force the forward kernel: 1 pipelined, 0 plain (-1: picked by grid size)",
      cxxopts::value<int>()->default_value("-1"))("h,help", "print usage");
  const cxxopts::ParseResult args = ssmkit::bench::parse_flags_or_exit(cli, argc, argv);
  const int iters = args["iters"].as<int>();
  const int warmup = args["warmup"].as<int>();
  const int only_row = args["row"].as<int>();
  const int states = args["states"].as<int>();
  const int pipelined = args["pipelined"].as<int>();
  constexpr int kRows = static_cast<int>(std::size(kAnchors));
  static_assert(kRows == 8, "the --row message below names rows 0 to 7");
  const char* bad = iters < 1                                   ? "--iters: expected at least 1"
                    : warmup < 0                                ? "--warmup: expected 0 or more"
                    : only_row < -1 || only_row >= kRows        ? "--row: expected -1 (all) to 7"
                    : states != 0 && states != 2 && states != 4 ? "--states: expected 0, 2 or 4"
                    : pipelined < -1 || pipelined > 1           ? "--pipelined: expected -1, 0 or 1"
                                                                : nullptr;
  if (bad != nullptr) {
    std::fprintf(stderr, "bench_selective_scan_cuda: %s\n", bad);
    return 1;
  }
  ssmkit::ops::set_selective_scan_cuda_states_per_thread(states);
  ssmkit::ops::set_selective_scan_cuda_forward_pipelined(pipelined);
  if (!at::hasCUDA()) {
    std::puts("bench_selective_scan_cuda: no CUDA device");
    return 1;
  }

  std::printf(
      "selective scan, CUDA: u, delta (B, D, L); B, C (B, 1, N, L); D, delta_bias; softplus; "
      "no z. Median of %d, ms. Ratio = anchor / ssmkit (higher is better). States per thread: "
      "%s; forward kernel: %s.\n",
      iters, states == 0 ? "picked by grid size" : std::to_string(states).c_str(),
      pipelined < 0    ? "picked by grid size"
      : pipelined == 1 ? "pipelined"
                       : "plain");
  std::printf(
      "GB/s counts compulsory bytes: forward reads u, delta, B, C and writes y; fwd+bwd adds "
      "reading u, delta, dy, B, C and writing du, ddelta, dB, dC. 'GPU only' runs behind a spin "
      "kernel, so the host's work overlaps it; 'host us' is the CPU time of the call.\n");
  print_host_baselines(warmup, iters);
  std::printf(
      "| B | D | L | N | dtype | fwd (no grad) ms | GB/s | fwd (grad) ms | vs anchor | "
      "fwd+bwd ms | GB/s | vs anchor | GPU only: fwd (no grad) / fwd (grad) / fwd+bwd ms | "
      "host us: fwd (no grad) / fwd (grad) / fwd+bwd | bwd alone: ms / host us |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int row = 0; row < static_cast<int>(std::size(kAnchors)); ++row) {
    if (only_row >= 0 && row != only_row) continue;
    const AnchorRow& r = kAnchors[row];
    const double elem = r.dtype == at::kFloat ? 4.0 : 2.0;
    const double bdl = static_cast<double>(r.batch * r.dim * r.seqlen);
    const double bnl = static_cast<double>(r.batch * r.dstate * r.seqlen);
    const double set_bytes = (3 * bdl + 2 * bnl) * elem;
    const int n_sets = std::max(1, static_cast<int>(kRotationBytes / set_bytes + 0.999));
    std::vector<InputSet> sets;
    for (int i = 0; i < n_sets; ++i)
      sets.push_back(make_set(r, true));
    SelectiveScanOptions options;
    options.delta_softplus = true;

    const auto fwd_infer_fn = [&](int i) {
      at::AutoGradMode no_grad(false);
      ssmkit::ops::selective_scan(sets[i % n_sets].inputs(), options);
    };
    const auto fwd_train_fn = [&](int i) {
      ssmkit::ops::selective_scan(sets[i % n_sets].inputs(), options);
    };
    const auto fwd_bwd_fn = [&](int i) {
      const InputSet& s = sets[i % n_sets];
      const auto out = ssmkit::ops::selective_scan(s.inputs(), options);
      torch::autograd::grad({out.y}, s.leaves(), {s.dy});
    };
    // The backward alone: one forward per input set, kept, then its gradient again and again.
    std::vector<at::Tensor> kept_y;
    for (const InputSet& set : sets)
      kept_y.push_back(ssmkit::ops::selective_scan(set.inputs(), options).y);
    const auto bwd_fn = [&](int i) {
      const InputSet& s = sets[i % n_sets];
      torch::autograd::grad({kept_y[i % n_sets]}, s.leaves(), {s.dy}, /*retain_graph=*/true);
    };
    const Timing fwd_infer_timing = median_timing(fwd_infer_fn, warmup, iters, false);
    const double fwd_infer = fwd_infer_timing.ms;
    const Timing fwd_train = median_timing(fwd_train_fn, warmup, iters, false);
    const Timing fwd_bwd = median_timing(fwd_bwd_fn, warmup, iters, false);
    const double fwd_infer_gpu = median_timing(fwd_infer_fn, warmup, iters, true).ms;
    const double fwd_train_gpu = median_timing(fwd_train_fn, warmup, iters, true).ms;
    const double fwd_bwd_gpu = median_timing(fwd_bwd_fn, warmup, iters, true).ms;
    const Timing bwd_alone = median_timing(bwd_fn, warmup, iters, false);
    kept_y.clear();

    const double fwd_bytes = (3 * bdl + 2 * bnl) * elem;
    const double bwd_bytes = (5 * bdl + 2 * bnl) * elem + 2 * bnl * elem;
    std::printf(
        "| %lld | %lld | %lld | %lld | %s | %.3f | %.0f | %.3f | %.2fx | %.3f | %.0f | %.2fx | "
        "%.3f / %.3f / %.3f | %.0f / %.0f / %.0f | %.3f / %.0f |\n",
        static_cast<long long>(r.batch), static_cast<long long>(r.dim),
        static_cast<long long>(r.seqlen), static_cast<long long>(r.dstate),
        r.dtype == at::kFloat ? "fp32" : "bf16", fwd_infer, fwd_bytes / fwd_infer / 1e6,
        fwd_train.ms, r.forward_ms / fwd_train.ms, fwd_bwd.ms,
        (fwd_bytes + bwd_bytes) / fwd_bwd.ms / 1e6, r.forward_backward_ms / fwd_bwd.ms,
        fwd_infer_gpu, fwd_train_gpu, fwd_bwd_gpu, fwd_infer_timing.host_us, fwd_train.host_us,
        fwd_bwd.host_us, bwd_alone.ms, bwd_alone.host_us);
    std::fflush(stdout);
  }
  return 0;
}

#else

#include <cstdio>

int main() {
  std::puts(
      "bench_selective_scan_cuda: this ssmkit build has no CUDA kernels "
      "(configure with a CUDA LibTorch and nvcc); nothing to time.");
  return 0;
}

#endif
