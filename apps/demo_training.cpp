// demo_training: trains a small Mamba model on data/toy_sequences.csv (next-value forecasting) and
// prints the train and validation loss per epoch; results go to <output_dir>/results.json.
#include <c10/util/Exception.h>
#include <cxxopts.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "ssmkit/io/error.h"
#include "ssmkit/train/demo_training.h"
#include "ssmkit/util/threads.h"
#include "ssmkit/util/trace.h"

namespace {

constexpr int kExitBadInput = 1;

// "0.005" rather than std::to_string's "0.005000".
std::string shortest(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

cxxopts::Options make_options() {
  const ssmkit::train::DemoConfig d;
  cxxopts::Options options("demo_training",
                           "Trains a small Mamba model to forecast the next value of each sequence "
                           "in a CSV (one sequence per row), printing the loss per epoch.");
  options.add_options()("data", "CSV file, one sequence per row under a header",
                        cxxopts::value<std::string>())(
      "output_dir", "Folder for results.json (created if missing)", cxxopts::value<std::string>())(
      "epochs", "Training epochs",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.epochs)))(
      "batch_size", "Sequences per batch",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.batch_size)))(
      "learning_rate", "Adam learning rate",
      cxxopts::value<double>()->default_value(shortest(d.learning_rate)))(
      "d_model", "Model width",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.d_model)))(
      "n_layers", "Mamba layers",
      cxxopts::value<int64_t>()->default_value(std::to_string(d.n_layers)))(
      "seed", "Random seed (initialisation and batch order)",
      cxxopts::value<uint64_t>()->default_value(std::to_string(d.seed)))(
      "threads", "CPU threads; 0 = SSMKIT_NUM_THREADS or all cores",
      cxxopts::value<int>()->default_value("0"))(
      "trace_shapes", "Log every block's input and output shapes",
      cxxopts::value<bool>()->default_value("false"))("h,help", "Show this help");
  return options;
}

int run(int argc, char** argv) {
  cxxopts::Options options = make_options();
  const cxxopts::ParseResult args = options.parse(argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  if (!args.unmatched().empty()) {
    throw ssmkit::InputError("unexpected argument '" + args.unmatched().front() +
                             "' (all options are --name value)");
  }
  ssmkit::train::DemoConfig config;
  if (args.count("data")) config.data_path = args["data"].as<std::string>();
  if (args.count("output_dir")) config.output_dir = args["output_dir"].as<std::string>();
  config.epochs = args["epochs"].as<int64_t>();
  config.batch_size = args["batch_size"].as<int64_t>();
  config.learning_rate = args["learning_rate"].as<double>();
  config.d_model = args["d_model"].as<int64_t>();
  config.n_layers = args["n_layers"].as<int64_t>();
  config.seed = args["seed"].as<uint64_t>();
  config.validate();
  if (args["trace_shapes"].as<bool>()) ssmkit::set_trace_shapes(true);
  const int threads = ssmkit::init_threads(args["threads"].as<int>());

  // The header waits for epoch 0, so that a bad data file is reported before any table output.
  const auto result = ssmkit::train::run_demo_training(config, [&](const auto& e) {
    if (e.epoch == 0) {
      std::printf(
          "demo_training: next-value forecasting on %s, Mamba d_model=%lld, %lld layers, "
          "%d threads\n",
          config.data_path.c_str(), static_cast<long long>(config.d_model),
          static_cast<long long>(config.n_layers), threads);
      std::printf("%6s %12s %12s %8s\n", "epoch", "train_mse", "val_mse", "seconds");
    }
    std::printf("%6lld %12.5f %12.5f %8.2f\n", static_cast<long long>(e.epoch), e.train_loss,
                e.val_loss, e.seconds);
    std::fflush(stdout);
  });
  const double final_val = result.epochs.back().val_loss;
  std::printf(
      "validation MSE %.5f -> %.5f (repeating the last value: %.5f); %lld train / %lld "
      "val sequences of length %lld, %lld parameters\n",
      result.epochs.front().val_loss, final_val, result.last_value_val_loss,
      static_cast<long long>(result.train_sequences), static_cast<long long>(result.val_sequences),
      static_cast<long long>(result.sequence_length), static_cast<long long>(result.parameters));
  std::printf("results: %s\n", result.results_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ssmkit::InputError& e) {
    std::cerr << "demo_training: error: " << e.what() << std::endl;
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "demo_training: error: " << e.what() << " (see --help)" << std::endl;
  } catch (const c10::Error& e) {
    std::cerr << "demo_training: error: " << e.what_without_backtrace() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "demo_training: error: " << e.what() << std::endl;
  }
  return kExitBadInput;
}
