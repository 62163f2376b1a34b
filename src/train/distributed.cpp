// c10d process groups from the torchrun environment.
#include "ssmkit/train/distributed.h"

#include <torch/torch.h>

#include <cstdlib>

#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

#if defined(SSMKIT_WITH_C10D_GLOO) || defined(SSMKIT_WITH_C10D_NCCL)
#define SSMKIT_WITH_C10D 1
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(SSMKIT_WITH_C10D_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(SSMKIT_WITH_C10D_NCCL)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace ssmkit::train {
namespace {

const char* const kVariables[] = {"RANK",        "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                  "MASTER_ADDR", "MASTER_PORT"};

int64_t integer_variable(const char* name, int64_t minimum) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') {
    throw InputError(std::string(name) +
                     ": not set (a distributed run needs RANK, WORLD_SIZE, "
                     "MASTER_ADDR and MASTER_PORT; ssmkit_run sets them)");
  }
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < minimum) {
    throw InputError(std::string(name) + ": expected an integer >= " + std::to_string(minimum) +
                     ", got '" + text + "'");
  }
  return value;
}

}  // namespace

DistributedEnvironment DistributedEnvironment::from_environment() {
  DistributedEnvironment env;
  for (const char* name : kVariables) {
    if (std::getenv(name) != nullptr) env.present = true;
  }
  if (!env.present) return env;
  env.rank = integer_variable("RANK", 0);
  env.world_size = integer_variable("WORLD_SIZE", 1);
  if (env.rank >= env.world_size) {
    throw InputError("RANK: " + std::to_string(env.rank) + " is not below WORLD_SIZE " +
                     std::to_string(env.world_size));
  }
  env.local_rank = std::getenv("LOCAL_RANK") ? integer_variable("LOCAL_RANK", 0) : env.rank;
  env.local_world_size =
      std::getenv("LOCAL_WORLD_SIZE") ? integer_variable("LOCAL_WORLD_SIZE", 1) : env.world_size;
  const char* addr = std::getenv("MASTER_ADDR");
  if (addr == nullptr || *addr == '\0') {
    throw InputError("MASTER_ADDR: not set (the host of rank 0, e.g. 127.0.0.1)");
  }
  env.master_addr = addr;
  env.master_port = integer_variable("MASTER_PORT", 1);
  if (env.master_port > 65535)
    throw InputError("MASTER_PORT: " + std::to_string(env.master_port) + " is not a port");
  return env;
}

#if defined(SSMKIT_WITH_C10D)

namespace {
// LibTorch 2 split the process group into a front (ProcessGroup) and backends (Gloo, NCCL):
// the backend objects have the collectives of 1.x's ProcessGroup.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveGroup = c10d::Backend;
#else
using CollectiveGroup = c10d::ProcessGroup;
#endif

std::string built_backends() {
  std::string names;
#if defined(SSMKIT_WITH_C10D_GLOO)
  names += "gloo";
#endif
#if defined(SSMKIT_WITH_C10D_NCCL)
  names += names.empty() ? "nccl" : " and nccl";
#endif
  return names;
}
}  // namespace

struct DistributedContext::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CollectiveGroup> group;
  // Where the backend's collectives take their tensors: the rank's GPU for NCCL, else the host.
  c10::Device device = c10::Device(c10::kCPU);

  // Runs `collective` on `tensor`, through a copy on the group's device when the tensor is
  // elsewhere: NCCL reduces CUDA tensors only, and the trainer's metrics and flags live on the
  // host.
  template <typename Collective>
  void run_on_device(at::Tensor& tensor, const Collective& collective) {
    if (tensor.device() == device) {
      std::vector<at::Tensor> one = {tensor};
      collective(one);
      return;
    }
    std::vector<at::Tensor> staged = {tensor.to(device)};
    collective(staged);
    tensor.copy_(staged[0]);
  }
};

bool distributed_available() {
  return true;
}

DistributedContext DistributedContext::join(const DistributedEnvironment& env,
                                            const std::string& backend, const c10::Device& device,
                                            std::chrono::milliseconds timeout) {
  DistributedContext context;
  if (!env.present) return context;
  if (backend != "auto" && backend != "gloo" && backend != "nccl") {
    throw InputError("--dist_backend: expected gloo, nccl or auto, got '" + backend + "'");
  }
  const std::string chosen = backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : backend;
  const std::string built = built_backends();
  if (built.find(chosen) == std::string::npos) {
    throw InputError("--dist_backend: '" + chosen + "' is not in this build (" + built + " is)");
  }
  if (chosen == "nccl" && !device.is_cuda()) {
    throw InputError("--dist_backend: nccl needs a CUDA device (--device cuda), got " +
                     device.str());
  }
  auto group = std::make_unique<Group>();
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.master_port);
    options.isServer = env.rank == 0;
    options.numWorkers = static_cast<size_t>(env.world_size);
    options.waitWorkers = true;
    options.timeout = timeout;
    group->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
#if defined(SSMKIT_WITH_C10D_NCCL)
    if (chosen == "nccl") {
      c10::cuda::set_device(device.index() < 0 ? 0 : device.index());
      group->device = c10::Device(c10::kCUDA, device.index() < 0 ? 0 : device.index());
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      group->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          group->store, static_cast<int>(env.rank), static_cast<int>(env.world_size), nccl);
    }
#endif
#if defined(SSMKIT_WITH_C10D_GLOO)
    if (chosen == "gloo") {
      auto gloo = c10d::ProcessGroupGloo::Options::create();
      gloo->timeout = timeout;
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      group->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          group->store, static_cast<int>(env.rank), static_cast<int>(env.world_size), gloo);
    }
#endif
    // A first collective, so that a rank that never comes is reported here, by the timeout.
    group->group->barrier()->wait();
  } catch (const std::exception& e) {
    throw InputError("MASTER_ADDR:MASTER_PORT " + where + ": rendezvous of " +
                     std::to_string(env.world_size) + " processes failed within " +
                     std::to_string(timeout.count() / 1000) + " s (" + first_line_of(e) + ")");
  }
  context.group_ = std::move(group);
  context.rank_ = env.rank;
  context.world_size_ = env.world_size;
  context.backend_ = chosen;
  return context;
}

void DistributedContext::broadcast(std::vector<at::Tensor>& tensors, int64_t root) {
  if (!group_) return;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (at::Tensor& tensor : tensors) {
    group_->run_on_device(tensor, [&](std::vector<at::Tensor>& one) {
      group_->group->broadcast(one, options)->wait();
    });
  }
}

void DistributedContext::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (!group_) return;
  // One collective per tensor: Gloo takes a list of tensors of one dtype and shape as the
  // buffers of a single reduction, not as separate ones.
  for (at::Tensor& tensor : tensors) {
    group_->run_on_device(
        tensor, [&](std::vector<at::Tensor>& one) { group_->group->allreduce(one)->wait(); });
  }
}

std::function<void()> DistributedContext::all_reduce_sum_async(at::Tensor& tensor) {
  if (!group_) return [] {};
  std::vector<at::Tensor> one = {tensor};
  auto work = group_->group->allreduce(one);
  return [work] { work->wait(); };
}

void DistributedContext::barrier() {
  if (group_) group_->group->barrier()->wait();
}

#else

struct DistributedContext::Group {};

bool distributed_available() {
  return false;
}

DistributedContext DistributedContext::join(const DistributedEnvironment& env, const std::string&,
                                            const c10::Device&, std::chrono::milliseconds) {
  if (env.present && env.world_size > 1) {
    throw InputError("WORLD_SIZE " + std::to_string(env.world_size) +
                     ": this build has no c10d process group (install libgloo-dev and rebuild)");
  }
  return DistributedContext();
}

void DistributedContext::broadcast(std::vector<at::Tensor>&, int64_t) {}
void DistributedContext::all_reduce_sum(std::vector<at::Tensor>&) {}
std::function<void()> DistributedContext::all_reduce_sum_async(at::Tensor&) {
  return [] {};
}
void DistributedContext::barrier() {}

#endif

DistributedContext::DistributedContext() = default;
DistributedContext::~DistributedContext() = default;
DistributedContext::DistributedContext(DistributedContext&&) noexcept = default;
DistributedContext& DistributedContext::operator=(DistributedContext&&) noexcept = default;

DistributedContext& DistributedContext::of_process(const std::string& backend,
                                                   const c10::Device& device,
                                                   std::chrono::milliseconds timeout) {
  // Joined once: a second TCPStore on MASTER_PORT would fail, and every part of a program must
  // use the same group.
  static DistributedContext process =
      join(DistributedEnvironment::from_environment(), backend, device, timeout);
  return process;
}

double DistributedContext::all_reduce_mean(double value) {
  if (!is_distributed()) return value;
  std::vector<at::Tensor> one = {torch::full({1}, value, torch::kFloat64)};
  all_reduce_sum(one);
  return one[0].item<double>() / static_cast<double>(world_size_);
}

}  // namespace ssmkit::train
