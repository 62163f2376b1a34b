// Data-parallel gradient averaging that overlaps communication with backward, as the c10d
// Reducer of PyTorch's DistributedDataParallel does: the parameters are split into buckets of
// about `bucket_bytes` in reverse registration order (the order in which backward produces
// their gradients); a hook on each parameter's gradient accumulator copies its gradient into
// its bucket, and a bucket whose gradients are all in starts its all-reduce at once, while
// backward computes the gradients of earlier layers. Buckets start in index order on every
// rank (collectives must match across ranks). finish() waits for the last ones and writes the
// averaged gradients back.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "ssmkit/train/distributed.h"

namespace torch::autograd {
struct Node;
}

namespace ssmkit::train {

// PyTorch's DistributedDataParallel default (bucket_cap_mb = 25).
inline constexpr int64_t kDefaultBucketBytes = 25 * 1024 * 1024;

class GradientBuckets {
 public:
  // `parameters`: those that require gradients, in the model's registration order; they and
  // `context` must outlive this object.
  GradientBuckets(std::vector<at::Tensor> parameters, DistributedContext& context,
                  int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Arms the hooks for the next backward (a backward outside prepare/finish is left alone).
  void prepare();
  // After backward: starts the buckets that did not fill (parameters without a gradient in this
  // step count as zeros), waits for all, and leaves every gradient averaged over the ranks.
  void finish();

  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets started from a hook while backward ran, summed over the steps so far.
  int64_t overlapped_buckets() const { return overlapped_buckets_; }

 private:
  struct Bucket {
    std::vector<size_t> members;   // indices into parameters_
    std::vector<int64_t> offsets;  // each member's offset in `flat`
    at::Tensor flat;               // (numel) the members' gradients, one after the other
    size_t ready = 0;              // members whose gradient is in this step
    std::function<void()> wait;    // of the all-reduce once started
  };

  void on_gradient(size_t parameter);  // a hook: parameter's gradient is accumulated
  void copy_in(size_t parameter);
  void start_ready_buckets();  // in index order, as far as they are full

  std::vector<at::Tensor> parameters_;
  DistributedContext& context_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // parameter -> bucket
  std::vector<size_t> slot_of_;    // parameter -> its place among its bucket's members
  std::vector<bool> arrived_;      // parameter -> gradient copied in this step
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // kept alive for hooks
  std::vector<uintptr_t> hook_keys_;                                  // to remove them
  // Held by this object alone; the hooks see it expire when this object is gone.
  std::shared_ptr<GradientBuckets*> alive_;
  std::mutex mutex_;
  bool armed_ = false;
  size_t next_bucket_ = 0;  // buckets before it have started this step
  int64_t overlapped_buckets_ = 0;
};

}  // namespace ssmkit::train
