// Random masking by shuffling.
#include "ssmkit/ops/random_masking.h"

#include <torch/torch.h>

#include <cmath>

#include "ssmkit/io/error.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::ops {

int64_t kept_steps(int64_t length, double mask_ratio) {
  if (!(mask_ratio > 0.0 && mask_ratio < 1.0)) {
    throw InputError("mask_ratio must be in (0, 1), got " + std::to_string(mask_ratio), "mask_ratio");
  }
  const auto kept = static_cast<int64_t>(static_cast<double>(length) * (1.0 - mask_ratio));
  if (kept < 1) {
    throw InputError("mask_ratio " + std::to_string(mask_ratio) + " keeps no step of a sequence of " +
                         std::to_string(length),
                     "mask_ratio");
  }
  return kept;
}

RandomMask random_mask(int64_t batch, int64_t length, double mask_ratio,
                       const at::TensorOptions& options) {
  const int64_t kept = kept_steps(length, mask_ratio);
  // Small noise is kept: the first `kept` of the ascending order.
  const at::Tensor shuffle = torch::argsort(torch::rand({batch, length}, options.dtype(torch::kFloat32)), /*dim=*/1, /*descending=*/false);
  RandomMask m;
  m.keep_ids = std::get<0>(torch::sort(shuffle.narrow(1, 0, kept), 1));
  const at::Tensor removed = std::get<0>(torch::sort(shuffle.narrow(1, kept, length - kept), 1));
  m.restore_ids = torch::argsort(torch::cat({m.keep_ids, removed}, 1), /*dim=*/1, /*descending=*/false);
  m.mask = torch::ones({batch, length}, options);
  m.mask.scatter_(1, m.keep_ids, torch::zeros({batch, kept}, options));
  return m;
}

at::Tensor gather_steps(const at::Tensor& x, const at::Tensor& ids) {
  TORCH_CHECK(x.dim() == 3 && ids.dim() == 2 && ids.size(0) == x.size(0),
              "gather_steps: expected x (B, L, D) and ids (B, K), got ", shape_string(x.sizes()),
              " and ", shape_string(ids.sizes()));
  return torch::gather(x, 1, ids.unsqueeze(-1).expand({ids.size(0), ids.size(1), x.size(2)}));
}

at::Tensor restore_steps(const at::Tensor& kept, const at::Tensor& fill, const RandomMask& mask) {
  const int64_t batch = kept.size(0), length = mask.restore_ids.size(1), dim = kept.size(2);
  TORCH_CHECK(kept.dim() == 3 && kept.size(1) == mask.keep_ids.size(1) && fill.numel() == dim,
              "restore_steps: kept ", shape_string(kept.sizes()), " and fill ",
              shape_string(fill.sizes()), " do not match the mask");
  const at::Tensor removed =
      fill.reshape({1, 1, dim}).to(kept.scalar_type()).expand({batch, length - kept.size(1), dim});
  return gather_steps(torch::cat({kept, removed}, 1), mask.restore_ids);
}

}  // namespace ssmkit::ops
