// Times the fast CPU selective scan against the reference in the same run: forward (inference) and
// forward + backward, in Mamba's configuration (variable B and C, D, z, delta_bias, softplus),
// float32, at several thread counts. Prints a table of median milliseconds and speedups.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cxxopts.hpp>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "ssmkit/ops/selective_scan.h"
#include "ssmkit/ops/selective_scan_cpu.h"

namespace {

using ssmkit::ops::SelectiveScanInputs;
using ssmkit::ops::SelectiveScanOptions;

struct Shape {
  int64_t batch, dim, seqlen, dstate;
};

// Mamba's configuration: A = -(1..N) per channel (S4D-real), input-dependent B and C, softplus of
// delta + delta_bias, skip D and gate z.
SelectiveScanInputs mamba_inputs(const Shape& s, bool requires_grad) {
  SelectiveScanInputs in;
  in.u = torch::randn({s.batch, s.dim, s.seqlen});
  in.delta = torch::randn({s.batch, s.dim, s.seqlen}) * 0.5 - 3.0;
  in.A = -torch::arange(1, s.dstate + 1, torch::kFloat).repeat({s.dim, 1});
  in.B = torch::randn({s.batch, s.dstate, s.seqlen});
  in.C = torch::randn({s.batch, s.dstate, s.seqlen});
  in.D = torch::ones({s.dim});
  in.z = torch::randn({s.batch, s.dim, s.seqlen});
  in.delta_bias = torch::randn({s.dim}) * 0.1;
  for (at::Tensor* t : {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.z, &in.delta_bias}) {
    t->requires_grad_(requires_grad);
  }
  return in;
}

// Median wall-clock and process CPU milliseconds of one call. CPU time does not count the time
// the process waits for a core, so on a busy shared machine it is the steadier of the two (with
// several threads it adds them up, spin-waiting included).
struct Timing {
  double wall_ms;
  double cpu_ms;
};

double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

Timing median_timing(int reps, const std::function<void()>& fn) {
  fn();  // warm-up: first-touch page faults, thread pool start
  std::vector<double> wall;
  std::vector<double> cpu;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_seconds();
    fn();
    cpu.push_back((cpu_seconds() - cpu_start) * 1e3);
    wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

using ScanFn = std::function<ssmkit::ops::SelectiveScanOutputs(const SelectiveScanInputs&,
                                                               const SelectiveScanOptions&)>;

// Forward without autograd.
Timing time_forward(const ScanFn& scan, const Shape& s, int reps) {
  const SelectiveScanInputs in = mamba_inputs(s, false);
  SelectiveScanOptions options;
  options.delta_softplus = true;
  torch::NoGradGuard no_grad;
  return median_timing(reps, [&] { scan(in, options); });
}

// Forward with autograd, then the backward of a random seed to every input.
Timing time_forward_backward(const ScanFn& scan, const Shape& s, int reps) {
  const SelectiveScanInputs in = mamba_inputs(s, true);
  SelectiveScanOptions options;
  options.delta_softplus = true;
  const at::Tensor seed = torch::randn({s.batch, s.dim, s.seqlen});
  return median_timing(reps, [&] {
    const auto out = scan(in, options);
    torch::autograd::grad({out.y}, {in.u, in.delta, in.A, in.B, in.C, in.D, in.z, in.delta_bias},
                          {seed});
  });
}

void print_row(const char* shape, int threads, const char* pass, const Timing& reference,
               const Timing& fast) {
  std::printf("| %-20s | %7d | %-16s | %10.1f | %8.2f | %7.1fx | %10.1f | %8.2f | %7.1fx |\n",
              shape, threads, pass, reference.wall_ms, fast.wall_ms,
              reference.wall_ms / fast.wall_ms, reference.cpu_ms, fast.cpu_ms,
              reference.cpu_ms / fast.cpu_ms);
  std::fflush(stdout);
}

// The 1/5/15-minute load averages (Linux), or "unknown": timings on a shared machine depend on
// them.
std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(file >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

std::vector<int> parse_ints(const std::string& list) {
  std::vector<int> out;
  size_t start = 0;
  while (start < list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    out.push_back(std::stoi(list.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_selective_scan_cpu",
                       "Fast CPU selective scan vs the reference (float32, Mamba configuration)");
  cli.add_options()("reps", "repetitions of the fast path (median)",
                    cxxopts::value<int>()->default_value("7"))(
      "reference-reps", "repetitions of the reference (median)",
      cxxopts::value<int>()->default_value("3"))(
      "threads", "comma-separated thread counts",
      cxxopts::value<std::string>()->default_value("1,2"))(
      "isa", "instruction set of the fast path (default: the fastest this CPU runs)",
      cxxopts::value<std::string>()->default_value(""))("h,help", "print this help");
  const cxxopts::ParseResult flags = ssmkit::bench::parse_flags_or_exit(cli, argc, argv);
  const int reps = flags["reps"].as<int>();
  const int reference_reps = flags["reference-reps"].as<int>();
  if (reps < 1 || reference_reps < 1) {
    std::fprintf(stderr, "bench_selective_scan_cpu: --reps and --reference-reps must be >= 1\n");
    return 2;
  }
  std::vector<int> thread_counts;
  try {
    thread_counts = parse_ints(flags["threads"].as<std::string>());
    if (const std::string isa = flags["isa"].as<std::string>(); !isa.empty()) {
      ssmkit::ops::set_selective_scan_cpu_isa(isa);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_selective_scan_cpu: %s\n", e.what());
    return 2;
  }

  const std::vector<Shape> shapes = {{2, 256, 1024, 16}, {1, 1536, 2048, 16}};
  const ScanFn fast = [](const SelectiveScanInputs& in, const SelectiveScanOptions& o) {
    return ssmkit::ops::selective_scan_cpu(in, o);
  };
  const ScanFn reference = [](const SelectiveScanInputs& in, const SelectiveScanOptions& o) {
    return ssmkit::ops::selective_scan_reference(in, o);
  };

  std::printf("selective scan, CPU, float32, variable B/C + D + z + delta_bias + softplus\n");
  std::printf("fast path: %s; median of %d (fast) / %d (reference) runs after one warm-up;\n",
              ssmkit::ops::selective_scan_cpu_isa().c_str(), reps, reference_reps);
  std::printf("times in ms per call: wall clock, and CPU time of the process\n");
  std::printf("load average at start: %s\n\n", load_average().c_str());
  std::printf("| %-20s | %7s | %-16s | %10s | %8s | %8s | %10s | %8s | %8s |\n",
              "shape (B, D, L, N)", "threads", "pass", "ref wall", "fast", "speedup", "ref CPU",
              "fast", "speedup");
  std::printf(
      "|%s|--------:|%s|-----------:|---------:|---------:|-----------:|---------:|"
      "---------:|\n",
      std::string(22, '-').c_str(), std::string(18, '-').c_str());
  for (const Shape& s : shapes) {
    char name[64];
    std::snprintf(name, sizeof name, "(%lld, %lld, %lld, %lld)", static_cast<long long>(s.batch),
                  static_cast<long long>(s.dim), static_cast<long long>(s.seqlen),
                  static_cast<long long>(s.dstate));
    for (int threads : thread_counts) {
      at::set_num_threads(threads);
      const Timing ref_forward = time_forward(reference, s, reference_reps);
      print_row(name, threads, "forward", ref_forward, time_forward(fast, s, reps));
      const Timing ref_both = time_forward_backward(reference, s, reference_reps);
      print_row(name, threads, "forward+backward", ref_both, time_forward_backward(fast, s, reps));
    }
  }
  std::printf("\nload average at end: %s\n", load_average().c_str());
  return 0;
}
