// Times a whole Mamba block (in_proj, causal conv, selective scan, gate, out_proj), forward and
// forward + backward of every parameter, and prints the ratio to the mamba_ssm `Mamba` module
// measured on the same H200 (official scan kernel, PyTorch conv1d). On the CPU it times two small
// blocks (the scan itself is compared against its reference in bench_selective_scan_cpu).
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
#include "ssmkit/nn/mamba.h"
#include "ssmkit/ops/selective_scan.h"
#include "ssmkit/train/mixed_precision.h"
#include "ssmkit/util/threads.h"

#ifdef SSMKIT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace {

// mamba_ssm `Mamba` on one H200 (docs: anchors): fwd ms, fwd+bwd ms, peak MiB.
struct BlockRow {
  int64_t batch, seqlen, d_model;
  bool bf16_autocast;
  double anchor_forward_ms;
  double anchor_forward_backward_ms;
  double anchor_peak_mib;
};
const BlockRow kGpuRows[] = {
    {8, 2048, 768, false, 4.209, 12.830, 1304},
    {8, 2048, 768, true, 1.365, 5.040, 779},
    {16, 1024, 768, false, 4.105, 12.918, 1305},
    {64, 12, 128, false, 0.424, 1.719, 77},
};
// Small blocks for a quick look on a laptop.
const BlockRow kCpuRows[] = {
    {2, 256, 128, false, 0, 0, 0},
    {8, 12, 128, false, 0, 0, 0},
};

constexpr int kWarmup = 3;

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

double median_ms(const std::function<void()>& fn, const torch::Device& device, int reps) {
  for (int i = 0; i < kWarmup; ++i)
    fn();
  synchronize(device);
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    synchronize(device);
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::nth_element(times.begin(), times.begin() + reps / 2, times.end());
  return times[reps / 2];
}

struct Timing {
  double forward_ms = 0;
  double forward_backward_ms = 0;
  double peak_mib = 0;
};

Timing time_block(const BlockRow& row, const torch::Device& device, int reps) {
  ssmkit::nn::MambaOptions options;
  options.d_model = row.d_model;
  ssmkit::nn::Mamba block(options);
  block->to(device);
  at::Tensor x = torch::randn({row.batch, row.seqlen, row.d_model}, torch::TensorOptions(device));
  at::Tensor dy = torch::randn_like(x);
  Timing t;
  t.forward_ms = median_ms(
      [&] {
        torch::NoGradGuard no_grad;
        ssmkit::train::AutocastGuard autocast(row.bf16_autocast, device);
        block->forward(x);
      },
      device, reps);
#ifdef SSMKIT_WITH_CUDA
  const c10::DeviceIndex index = device.has_index() ? device.index() : 0;
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(index);
#endif
  t.forward_backward_ms = median_ms(
      [&] {
        at::Tensor y;
        {
          ssmkit::train::AutocastGuard autocast(row.bf16_autocast, device);
          y = block->forward(x);
        }
        y.backward(dy.to(y.scalar_type()));
      },
      device, reps);
#ifdef SSMKIT_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    t.peak_mib =
        static_cast<double>(
            stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)]
                .peak) /
        (1024.0 * 1024.0);
  }
#endif
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_mamba_block",
                       "Time a whole Mamba block, forward and forward+backward");
  cli.add_options()("device", "cpu or cuda (default: cuda when available)",
                    cxxopts::value<std::string>()->default_value(""))(
      "reps", "timed repetitions (median)", cxxopts::value<int>()->default_value("20"))(
      "row", "GPU table row to time, 1-4 (0 = all; one row keeps a profiler's trace short)",
      cxxopts::value<int>()->default_value("0"))("threads", "CPU threads (0 = all cores)",
                                                 cxxopts::value<int>()->default_value("0"))(
      "layout",
      "projection layout: auto (channel-major on CUDA), row or channel (to compare the two)",
      cxxopts::value<std::string>()->default_value("auto"))("h,help", "print help");
  const cxxopts::ParseResult args = ssmkit::bench::parse_flags_or_exit(cli, argc, argv);
  ssmkit::init_threads(args["threads"].as<int>());
  std::string device_name = args["device"].as<std::string>();
  if (device_name.empty()) device_name = torch::cuda::is_available() ? "cuda" : "cpu";
  if (device_name != "cpu" && device_name != "cuda") {
    std::fprintf(stderr, "bench_mamba_block: --device %s: expected cpu or cuda\n",
                 device_name.c_str());
    return 1;
  }
  if (device_name == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "bench_mamba_block: --device cuda: no CUDA device is available\n");
    return 1;
  }
  const torch::Device device(device_name);
  const int reps = args["reps"].as<int>();
  if (reps < 1) {
    std::fprintf(stderr, "bench_mamba_block: --reps %d: expected at least 1\n", reps);
    return 1;
  }
  const std::string layout = args["layout"].as<std::string>();
  if (layout != "auto" && layout != "row" && layout != "channel") {
    std::fprintf(stderr, "bench_mamba_block: --layout %s: expected auto, row or channel\n",
                 layout.c_str());
    return 1;
  }
  ssmkit::nn::set_mamba_channel_major(layout == "auto" ? -1 : (layout == "channel" ? 1 : 0));
  const int only_row = args["row"].as<int>();
  constexpr int kGpuRowCount = static_cast<int>(std::size(kGpuRows));
  if (only_row < 0 || only_row > kGpuRowCount) {
    std::fprintf(stderr, "bench_mamba_block: --row %d: expected 0 (all) to %d\n", only_row,
                 kGpuRowCount);
    return 1;
  }
  torch::manual_seed(0);

  if (device.is_cuda()) {
    std::printf("Mamba block on %s (d_state 16, d_conv 4, expand 2), %s layout, median of %d\n",
                device_name.c_str(), layout.c_str(), reps);
    std::printf(
        "| B | L | d_model | mode | fwd ms | anchor | speed-up | fwd+bwd ms | anchor | "
        "speed-up | peak MiB | anchor MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int r = 0; r < kGpuRowCount; ++r) {
      if (only_row != 0 && only_row != r + 1) continue;
      const BlockRow& row = kGpuRows[r];
      const Timing t = time_block(row, device, reps);
      std::printf(
          "| %ld | %ld | %ld | %s | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx | %.0f | %.0f |\n",
          static_cast<long>(row.batch), static_cast<long>(row.seqlen),
          static_cast<long>(row.d_model), row.bf16_autocast ? "bf16 autocast" : "fp32",
          t.forward_ms, row.anchor_forward_ms, row.anchor_forward_ms / t.forward_ms,
          t.forward_backward_ms, row.anchor_forward_backward_ms,
          row.anchor_forward_backward_ms / t.forward_backward_ms, t.peak_mib, row.anchor_peak_mib);
    }
    return 0;
  }

  std::printf("Mamba block on the CPU, %d threads, median of %d\n", at::get_num_threads(), reps);
  std::printf("| B | L | d_model | fwd ms | fwd+bwd ms |\n|---|---|---|---|---|\n");
  for (const BlockRow& row : kCpuRows) {
    const Timing t = time_block(row, device, reps);
    std::printf("| %ld | %ld | %ld | %.2f | %.2f |\n", static_cast<long>(row.batch),
                static_cast<long>(row.seqlen), static_cast<long>(row.d_model), t.forward_ms,
                t.forward_backward_ms);
  }
  return 0;
}
