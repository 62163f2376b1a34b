// The demo's model, data split, training loop and results file. Deliberately small and
// self-contained: it shows a Mamba stack learning a sequence task in seconds on a CPU.
#include "ssmkit/train/demo_training.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "ssmkit/io/atomic_file.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/sequence_rows_csv.h"
#include "ssmkit/nn/mamba_layer.h"
#include "ssmkit/util/trace.h"

namespace ssmkit::train {
namespace {

// The model sees x[0..t] and predicts x[t+1]: a row needs at least two values.
constexpr int64_t kMinSequenceLength = 2;
// Mamba's state size and expansion suit a model this small; the stack defaults are Mamba's.
constexpr int64_t kDemoStateSize = 16;
constexpr const char* kResultsFile = "results.json";

// Embeds each scalar, runs the Mamba stack, reads the next value off each position.
class ForecasterImpl : public torch::nn::Module {
 public:
  explicit ForecasterImpl(const nn::MambaStackOptions& options) {
    input = register_module("input", torch::nn::Linear(1, options.mamba.d_model));
    backbone = register_module("backbone", nn::MambaStack(options));
    head = register_module("head", torch::nn::Linear(options.mamba.d_model, 1));
  }

  at::Tensor forward(const at::Tensor& series) {  // (B, L) -> (B, L) next-value forecasts
    at::Tensor y = head(backbone(input(series.unsqueeze(-1)))).squeeze(-1);
    trace_shapes("Forecaster", series, y);
    return y;
  }

  torch::nn::Linear input{nullptr};
  nn::MambaStack backbone{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(Forecaster);

// MSE of the next-value forecasts over all positions of `rows` (N, L), in batches, no gradients.
double evaluate(Forecaster& model, const at::Tensor& rows, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  double total = 0.0;
  for (int64_t start = 0; start < rows.size(0); start += batch_size) {
    at::Tensor batch = rows.narrow(0, start, std::min(batch_size, rows.size(0) - start));
    const int64_t len = batch.size(1);
    at::Tensor forecast = model(batch.narrow(1, 0, len - 1));
    total += torch::mse_loss(forecast, batch.narrow(1, 1, len - 1)).item<double>() * batch.size(0);
  }
  return total / static_cast<double>(rows.size(0));
}

double last_value_loss(const at::Tensor& rows) {
  const int64_t len = rows.size(1);
  return torch::mse_loss(rows.narrow(1, 0, len - 1), rows.narrow(1, 1, len - 1)).item<double>();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

nlohmann::json results_json(const DemoConfig& config, const nn::MambaStackOptions& model,
                            const DemoResult& result) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const DemoEpoch& e : result.epochs) {
    epochs.push_back({{"epoch", e.epoch},
                      {"train_loss", e.train_loss},
                      {"val_loss", e.val_loss},
                      {"seconds", e.seconds}});
  }
  return {{"task", "next-value forecasting, MSE"},
          {"data", config.data_path},
          {"train_sequences", result.train_sequences},
          {"val_sequences", result.val_sequences},
          {"sequence_length", result.sequence_length},
          {"model", {{"backbone", model}, {"parameters", result.parameters}}},
          {"optimizer", {{"name", "adam"}, {"learning_rate", config.learning_rate}}},
          {"batch_size", config.batch_size},
          {"seed", config.seed},
          {"last_value_val_loss", result.last_value_val_loss},
          {"final_val_loss", result.epochs.back().val_loss},
          {"epochs", epochs}};
}

}  // namespace

void DemoConfig::validate() const {
  auto fail = [](const std::string& msg) { throw InputError(msg); };
  if (data_path.empty()) fail("--data is required (a CSV with one sequence per row)");
  if (output_dir.empty()) fail("--output_dir is required");
  if (epochs < 1) fail("--epochs must be >= 1, got " + std::to_string(epochs));
  if (batch_size < 1) fail("--batch_size must be >= 1, got " + std::to_string(batch_size));
  if (!(learning_rate > 0.0)) {
    fail("--learning_rate must be > 0, got " + std::to_string(learning_rate));
  }
  if (d_model < 1) fail("--d_model must be >= 1, got " + std::to_string(d_model));
  if (n_layers < 1) fail("--n_layers must be >= 1, got " + std::to_string(n_layers));
  if (!(val_fraction > 0.0 && val_fraction < 1.0)) {
    fail("val_fraction must be in (0, 1), got " + std::to_string(val_fraction));
  }
}

DemoResult run_demo_training(const DemoConfig& config,
                             const std::function<void(const DemoEpoch&)>& on_epoch) {
  config.validate();
  io::SequenceRows csv = io::read_sequence_rows_csv(config.data_path);
  if (csv.length < kMinSequenceLength) {
    throw InputError(config.data_path + ": sequences have " + std::to_string(csv.length) +
                     " values, the forecasting task needs at least " +
                     std::to_string(kMinSequenceLength));
  }
  const int64_t n_val = static_cast<int64_t>(static_cast<double>(csv.rows) * config.val_fraction);
  if (n_val < 1 || csv.rows - n_val < 1) {
    throw InputError(
        config.data_path + ": " + std::to_string(csv.rows) +
        " sequences are too few to hold out a validation part; need at least " +
        std::to_string(static_cast<int64_t>(std::ceil(1.0 / config.val_fraction)) + 1));
  }
  std::error_code ec;
  std::filesystem::create_directories(config.output_dir, ec);
  if (ec) {
    throw InputError("--output_dir '" + config.output_dir + "' cannot be created: " + ec.message());
  }

  torch::manual_seed(config.seed);
  at::Tensor all =
      torch::from_blob(csv.values.data(), {csv.rows, csv.length}, torch::kFloat).clone();
  at::Tensor train_rows = all.narrow(0, 0, csv.rows - n_val);    // (N_train, L)
  at::Tensor val_rows = all.narrow(0, csv.rows - n_val, n_val);  // (N_val, L)

  nn::MambaStackOptions model_options;
  model_options.mamba.d_model = config.d_model;
  model_options.mamba.d_state = kDemoStateSize;
  model_options.n_layers = config.n_layers;
  Forecaster model(model_options);
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(config.learning_rate));

  DemoResult result;
  result.train_sequences = train_rows.size(0);
  result.val_sequences = n_val;
  result.sequence_length = csv.length;
  for (const auto& p : model->parameters())
    result.parameters += p.numel();
  result.last_value_val_loss = last_value_loss(val_rows);

  auto report = [&](const DemoEpoch& e) {
    result.epochs.push_back(e);
    if (on_epoch) on_epoch(e);
  };
  auto start = std::chrono::steady_clock::now();
  report({0, evaluate(model, train_rows, config.batch_size),
          evaluate(model, val_rows, config.batch_size), seconds_since(start)});

  const int64_t len = csv.length;
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    start = std::chrono::steady_clock::now();
    model->train();
    at::Tensor order = torch::randperm(train_rows.size(0), torch::kLong);
    double total = 0.0;
    for (int64_t first = 0; first < order.size(0); first += config.batch_size) {
      at::Tensor batch = train_rows.index_select(
          0, order.narrow(0, first, std::min(config.batch_size, order.size(0) - first)));
      optimizer.zero_grad();
      at::Tensor loss =
          torch::mse_loss(model(batch.narrow(1, 0, len - 1)), batch.narrow(1, 1, len - 1));
      loss.backward();
      optimizer.step();
      total += loss.item<double>() * batch.size(0);
    }
    const double train_loss = total / static_cast<double>(train_rows.size(0));
    report({epoch, train_loss, evaluate(model, val_rows, config.batch_size), seconds_since(start)});
  }

  result.results_path = (std::filesystem::path(config.output_dir) / kResultsFile).string();
  write_file_atomic(result.results_path,
                    results_json(config, model_options, result).dump(2) + "\n");
  return result;
}

}  // namespace ssmkit::train
