// CUDA graph capture and replay through ATen's CUDAGraph, on a side stream (capture cannot record
// the default stream). Without CUDA the class only reports that it is unsupported.
#include "ssmkit/train/cuda_graph.h"

#include <c10/util/Exception.h>

#ifdef SSMKIT_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace ssmkit::train {

#ifdef SSMKIT_WITH_CUDA

struct CudaGraph::State {
  explicit State(const c10::Device& d)
      : device(d), stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, d.index())) {}
  c10::Device device;
  c10::cuda::CUDAStream stream;
  std::unique_ptr<at::cuda::CUDAGraph> graph;

  // Runs `work` on `stream`, ordered after the current stream's queue and before its later work.
  template <typename Work>
  void on_side_stream(Work&& work) {
    c10::cuda::CUDAGuard device_guard(device);
    const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(device.index());
    at::cuda::CUDAEvent queued;
    queued.record(current);
    queued.block(stream);
    {
      c10::cuda::CUDAStreamGuard stream_guard(stream);
      work();
    }
    at::cuda::CUDAEvent done;
    done.record(stream);
    done.block(current);
  }
};

bool CudaGraph::supported() {
  return true;
}

CudaGraph::CudaGraph(const c10::Device& device) {
  TORCH_CHECK(device.is_cuda(), "CudaGraph: needs a CUDA device, got ", device.str());
  c10::Device resolved = device;
  if (!resolved.has_index()) resolved = c10::Device(c10::kCUDA, c10::cuda::current_device());
  state_ = std::make_unique<State>(resolved);
}

CudaGraph::~CudaGraph() = default;

void CudaGraph::run_on_capture_stream(const std::function<void()>& work) {
  state_->on_side_stream(work);
}

void CudaGraph::capture(const std::function<void()>& work) {
  TORCH_CHECK(!captured(), "CudaGraph::capture: already captured");
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  state_->on_side_stream([&] {
    graph->capture_begin();
    try {
      work();
    } catch (...) {
      // End the capture so the stream is usable again; the partial graph is dropped.
      try {
        graph->capture_end();
      } catch (...) {
      }
      throw;
    }
    graph->capture_end();
  });
  state_->graph = std::move(graph);
}

bool CudaGraph::captured() const {
  return state_->graph != nullptr;
}

void CudaGraph::replay() {
  TORCH_CHECK(captured(), "CudaGraph::replay: nothing captured");
  c10::cuda::CUDAGuard device_guard(state_->device);
  state_->graph->replay();
}

#else

struct CudaGraph::State {};

bool CudaGraph::supported() {
  return false;
}

CudaGraph::CudaGraph(const c10::Device& device) {
  TORCH_CHECK(false, "CudaGraph: ssmkit was built without CUDA (device ", device.str(), ")");
}

CudaGraph::~CudaGraph() = default;

void CudaGraph::run_on_capture_stream(const std::function<void()>& /*work*/) {
  TORCH_CHECK(false, "CudaGraph: ssmkit was built without CUDA");
}

void CudaGraph::capture(const std::function<void()>& /*work*/) {
  TORCH_CHECK(false, "CudaGraph: ssmkit was built without CUDA");
}

bool CudaGraph::captured() const {
  return false;
}

void CudaGraph::replay() {
  TORCH_CHECK(false, "CudaGraph: ssmkit was built without CUDA");
}

#endif

}  // namespace ssmkit::train
