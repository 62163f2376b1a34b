// Training-step speed of CMamba at the ETTh1 anchor configuration (batch 64, lookback 96, horizon
// 96, 7 channels, patch 16 / stride 8, d_model 128, 3 layers): forward, and forward + backward +
// Adam step, for each encoder; the projected epoch (132 steps) is compared with the anchor epoch
// of the official PyTorch code on the same kind of machine.
#include <torch/torch.h>
#include <cxxopts.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "ssmkit/models/cmamba.h"
#include "ssmkit/util/threads.h"

namespace {

// ETTh1 train windows / batch 64 in the anchor protocol.
constexpr int kStepsPerEpoch = 132;
// Official CMamba epoch times from the anchors (seconds): 2-core CPU and H200.
constexpr double kAnchorEpochCpuS = 211.0;
constexpr double kAnchorEpochGpuS = 4.4;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

template <class F>
double median_ms(F&& f, int warmup, int repeats, const torch::Device& device) {
  for (int i = 0; i < warmup; ++i)
    f();
  synchronize(device);
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    synchronize(device);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  return median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("bench_cmamba", "CMamba training-step speed at the ETTh1 anchor config");
  cli.add_options()("device", "cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))(
      "repeats", "timed repetitions", cxxopts::value<int>()->default_value("10"))(
      "threads", "intra-op threads (0: all cores)", cxxopts::value<int>()->default_value("0"))(
      "h,help", "this help");
  const auto args = cli.parse(argc, argv);
  if (args.count("help")) {
    std::printf("%s\n", cli.help().c_str());
    return 0;
  }
  ssmkit::init_threads(args["threads"].as<int>());
  const torch::Device device(args["device"].as<std::string>());
  const int repeats = std::max(1, args["repeats"].as<int>());
  constexpr int kWarmup = 3;
  constexpr int64_t kBatch = 64;
  const double anchor_epoch = device.is_cuda() ? kAnchorEpochGpuS : kAnchorEpochCpuS;

  std::printf("%-8s | %10s | %14s | %12s | %14s\n", "encoder", "forward ms", "train step ms",
              "epoch s", "vs anchor epoch");
  for (const std::string encoder : {"cmamba", "st"}) {
    ssmkit::models::CMambaOptions o;  // anchor defaults
    o.encoder = encoder;
    ssmkit::models::CMamba model(o);
    model->to(device);
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(5e-4));
    const at::Tensor x = torch::randn({kBatch, o.seq_len, o.enc_in}, device);
    const at::Tensor y = torch::randn({kBatch, o.pred_len, o.enc_in}, device);

    model->eval();
    const double fwd = median_ms(
        [&] {
          torch::NoGradGuard no_grad;
          model->forward(x);
        },
        kWarmup, repeats, device);
    model->train();
    const double step = median_ms(
        [&] {
          auto [mx, my] = model->augment_training_batch(x, y);
          adam.zero_grad();
          (model->forward(mx) - my).abs().mean().backward();
          adam.step();
        },
        kWarmup, repeats, device);
    const double epoch_s = step * kStepsPerEpoch / 1000.0;
    std::printf("%-8s | %10.2f | %14.2f | %12.2f | %13.2fx\n", encoder.c_str(), fwd, step, epoch_s,
                anchor_epoch / epoch_s);
  }
  return 0;
}
