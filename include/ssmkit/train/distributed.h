// Data-parallel process groups on PyTorch's own c10d engine: the environment contract of torchrun
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), a TCPStore
// rendezvous with a timeout, and a Gloo process group on CPUs (NCCL on GPUs where LibTorch has
// it). Without those variables a program runs as a single process and no group is made.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ssmkit::train {

struct DistributedEnvironment {
  bool present = false;  // any of the variables is set
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  int64_t local_world_size = 1;
  std::string master_addr;
  int64_t master_port = 0;

  // Reads the torchrun variables. When any is set, RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
  // are required (LOCAL_* default to RANK and WORLD_SIZE); InputError names the variable that is
  // missing or malformed, or a RANK outside [0, WORLD_SIZE).
  static DistributedEnvironment from_environment();
};

// True when this build can make process groups (LibTorch's c10d with Gloo).
bool distributed_available();

class DistributedContext {
 public:
  // A single-process context: rank 0 of 1, every collective the identity.
  DistributedContext();
  ~DistributedContext();
  DistributedContext(DistributedContext&&) noexcept;
  DistributedContext& operator=(DistributedContext&&) noexcept;

  // Joins the group of `environment` (single-process when it is absent; a started run of world
  // size 1 still makes its group, as torchrun's does). `backend` is gloo, nccl or auto (nccl
  // for a CUDA device, else gloo). InputError when the rendezvous at MASTER_ADDR:MASTER_PORT
  // does not complete within `timeout` (naming both), or the backend is not in this build.
  static DistributedContext join(const DistributedEnvironment& environment,
                                 const std::string& backend, const c10::Device& device,
                                 std::chrono::milliseconds timeout);
  // The process's one context, joined from the environment on the first call (later calls
  // return it whatever they pass): what every training program uses.
  static DistributedContext& of_process(const std::string& backend, const c10::Device& device,
                                        std::chrono::milliseconds timeout);

  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  bool is_distributed() const { return world_size_ > 1; }
  // Whether a process group was made (also for a started run of world size 1).
  bool has_group() const { return group_ != nullptr; }
  const std::string& backend() const { return backend_; }

  // Tensors may be on the host or the rank's device: NCCL groups copy host tensors to the GPU and
  // back (the asynchronous all-reduce takes device tensors only).
  // In place: every rank ends with rank `root`'s values.
  void broadcast(std::vector<at::Tensor>& tensors, int64_t root = 0);
  // In place: every rank ends with the sum over ranks.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  // Starts the sum over ranks of `tensor` in place and returns at once; the returned function
  // waits for it (on CUDA: makes the current stream wait). Every rank must start the same
  // collectives in the same order.
  std::function<void()> all_reduce_sum_async(at::Tensor& tensor);
  // The mean over ranks of one number per rank.
  double all_reduce_mean(double value);
  void barrier();

 private:
  struct Group;
  std::unique_ptr<Group> group_;
  int64_t rank_ = 0;
  int64_t world_size_ = 1;
  std::string backend_ = "none";
};

}  // namespace ssmkit::train
