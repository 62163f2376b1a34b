// Per-sample random masking by shuffling, as masked autoencoders (MAE, Ti-MAE) use it: each sample
// keeps a random subset of floor(L (1 - ratio)) of its L steps, drawn by sorting uniform noise.
// The kept steps stay in time order (a scan over them must see them in order; attention does not
// care); the encoder sees only them, and the decoder puts a mask token at every removed step.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>

namespace ssmkit::ops {

struct RandomMask {
  at::Tensor keep_ids;     // (B, K) int64, the kept steps, ascending
  at::Tensor restore_ids;  // (B, L) int64, where step l sits in the order [kept..., removed...]
  at::Tensor mask;         // (B, L) 1 at removed steps, 0 at kept ones (the options' dtype)
};

// floor(length * (1 - ratio)), computed as Python's int(L * (1 - ratio)); InputError unless the
// ratio is in (0, 1) and at least one step is kept.
int64_t kept_steps(int64_t length, double mask_ratio);

// A fresh mask per sample from the default generator of `options`' device.
RandomMask random_mask(int64_t batch, int64_t length, double mask_ratio,
                       const at::TensorOptions& options);

// The steps `ids` of every sample.
at::Tensor gather_steps(const at::Tensor& x,     // (B, L, D)
                        const at::Tensor& ids);  // (B, K) int64 -> (B, K, D)

// The inverse of gather_steps(x, mask.keep_ids) with `fill` at every removed step.
at::Tensor restore_steps(const at::Tensor& kept,  // (B, K, D)
                         const at::Tensor& fill,  // (D) e.g. a learned mask token
                         const RandomMask& mask);  // -> (B, L, D)

}  // namespace ssmkit::ops
