// Bucketed gradient all-reduce overlapping backward.
#include "ssmkit/train/gradient_buckets.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

namespace ssmkit::train {
namespace {

// DistributedDataParallel's first bucket is small, so that communication starts early.
constexpr int64_t kFirstBucketBytes = 1024 * 1024;

// Calls `on_ready` after the accumulator has added this step's gradient to the parameter.
class GradientReadyHook : public torch::autograd::FunctionPostHook {
 public:
  explicit GradientReadyHook(std::function<void()> on_ready) : on_ready_(std::move(on_ready)) {}
  torch::autograd::variable_list operator()(
      const torch::autograd::variable_list& outputs,
      const torch::autograd::variable_list& /*inputs*/) override {
    on_ready_();
    return outputs;
  }

 private:
  std::function<void()> on_ready_;
};

}  // namespace

GradientBuckets::GradientBuckets(std::vector<at::Tensor> parameters, DistributedContext& context,
                                 int64_t bucket_bytes)
    : parameters_(std::move(parameters)),
      context_(context),
      bucket_of_(parameters_.size()),
      slot_of_(parameters_.size()),
      arrived_(parameters_.size(), false) {
  // Reverse registration order: backward reaches the last layers first.
  int64_t bytes = 0;
  for (size_t k = parameters_.size(); k-- > 0;) {
    const at::Tensor& p = parameters_[k];
    const int64_t size = p.numel() * static_cast<int64_t>(p.element_size());
    const int64_t cap =
        buckets_.size() <= 1 ? std::min(kFirstBucketBytes, bucket_bytes) : bucket_bytes;
    const bool fits =
        !buckets_.empty() && bytes + size <= cap &&
        parameters_[buckets_.back().members.front()].options().type_equal(p.options());
    if (!fits) {
      buckets_.emplace_back();
      bytes = 0;
    }
    slot_of_[k] = buckets_.back().members.size();
    buckets_.back().members.push_back(k);
    bytes += size;
    bucket_of_[k] = buckets_.size() - 1;
  }
  for (Bucket& bucket : buckets_) {
    int64_t total = 0;
    for (size_t k : bucket.members) {
      bucket.offsets.push_back(total);
      total += parameters_[k].numel();
    }
    bucket.flat = at::zeros({total}, parameters_[bucket.members.front()].options());
  }
  alive_ = std::make_shared<GradientBuckets*>(this);
  for (size_t k = 0; k < parameters_.size(); ++k) {
    auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[k]);
    std::weak_ptr<GradientBuckets*> alive = alive_;
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<GradientReadyHook>([alive, k] {
      if (auto self = alive.lock()) (*self)->on_gradient(k);
    })));
    accumulators_.push_back(std::move(accumulator));
  }
}

GradientBuckets::~GradientBuckets() {
  alive_.reset();
  for (size_t k = 0; k < accumulators_.size(); ++k)
    accumulators_[k]->del_post_hook(hook_keys_[k]);
}

void GradientBuckets::prepare() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;
  next_bucket_ = 0;
  for (Bucket& bucket : buckets_) {
    bucket.ready = 0;
    bucket.wait = nullptr;
  }
  std::fill(arrived_.begin(), arrived_.end(), false);
}

void GradientBuckets::copy_in(size_t k) {
  Bucket& bucket = buckets_[bucket_of_[k]];
  at::Tensor view = bucket.flat.narrow(0, bucket.offsets[slot_of_[k]], parameters_[k].numel());
  const at::Tensor& grad = parameters_[k].grad();
  if (grad.defined()) {
    view.copy_(grad.reshape({-1}));
  } else {
    view.zero_();
  }
  arrived_[k] = true;
  ++bucket.ready;
}

void GradientBuckets::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() &&
         buckets_[next_bucket_].ready == buckets_[next_bucket_].members.size()) {
    Bucket& bucket = buckets_[next_bucket_++];
    bucket.wait = context_.all_reduce_sum_async(bucket.flat);
  }
}

void GradientBuckets::on_gradient(size_t k) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || arrived_[k]) return;
  copy_in(k);
  const size_t before = next_bucket_;
  start_ready_buckets();
  overlapped_buckets_ += static_cast<int64_t>(next_bucket_ - before);
}

void GradientBuckets::finish() {
  std::unique_lock<std::mutex> lock(mutex_);
  // Parameters that got no gradient this step (unused in the forward) count as zeros.
  for (size_t k = 0; k < parameters_.size(); ++k) {
    if (!arrived_[k]) copy_in(k);
  }
  start_ready_buckets();
  armed_ = false;
  lock.unlock();
  for (Bucket& bucket : buckets_)
    bucket.wait();
  const double ranks = static_cast<double>(context_.world_size());
  for (Bucket& bucket : buckets_) {
    bucket.flat.div_(ranks);
    for (size_t slot = 0; slot < bucket.members.size(); ++slot) {
      at::Tensor& p = parameters_[bucket.members[slot]];
      // A gradient that no rank produced stays undefined (the optimizer skips it).
      if (!p.grad().defined()) continue;
      p.mutable_grad().copy_(
          bucket.flat.narrow(0, bucket.offsets[slot], p.numel()).view(p.grad().sizes()));
    }
  }
}

}  // namespace ssmkit::train
