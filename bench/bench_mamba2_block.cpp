// Times the Mamba-2 block (forward, forward + backward of every parameter, one recurrent step) and
// its SSD scan at the block's shapes: the chunked matrix form against the sequential reference,
// both measured in the same run. CPU by default; --device cuda where LibTorch has CUDA.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cxxopts.hpp>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "ssmkit/nn/mamba2.h"
#include "ssmkit/ops/ssd_scan.h"
#include "ssmkit/util/threads.h"

namespace {

struct Row {
  int64_t batch, seqlen, d_model;
};
// Small blocks that a laptop times in seconds (d_inner 256: 4 heads of 64).
const Row kCpuRows[] = {{2, 256, 128}, {8, 64, 128}, {1, 1024, 128}};
// mamba_ssm-sized blocks (d_inner 1536: 24 heads of 64).
const Row kGpuRows[] = {{8, 2048, 768}, {16, 1024, 768}};

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// Median milliseconds of `fn` over `reps` calls, after one untimed call (allocator, thread pool).
double median_ms(const std::function<void()>& fn, const torch::Device& device, int reps) {
  fn();
  synchronize(device);
  std::vector<double> times(static_cast<size_t>(reps));
  for (double& ms : times) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    synchronize(device);
    ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  std::nth_element(times.begin(), times.begin() + reps / 2, times.end());
  return times[static_cast<size_t>(reps / 2)];
}

// The scan's inputs as the block makes them: dt in Mamba-2's initial range, A from [-16, -1].
struct ScanArgs {
  at::Tensor x;   // (B, L, H, P)
  at::Tensor dt;  // (B, L, H)
  at::Tensor A;   // (H)
  at::Tensor B;   // (B, L, G, N)
  at::Tensor C;   // (B, L, G, N)
};

ScanArgs scan_args(const Row& row, const ssmkit::nn::Mamba2Options& o,
                   const torch::Device& device) {
  const auto opts = torch::TensorOptions(device).requires_grad(true);
  const int64_t heads = o.nheads();
  ScanArgs a;
  a.x = torch::randn({row.batch, row.seqlen, heads, o.headdim}, opts);
  a.dt = torch::softplus(torch::randn({row.batch, row.seqlen, heads}, device) - 4.0)
             .requires_grad_(true);
  a.A = (-1.0 - 15.0 * torch::rand({heads}, device)).requires_grad_(true);
  a.B = torch::randn({row.batch, row.seqlen, o.ngroups, o.d_state}, opts);
  a.C = torch::randn({row.batch, row.seqlen, o.ngroups, o.d_state}, opts);
  return a;
}

struct ScanTiming {
  double forward_ms = 0;
  double forward_backward_ms = 0;
};

ScanTiming time_scan(const std::function<ssmkit::ops::SsdScanOutputs(const ScanArgs&)>& scan,
                     const ScanArgs& a, const torch::Device& device, int reps) {
  ScanTiming t;
  t.forward_ms = median_ms(
      [&] {
        torch::NoGradGuard no_grad;
        scan(a);
      },
      device, reps);
  t.forward_backward_ms = median_ms(
      [&] {
        const at::Tensor y = scan(a).y;
        torch::autograd::grad({y}, {a.x, a.dt, a.A, a.B, a.C}, {torch::ones_like(y)});
      },
      device, reps);
  return t;
}

struct BlockTiming {
  double forward_ms = 0;
  double forward_backward_ms = 0;
  double step_ms = 0;  // one token for the whole batch
};

BlockTiming time_block(const Row& row, const ssmkit::nn::Mamba2Options& o,
                       const torch::Device& device, int reps) {
  ssmkit::nn::Mamba2 block(o);
  block->to(device);
  const at::Tensor x = torch::randn({row.batch, row.seqlen, row.d_model}, device);
  const at::Tensor dy = torch::randn_like(x);
  BlockTiming t;
  t.forward_ms = median_ms(
      [&] {
        torch::NoGradGuard no_grad;
        block->forward(x);
      },
      device, reps);
  t.forward_backward_ms = median_ms([&] { block->forward(x).backward(dy); }, device, reps);
  torch::NoGradGuard no_grad;
  ssmkit::nn::Mamba2Cache cache = block->make_cache(row.batch);
  const at::Tensor token = x.select(1, 0);  // (B, d_model)
  t.step_ms = median_ms([&] { block->step(token, cache); }, device, reps);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_mamba2_block",
                       "Time the Mamba-2 block and its chunked SSD scan against the sequential "
                       "reference");
  cli.add_options()("device", "cpu or cuda (default: cuda when available)",
                    cxxopts::value<std::string>()->default_value(""))(
      "reps", "timed repetitions of the block and the chunked scan (median)",
      cxxopts::value<int>()->default_value("10"))(
      "reference-reps", "timed repetitions of the sequential reference (median)",
      cxxopts::value<int>()->default_value("3"))("chunk", "chunk_size of the block and the scan",
                                                 cxxopts::value<int>()->default_value("64"))(
      "threads", "CPU threads (0 = all cores)", cxxopts::value<int>()->default_value("0"))(
      "h,help", "print help");
  const cxxopts::ParseResult args = ssmkit::bench::parse_flags_or_exit(cli, argc, argv);
  ssmkit::init_threads(args["threads"].as<int>());
  std::string device_name = args["device"].as<std::string>();
  if (device_name.empty()) device_name = torch::cuda::is_available() ? "cuda" : "cpu";
  if (device_name != "cpu" && device_name != "cuda") {
    std::fprintf(stderr, "bench_mamba2_block: --device %s: expected cpu or cuda\n",
                 device_name.c_str());
    return 1;
  }
  if (device_name == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "bench_mamba2_block: --device cuda: no CUDA device is available\n");
    return 1;
  }
  const int reps = args["reps"].as<int>();
  const int reference_reps = args["reference-reps"].as<int>();
  const int chunk = args["chunk"].as<int>();
  if (reps < 1 || reference_reps < 1 || chunk < 1) {
    std::fprintf(stderr, "bench_mamba2_block: --reps, --reference-reps and --chunk must be >= 1\n");
    return 1;
  }
  const torch::Device device(device_name);
  torch::manual_seed(0);

  std::printf(
      "Mamba-2 block on %s (%d threads), float32, d_state 64, headdim 64, expand 2, chunk %d; "
      "median of %d (reference: %d)\n",
      device_name.c_str(), at::get_num_threads(), chunk, reps, reference_reps);
  std::printf(
      "| B | L | d_model | block fwd ms | block fwd+bwd ms | step ms | scan fwd ms | reference | "
      "speed-up | scan fwd+bwd ms | reference | speed-up |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<Row> rows(std::begin(kCpuRows), std::end(kCpuRows));
  if (device.is_cuda()) rows.assign(std::begin(kGpuRows), std::end(kGpuRows));
  for (const Row& row : rows) {
    ssmkit::nn::Mamba2Options o;
    o.d_model = row.d_model;
    o.chunk_size = chunk;
    const BlockTiming block = time_block(row, o, device, reps);
    const ScanArgs a = scan_args(row, o, device);
    const ScanTiming chunked = time_scan(
        [&](const ScanArgs& s) {
          return ssmkit::ops::ssd_chunk_scan(s.x, s.dt, s.A, s.B, s.C, chunk);
        },
        a, device, reps);
    const ScanTiming reference = time_scan(
        [](const ScanArgs& s) { return ssmkit::ops::ssd_scan_reference(s.x, s.dt, s.A, s.B, s.C); },
        a, device, reference_reps);
    std::printf(
        "| %ld | %ld | %ld | %.2f | %.2f | %.3f | %.2f | %.2f | %.1fx | %.2f | %.2f | %.1fx |\n",
        static_cast<long>(row.batch), static_cast<long>(row.seqlen), static_cast<long>(row.d_model),
        block.forward_ms, block.forward_backward_ms, block.step_ms, chunked.forward_ms,
        reference.forward_ms, reference.forward_ms / chunked.forward_ms,
        chunked.forward_backward_ms, reference.forward_backward_ms,
        reference.forward_backward_ms / chunked.forward_backward_ms);
    std::fflush(stdout);
  }
  return 0;
}
