// Dropout with a fast CPU mask.
#include "ssmkit/ops/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <mutex>

#include "dropout_mask_kernel.h"
#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

// Elements per parallel task: enough to amortise the task, small enough to spread a batch.
constexpr int64_t kMaskGrain = 1 << 14;

uint64_t draw_seed() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(generator)->random64();
}

void check_probability(double p) {
  if (!(p >= 0.0 && p < 1.0))
    throw InputError("dropout: p must be in [0, 1), got " + std::to_string(p));
}

// Each element keep_value, or 0 with probability p, from the default generator.
template <typename T>
at::Tensor cpu_mask(at::IntArrayRef sizes, const at::TensorOptions& options, double p,
                    T keep_value) {
  at::Tensor mask = at::empty(sizes, options.memory_format(at::MemoryFormat::Contiguous));
  T* out = mask.data_ptr<T>();
  const uint64_t seed = draw_seed();
  const auto threshold = static_cast<uint32_t>(std::lround(p * kernels_cpu::kDropoutLevels));
  at::parallel_for(0, mask.numel(), kMaskGrain, [&](int64_t begin, int64_t end) {
    kernels_cpu::fill_dropout_mask<T>(out, begin, end, seed, threshold, keep_value);
  });
  return mask;
}

template <typename T>
at::Tensor scaled_mask(const at::Tensor& like, double p) {
  return cpu_mask<T>(like.sizes(), like.options(), p, static_cast<T>(1.0 / (1.0 - p)));
}

}  // namespace

at::Tensor dropout(const at::Tensor& x, double p, bool training) {
  check_probability(p);
  if (!training || p == 0.0) return x;
  if (!x.device().is_cpu() || (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble)) {
    return torch::dropout(x, p, /*train=*/true);
  }
  // The mask is a constant: autograd records only the product (its backward is grad * mask).
  const at::Tensor mask =
      x.scalar_type() == at::kFloat ? scaled_mask<float>(x, p) : scaled_mask<double>(x, p);
  return x * mask;
}

at::Tensor dropout_keep_mask(at::IntArrayRef sizes, double p) {
  check_probability(p);
  return cpu_mask<uint8_t>(sizes, at::TensorOptions(at::kByte), p, uint8_t{1});
}

at::Tensor channel_dropout(const at::Tensor& x, double p, bool training) {
  check_rank(x, "channel_dropout", "x", "(B, L, H)", 3);
  const at::Tensor scale = channel_dropout_scale(x, p, training);
  return scale.defined() ? x * scale : x;  // (B, L, H)
}

at::Tensor channel_dropout_scale(const at::Tensor& x, double p, bool training) {
  check_rank(x, "channel_dropout_scale", "x", "(B, L, H)", 3);
  if (!training || p == 0.0) {
    (void)ops::dropout(x, p, false);  // checks p
    return at::Tensor();
  }
  // The mask of one step, broadcast over L: the same generator and kernel as dropout().
  return ops::dropout(at::ones({x.size(0), 1, x.size(2)}, x.options()), p, true);
}

}  // namespace ssmkit::ops
