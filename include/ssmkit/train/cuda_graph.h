// A piece of CUDA work recorded once (stream capture) and replayed many times: one launch for what
// would otherwise be hundreds of small kernel launches, each costing host time. The work must
// read and write fixed tensors (copy new inputs into them before replay()), take no host-side
// decisions from device values, and not synchronise. Only in builds with CUDA (supported()).
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <memory>

namespace ssmkit::train {

class CudaGraph {
 public:
  // True when ssmkit was built with CUDA.
  static bool supported();

  explicit CudaGraph(const c10::Device& device);  // a CUDA device
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Runs `work` eagerly on the stream that capture() records on, ordered after the work already
  // queued on the current stream. Do this once or twice before capture(): libraries create their
  // per-stream workspaces on first use, which must not happen while recording.
  void run_on_capture_stream(const std::function<void()>& work);
  // Records `work` without running it. Memory it allocates stays reserved for the graph.
  void capture(const std::function<void()>& work);
  bool captured() const;
  // Runs the recorded work on the current stream.
  void replay();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ssmkit::train
