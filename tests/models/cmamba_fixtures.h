// A small CMamba configuration shared by the model suite and the GPU trainer suite: 24 -> 8 steps,
// 3 channels, 6 patches, 2 layers of width 16.
#pragma once

#include "ssmkit/models/cmamba.h"

namespace ssmkit::testing {

inline models::CMambaOptions tiny_cmamba_options() {
  models::CMambaOptions o;
  o.seq_len = 24;
  o.pred_len = 8;
  o.enc_in = 3;
  o.patch_len = 8;
  o.stride = 4;
  o.d_model = 16;
  o.n_layers = 2;
  o.d_state = 4;
  o.dt_rank = 0;
  o.n_heads = 2;
  return o;
}

}  // namespace ssmkit::testing
