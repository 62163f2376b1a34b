// Element types the CUDA kernels take for activations (they compute in float32). Shared by every
// kernel family's params; no LibTorch, no CUDA headers.
#pragma once

namespace ssmkit::kernels {

enum class ElementDtype { kFloat32, kBFloat16, kFloat16 };

}  // namespace ssmkit::kernels
