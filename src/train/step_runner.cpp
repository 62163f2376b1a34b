// Plain, fused and CUDA-graph steps.
#include "ssmkit/train/step_runner.h"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "ssmkit/io/error.h"
#include "ssmkit/train/cuda_graph.h"
#include "ssmkit/train/fused_optimizer.h"
#include "ssmkit/train/gradient_buckets.h"
#include "ssmkit/train/gradient_clipping.h"
#include "ssmkit/train/mixed_precision.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::train {
namespace {

// Eager runs on the capture stream before recording (PyTorch's guidance for whole-network capture
// is a few; libraries allocate per-stream workspaces on the first).
constexpr int64_t kWarmupRuns = 2;
// Batch shapes recorded per kind of step: the full batches and an epoch's last, smaller one (in
// a 7-step epoch that one eager step took 40% of the time), with room for a second data set's.
constexpr size_t kMaxRecordedShapes = 4;

std::vector<int64_t> shape_of(const at::Tensor& t) {
  return t.defined() ? t.sizes().vec() : std::vector<int64_t>{-1};
}

}  // namespace

StepMode parse_step_mode(const std::string& text, const c10::Device& device,
                         const std::string& flag) {
  if (text == "auto") return device.is_cuda() ? StepMode::kGraph : StepMode::kPlain;
  if (text == "plain") return StepMode::kPlain;
  if (text == "fused") return StepMode::kFused;
  if (text == "graph") {
    if (device.is_cuda()) return StepMode::kGraph;
    spdlog::info("{} graph: CUDA graphs need a CUDA device; running fused steps on {}", flag,
                 device.str());
    return StepMode::kFused;
  }
  throw InputError(flag + ": expected auto, plain, fused or graph, got '" + text + "'");
}

std::string step_mode_name(StepMode mode) {
  switch (mode) {
    case StepMode::kPlain:
      return "plain";
    case StepMode::kFused:
      return "fused";
    case StepMode::kGraph:
      return "graph";
  }
  return "plain";
}

StepRunner::StepRunner(StepMode mode, TrainableModel& model, torch::optim::Optimizer& optimizer,
                       LossFn loss, bool mixed_precision, const c10::Device& device)
    : mode_(mode),
      model_(model),
      optimizer_(optimizer),
      loss_(std::move(loss)),
      mixed_precision_(mixed_precision),
      device_(device) {
  for (const auto& p : model_.parameters()) {
    if (p.requires_grad()) parameters_.push_back(p);
  }
  if (mode_ == StepMode::kGraph && !CudaGraph::supported()) {
    spdlog::info("trainer.step graph: ssmkit was built without CUDA; running fused steps");
    mode_ = StepMode::kFused;
  }
}

StepRunner::~StepRunner() = default;

void StepRunner::drop_graphs() {
  training_.clear();
  evaluation_.clear();
}

bool StepRunner::ensure_fused() {
  if (mode_ == StepMode::kPlain) return false;
  if (fused_ && fused_->intact()) return true;
  // First use, or loading weights replaced the parameters' storage (so the recorded graphs
  // would read stale buffers): pack the current values again.
  drop_graphs();
  fused_.reset();
  const std::string reason = FusedOptimizer::unsupported_reason(optimizer_);
  if (!reason.empty()) {
    spdlog::warn("trainer.step {}: cannot fuse the optimizer ({}); running plain steps",
                 step_mode_name(mode_), reason);
    mode_ = StepMode::kPlain;
    return false;
  }
  fused_ = std::make_unique<FusedOptimizer>(optimizer_);
  return true;
}

at::Tensor StepRunner::eager_forward_backward(const at::Tensor& inputs, const at::Tensor& targets) {
  if (fused_) {
    fused_->release_gradients();
  } else {
    optimizer_.zero_grad();
  }
  at::Tensor loss;
  {
    AutocastGuard autocast(mixed_precision_, device_);
    loss = loss_(model_.forward(inputs), targets);
  }
  TORCH_CHECK(loss.defined() && loss.numel() == 1,
              "Trainer: the loss function must return a scalar, got shape ",
              loss.defined() ? shape_string(loss.sizes()) : std::string("undefined"));
  // A copy: the all-reduce below writes into it while backward runs.
  at::Tensor loss_value =
      loss.detach().reshape({1}).to(at::kDouble, /*non_blocking=*/false, /*copy=*/true);
  if (distributed_ == nullptr) {
    loss.backward();
    if (fused_) fused_->gather_gradients();
  } else {
    // The loss's sum starts first (every rank starts collectives in the same order), then the
    // gradient buckets' while backward runs.
    const auto loss_sum = distributed_->all_reduce_sum_async(loss_value);
    if (buckets_) buckets_->prepare();
    loss.backward();
    // The buckets copied each fresh gradient as it arrived; they write the averages back into
    // .grad(), which is the flat buffer's view again from here on.
    if (fused_) fused_->gather_gradients();
    const auto backward_done = std::chrono::steady_clock::now();
    if (buckets_) {
      buckets_->finish();
    } else {
      std::vector<at::Tensor> gradients;
      if (fused_) {
        gradients.push_back(fused_->gradients());
      } else {
        for (const at::Tensor& p : parameters_) {
          if (p.grad().defined()) gradients.push_back(p.grad());
        }
      }
      distributed_->all_reduce_sum(gradients);
      for (at::Tensor& gradient : gradients)
        gradient.div_(static_cast<double>(distributed_->world_size()));
    }
    loss_sum();
    loss_value.div_(static_cast<double>(distributed_->world_size()));
    exposed_communication_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - backward_done).count();
  }
  const at::Tensor norm = fused_ ? fused_->gradient_norm() : gradient_norm(parameters_);
  return at::stack({loss_value.reshape({}), norm});
}

void StepRunner::set_distributed(DistributedContext* context, int64_t bucket_bytes) {
  buckets_.reset();
  distributed_ = context != nullptr && context->has_group() ? context : nullptr;
  if (distributed_ == nullptr) return;
  if (mode_ == StepMode::kGraph) {
    spdlog::info(
        "trainer.step graph: data-parallel training all-reduces gradients while backward runs, "
        "outside CUDA graphs; running fused steps");
    mode_ = StepMode::kFused;
    drop_graphs();
  }
  if (bucket_bytes > 0) {
    buckets_ = std::make_unique<GradientBuckets>(parameters_, *distributed_, bucket_bytes);
  }
}

at::Tensor StepRunner::eager_evaluation_forward(const at::Tensor& inputs) {
  AutocastGuard autocast(mixed_precision_, device_);
  return model_.forward(inputs);
}

const at::Tensor* StepRunner::run_recorded(
    std::vector<Recording>& recordings, const at::Tensor& inputs, const at::Tensor& targets,
    const std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>& work) {
  const std::vector<int64_t> input_shape = shape_of(inputs), target_shape = shape_of(targets);
  Recording* found = nullptr;
  for (Recording& r : recordings) {
    if (r.input_shape == input_shape && r.target_shape == target_shape) found = &r;
  }
  if (found == nullptr) {
    if (recordings.size() >= kMaxRecordedShapes) return nullptr;
    recordings.emplace_back();
    found = &recordings.back();
    found->input_shape = input_shape;
    found->target_shape = target_shape;
  }
  Recording& recording = *found;
  if (recording.inputs.defined() &&
      (inputs.scalar_type() != recording.inputs.scalar_type() ||
       (targets.defined() && targets.scalar_type() != recording.targets.scalar_type()))) {
    return nullptr;
  }
  if (!recording.graph) recording.graph = std::make_unique<CudaGraph>(device_);
  if (recording.warmups < kWarmupRuns) {
    recording.graph->run_on_capture_stream([&] { recording.result = work(inputs, targets); });
    ++recording.warmups;
    return &recording.result;
  }
  if (!recording.graph->captured()) {
    recording.inputs = inputs.clone();
    recording.targets = targets.defined() ? targets.clone() : at::Tensor();
    try {
      recording.graph->capture(
          [&] { recording.result = work(recording.inputs, recording.targets); });
    } catch (const std::exception& e) {
      const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
      spdlog::warn("CUDA graph capture failed ({}); running fused steps without graphs",
                   torch_error != nullptr ? torch_error->what_without_backtrace() : e.what());
      mode_ = StepMode::kFused;
      drop_graphs();
      return nullptr;
    }
  } else {
    recording.inputs.copy_(inputs, /*non_blocking=*/true);
    if (targets.defined()) recording.targets.copy_(targets, /*non_blocking=*/true);
  }
  recording.graph->replay();
  return &recording.result;
}

at::Tensor StepRunner::forward_backward(const at::Tensor& inputs, const at::Tensor& targets) {
  const bool fused = ensure_fused();
  if (fused && mode_ == StepMode::kGraph) {
    const auto work = [this](const at::Tensor& in, const at::Tensor& target) {
      return eager_forward_backward(in, target);
    };
    if (const at::Tensor* result = run_recorded(training_, inputs, targets, work)) return *result;
  }
  return eager_forward_backward(inputs, targets);
}

void StepRunner::scale_gradients(double factor) {
  if (fused_) {
    fused_->scale_gradients(factor);
  } else {
    train::scale_gradients(parameters_, factor);
  }
}

void StepRunner::optimizer_step() {
  if (fused_) {
    fused_->step();
  } else {
    optimizer_.step();
  }
}

at::Tensor StepRunner::evaluation_forward(const at::Tensor& inputs) {
  if (mode_ == StepMode::kGraph && ensure_fused() && mode_ == StepMode::kGraph) {
    const auto work = [this](const at::Tensor& in, const at::Tensor& /*targets*/) {
      return eager_evaluation_forward(in);
    };
    if (const at::Tensor* result = run_recorded(evaluation_, inputs, at::Tensor(), work)) {
      return result->clone();
    }
  }
  return eager_evaluation_forward(inputs);
}

}  // namespace ssmkit::train
