// DataLoader: per-epoch order, batch building, and a bounded pool of prefetching workers that
// deliver batches strictly in order.
#include "ssmkit/data/data_loader.h"

#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "ssmkit/io/error.h"

namespace ssmkit::data {
namespace {

// Independent random streams drawn from one user seed.
constexpr uint64_t kShuffleStream = 1;
constexpr uint64_t kTransformStream = 2;

}  // namespace

// Workers claim batch numbers in increasing order and may run at most `capacity` batches ahead of
// the consumer; finished batches wait in a map until next() asks for their number.
class DataLoader::Prefetcher {
 public:
  using BuildFn = std::function<Batch(int64_t)>;

  Prefetcher(BuildFn build, int64_t total, int64_t workers, int64_t capacity)
      : build_(std::move(build)), total_(total), capacity_(capacity) {
    const int64_t threads = std::min(workers, total);
    for (int64_t i = 0; i < threads; ++i)
      threads_.emplace_back([this] { work(); });
  }

  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    space_cv_.notify_all();
    for (auto& thread : threads_)
      thread.join();
  }

  bool next(Batch& batch) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (next_to_deliver_ >= total_) return false;
    ready_cv_.wait(lock, [&] { return done_.count(next_to_deliver_) > 0; });
    auto node = done_.extract(next_to_deliver_);
    ++next_to_deliver_;
    if (node.mapped().error) {
      // The pass ends at its first failing batch; later batches are abandoned.
      next_to_deliver_ = total_;
      stopping_ = true;
      lock.unlock();
      space_cv_.notify_all();
      std::rethrow_exception(node.mapped().error);
    }
    lock.unlock();
    space_cv_.notify_all();
    batch = std::move(node.mapped().batch);
    return true;
  }

 private:
  struct Result {
    Batch batch;
    std::exception_ptr error;
  };

  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      space_cv_.wait(lock, [&] {
        return stopping_ || next_to_claim_ >= total_ ||
               next_to_claim_ < next_to_deliver_ + capacity_;
      });
      if (stopping_ || next_to_claim_ >= total_) return;
      const int64_t index = next_to_claim_++;
      lock.unlock();
      Result result;
      try {
        result.batch = build_(index);
      } catch (...) {
        result.error = std::current_exception();
      }
      lock.lock();
      done_.emplace(index, std::move(result));
      ready_cv_.notify_all();
    }
  }

  BuildFn build_;
  const int64_t total_;
  const int64_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_cv_;  // a batch was finished
  std::condition_variable space_cv_;  // the consumer took a batch, or stop
  int64_t next_to_claim_ = 0;
  int64_t next_to_deliver_ = 0;
  bool stopping_ = false;
  std::map<int64_t, Result> done_;
  std::vector<std::thread> threads_;
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options,
                       std::shared_ptr<const Transform> transform)
    : dataset_(std::move(dataset)), options_(options), transform_(std::move(transform)) {
  if (dataset_ == nullptr) throw InputError("DataLoader: no dataset given");
  options_.shard.check("DataLoader");
  if (options_.batch_size < 1) {
    throw InputError("DataLoader: batch size is " + std::to_string(options_.batch_size) +
                     ", expected at least 1");
  }
  if (options_.num_workers < 0) {
    throw InputError("DataLoader: number of workers is " + std::to_string(options_.num_workers) +
                     ", expected 0 or more");
  }
  if (options_.prefetch_per_worker < 1) {
    throw InputError("DataLoader: prefetch per worker is " +
                     std::to_string(options_.prefetch_per_worker) + ", expected at least 1");
  }
}

DataLoader::~DataLoader() {
  stop_workers();
}

void DataLoader::stop_workers() {
  prefetcher_.reset();
}

int64_t DataLoader::num_batches() const {
  const int64_t n = options_.shard.examples(dataset_->size());
  const int64_t b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

int64_t DataLoader::num_examples() const {
  return options_.drop_last ? num_batches() * options_.batch_size
                            : options_.shard.examples(dataset_->size());
}

void DataLoader::set_shard(const DataShard& shard) {
  shard.check("DataLoader");
  stop_workers();
  started_ = false;
  options_.shard = shard;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(dataset_->size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (options_.shuffle) {
    SeededRng rng(SeededRng::derive({options_.seed, kShuffleStream, static_cast<uint64_t>(epoch)}));
    // Fisher-Yates with our own generator: the order is the same on every platform.
    for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i) {
      std::swap(order[i], order[rng.uniform_int(0, i)]);
    }
  }
  return options_.shard.select(order);
}

Batch DataLoader::build_batch(int64_t epoch, const std::vector<int64_t>& order,
                              int64_t batch_index) const {
  const int64_t begin = batch_index * options_.batch_size;
  const int64_t end =
      std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(order.size()));
  const std::vector<int64_t> indices(order.begin() + begin, order.begin() + end);
  if (transform_ == nullptr) return dataset_->get_batch(indices);
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t index : indices) {
    SeededRng rng(SeededRng::derive({options_.seed, kTransformStream, static_cast<uint64_t>(epoch),
                                     static_cast<uint64_t>(index)}));
    examples.push_back(transform_->apply(dataset_->get(index), rng));
  }
  return stack_examples(examples);
}

void DataLoader::reset(int64_t epoch) {
  stop_workers();
  started_ = true;
  epoch_ = epoch;
  next_batch_ = 0;
  order_ = epoch_order(epoch);
  if (options_.num_workers > 0 && num_batches() > 0) {
    // The workers get their own copy of the order, so a later reset cannot change it under them.
    auto order = std::make_shared<const std::vector<int64_t>>(order_);
    prefetcher_ = std::make_unique<Prefetcher>(
        [this, epoch, order](int64_t index) { return build_batch(epoch, *order, index); },
        num_batches(), options_.num_workers, options_.num_workers * options_.prefetch_per_worker);
  }
}

bool DataLoader::next(Batch& batch) {
  TORCH_CHECK(started_, "DataLoader::next: call reset(epoch) before the first batch");
  if (prefetcher_ != nullptr) return prefetcher_->next(batch);
  if (next_batch_ >= num_batches()) return false;
  const int64_t index = next_batch_++;
  try {
    batch = build_batch(epoch_, order_, index);
  } catch (...) {
    next_batch_ = num_batches();  // as with workers, a failure ends the pass
    throw;
  }
  return true;
}

}  // namespace ssmkit::data
