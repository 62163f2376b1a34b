// The loops of the CPU multi-head attention, torch-free. Included once per instruction set by an
// attention_cpu_kernel_<isa>.cpp that defines SSMKIT_KERNEL_ISA (see vector_lanes_impl.h).
//
// One (batch, head) pair at a time, like the CUDA kernels' thread blocks: its keys and values are
// copied into scratch, once as rows and once transposed, and each query row is walked against
// them. The score row of a query (L values) is computed vectorised over the keys from the
// transposed keys, its softmax in place, and the weighted sum of values vectorised over the head's
// channels. Nothing of size L x L is kept: the backward recomputes each row of weights from the
// saved log-normalisers and reads the dropout mask the forward read. LibTorch 1.13's matrix form
// of the same attention (batched products of 141 x 16 matrices, a softmax and a dropout product
// over (B, H, L, L) tensors) spent most of a Ti-MAE step in OpenBLAS's per-call packing and
// zeroing and in memory traffic.
#ifndef SSMKIT_KERNEL_ISA
#error "define SSMKIT_KERNEL_ISA (the namespace of this build) before including this file"
#endif

#include <math.h>
#include <stdint.h>

#include "attention_cpu_kernel.h"
#include "vector_lanes_impl.h"

namespace ssmkit::kernels_cpu::SSMKIT_KERNEL_ISA {

#define SSMKIT_LANES_INLINE_LAMBDA __attribute__((always_inline))

// Score rows are padded to a multiple of the widest build's vector (16 floats), so the scratch
// size does not depend on the build.
constexpr int64_t kRowPad = 16;
static_assert(kRowPad % kWidth<float> == 0, "a padded row is a whole number of vectors");

inline int64_t padded_length(int64_t length) {
  return (length + kRowPad - 1) / kRowPad * kRowPad;
}

// Query rows the backward handles between two updates of the key and value gradients: their
// weight and weight-gradient rows stay in L1/L2, whatever the sequence length.
constexpr int64_t kRowBlock = 32;

// One (batch, head) pair's view of the packed projection and its scratch.
struct HeadView {
  int64_t length, padded, dim;
  int64_t step;       // floats between two steps of qkv (3 H d)
  int64_t out_step;   // floats between two steps of y (H d)
  const float* q;     // this head's query of step 0; keys at + H d, values at + 2 H d
  int64_t out;        // offset of this head's output of step 0 in y
  float* keys_t;      // (d, Lp): keys transposed, zero past L
  float* values_t;    // (d, Lp): values transposed, zero past L
  float* keys;        // (L, d)
  float* values;      // (L, d)
  float* row;         // (Lp): one query's scores, then weights
  float* row2;        // (Lp): one query's weight gradients
  float* queries;     // (L, d), scaled by 1 / sqrt(d)                         (backward)
  float* grads;       // (L, d): grad_y                                       (backward)
  float* grad_kt;     // (d, Lp): key gradients, transposed                   (backward)
  float* grad_vt;     // (d, Lp): value gradients, transposed                 (backward)
  float* score_grad;  // (kRowBlock, Lp): dS of a block of query rows         (backward)
  float* kept;        // (kRowBlock, Lp): P M (dropped, rescaled weights)     (backward)
};

inline HeadView head_view(const kernels::AttentionShape& s, const float* qkv, int64_t bh,
                          float* scratch) {
  HeadView v;
  const int64_t b = bh / s.heads, h = bh % s.heads, hd = s.heads * s.head_dim;
  v.length = s.length;
  v.padded = padded_length(s.length);
  v.dim = s.head_dim;
  v.step = 3 * hd;
  v.out_step = hd;
  v.q = qkv + b * s.length * v.step + h * s.head_dim;
  v.out = b * s.length * hd + h * s.head_dim;
  const int64_t rows = s.length * s.head_dim, columns = s.head_dim * v.padded;
  v.keys_t = scratch;
  v.values_t = v.keys_t + columns;
  v.grad_kt = v.values_t + columns;
  v.grad_vt = v.grad_kt + columns;
  v.keys = v.grad_vt + columns;
  v.values = v.keys + rows;
  v.queries = v.values + rows;
  v.grads = v.queries + rows;
  v.row = v.grads + rows;
  v.row2 = v.row + v.padded;
  v.score_grad = v.row2 + v.padded;
  v.kept = v.score_grad + kRowBlock * v.padded;
  return v;
}

inline int64_t scratch_floats(const kernels::AttentionShape& s) {
  const int64_t padded = padded_length(s.length);
  return 4 * s.head_dim * padded + 4 * s.length * s.head_dim + (2 + 2 * kRowBlock) * padded;
}

// Copies the head's keys and values into scratch as rows and as zero-padded columns.
inline void load_keys_values(const HeadView& v) {
  const float* k = v.q + v.out_step;
  const float* val = v.q + 2 * v.out_step;
  for (int64_t c = 0; c < v.dim; ++c) {
    for (int64_t j = v.length; j < v.padded; ++j) {
      v.keys_t[c * v.padded + j] = 0.0f;
      v.values_t[c * v.padded + j] = 0.0f;
    }
  }
  for (int64_t j = 0; j < v.length; ++j) {
    for (int64_t c = 0; c < v.dim; ++c) {
      const float kc = k[j * v.step + c], vc = val[j * v.step + c];
      v.keys[j * v.dim + c] = kc;
      v.values[j * v.dim + c] = vc;
      v.keys_t[c * v.padded + j] = kc;
      v.values_t[c * v.padded + j] = vc;
    }
  }
}

// out[j] = sum_c x[c] * columns[c][j] for every j < Lp (columns: (d, Lp)).
template <int D>
SSMKIT_LANES_INLINE void row_times_columns(const HeadView& v, const float* x, const float* columns,
                                           float* out) {
  const int64_t dim = D > 0 ? D : v.dim;
  for (int64_t j = 0; j < v.padded; j += kWidth<float>) {
    Vec<float> acc{};
    for (int64_t c = 0; c < dim; ++c)
      acc += splat(x[c]) * load(columns + c * v.padded + j);
    store(out + j, acc);
  }
}

// A head's channels as whole vectors: D = kCount vectors of kLanes floats (D a power of two of at
// least 4; D = 0, a width known only at run time, goes lane by lane).
template <int D>
struct HeadChunks {
  static constexpr int kLanes = D < kWidth<float> ? D : kWidth<float>;
  static constexpr int kCount = D / kLanes;
  typedef typename VecOf<float, kLanes>::type Type;
};

// out[c] = sum_{j < L} w[j] * rows[j][c] (rows: (L, d)).
template <int D>
SSMKIT_LANES_INLINE void weighted_row_sum(const HeadView& v, const float* w, const float* rows,
                                          float* out) {
  if constexpr (D > 0) {
    using C = HeadChunks<D>;
    // Four independent sums over j, so that the additions do not wait on one another.
    typename C::Type acc0[C::kCount] = {}, acc1[C::kCount] = {}, acc2[C::kCount] = {},
                     acc3[C::kCount] = {};
    const auto add = [&](typename C::Type* acc, int64_t j) SSMKIT_LANES_INLINE_LAMBDA {
      const typename C::Type wj = typename C::Type{} + w[j];
      for (int k = 0; k < C::kCount; ++k) {
        typename C::Type r;
        __builtin_memcpy(&r, rows + j * D + k * C::kLanes, sizeof r);
        acc[k] += wj * r;
      }
    };
    int64_t j = 0;
    for (; j + 4 <= v.length; j += 4) {
      add(acc0, j);
      add(acc1, j + 1);
      add(acc2, j + 2);
      add(acc3, j + 3);
    }
    for (; j < v.length; ++j)
      add(acc0, j);
    for (int k = 0; k < C::kCount; ++k) {
      const typename C::Type sum = (acc0[k] + acc1[k]) + (acc2[k] + acc3[k]);
      __builtin_memcpy(out + k * C::kLanes, &sum, sizeof sum);
    }
  } else {
    const int64_t dim = v.dim;
    for (int64_t c = 0; c < dim; ++c)
      out[c] = 0.0f;
    for (int64_t j = 0; j < v.length; ++j) {
      for (int64_t c = 0; c < dim; ++c)
        out[c] += w[j] * rows[j * dim + c];
    }
  }
}

// The dropout's multipliers of L keep bytes, times `scale`: keep[j] * scale, as whole vectors
// (bytes past L are not read: the tail is done one by one).
SSMKIT_LANES_INLINE void keep_factors(const uint8_t* keep, int64_t length, float scale,
                                      float* out) {
  typedef typename VecOf<uint8_t, kWidth<float>>::type Bytes;
  int64_t j = 0;
  for (; j + kWidth<float> <= length; j += kWidth<float>) {
    Bytes b;
    __builtin_memcpy(&b, keep + j, sizeof b);
    store(out + j, __builtin_convertvector(b, Vec<float>) * scale);
  }
  for (; j < length; ++j)
    out[j] = static_cast<float>(keep[j]) * scale;
}

// row[j] = exp(row[j] - shift) for j < L, 0 past L; returns the sum.
SSMKIT_LANES_INLINE float exp_row(const HeadView& v, float shift) {
  Vec<float> total{};
  for (int64_t j = 0; j < v.padded; j += kWidth<float>) {
    const Vec<float> w = exp_lanes(load(v.row + j) - shift);
    store(v.row + j, w);
  }
  for (int64_t j = v.length; j < v.padded; ++j)
    v.row[j] = 0.0f;
  for (int64_t j = 0; j < v.padded; j += kWidth<float>)
    total += load(v.row + j);
  return sum_lanes(total);
}

SSMKIT_LANES_INLINE float row_max(const HeadView& v) {
  for (int64_t j = v.length; j < v.padded; ++j)
    v.row[j] = -INFINITY;
  Vec<float> top = splat(-INFINITY);
  for (int64_t j = 0; j < v.padded; j += kWidth<float>)
    top = max_lanes(top, load(v.row + j));
  float m = top[0];
  for (int i = 1; i < kWidth<float>; ++i)
    m = top[i] > m ? top[i] : m;
  return m;
}

template <int D>
void forward_heads(const AttentionCpuForward& p, int64_t begin, int64_t end, float* scratch) {
  const kernels::AttentionShape& s = p.shape;
  for (int64_t bh = begin; bh < end; ++bh) {
    const HeadView v = head_view(s, p.qkv, bh, scratch);
    const int64_t dim = D > 0 ? D : v.dim, length = v.length;
    load_keys_values(v);
    for (int64_t i = 0; i < length; ++i) {
      float q[D > 0 ? D : kAttentionCpuMaxHeadDim];
      for (int64_t c = 0; c < dim; ++c)
        q[c] = v.q[i * v.step + c] * s.scale;
      row_times_columns<D>(v, q, v.keys_t, v.row);
      const float top = row_max(v);
      const float total = exp_row(v, top);
      p.lse[bh * length + i] = top + logf(total);
      // The dropped weights are zero; the kept ones rescaled with the normaliser below.
      if (p.dropout.keep != nullptr) {
        keep_factors(p.dropout.keep + (bh * length + i) * length, length, 1.0f, v.row2);
        for (int64_t j = 0; j < v.padded; j += kWidth<float>)
          store(v.row + j, load(v.row + j) * load(v.row2 + j));
      }
      float* y = p.y + v.out + i * v.out_step;
      weighted_row_sum<D>(v, v.row, v.values, y);
      const float norm = p.dropout.keep_scale / total;
      for (int64_t c = 0; c < dim; ++c)
        y[c] *= norm;
    }
  }
}

// grad_t[c][j] += sum over the block's rows r of rows_by_j[r][j] * x[r][c], for every j < Lp:
// the key (x = scaled queries, rows_by_j = dS) or value (x = grad_y, rows_by_j = P M) gradients,
// kept transposed so that each update is a whole vector of keys.
template <int D>
SSMKIT_LANES_INLINE void add_block_products(const HeadView& v, int64_t rows, const float* rows_by_j,
                                            const float* x, float* grad_t) {
  const int64_t dim = D > 0 ? D : v.dim;
  for (int64_t j = 0; j < v.padded; j += kWidth<float>) {
    Vec<float> acc[D > 0 ? D : kAttentionCpuMaxHeadDim];
    for (int64_t c = 0; c < dim; ++c)
      acc[c] = load(grad_t + c * v.padded + j);
    for (int64_t r = 0; r < rows; ++r) {
      const Vec<float> a = load(rows_by_j + r * v.padded + j);
      const float* xr = x + r * dim;
      for (int64_t c = 0; c < dim; ++c)
        acc[c] += a * splat(xr[c]);
    }
    for (int64_t c = 0; c < dim; ++c)
      store(grad_t + c * v.padded + j, acc[c]);
  }
}

// dS_ij = P_ij (M_ij dP_ij - delta_i) with P the softmax row, M the dropout's keep mask times
// 1 / (1 - p), dP_ij = grad_y_i . v_j and delta_i = grad_y_i . y_i (= sum_j P_ij M_ij dP_ij);
// dQ_i = scale sum_j dS_ij k_j, dK_j = scale sum_i dS_ij q_i, dV_j = sum_i P_ij M_ij grad_y_i.
template <int D>
void backward_heads(const AttentionCpuBackward& p, int64_t begin, int64_t end, float* scratch) {
  const kernels::AttentionShape& s = p.shape;
  const float keep_scale = p.dropout.keep_scale;
  for (int64_t bh = begin; bh < end; ++bh) {
    const HeadView v = head_view(s, p.qkv, bh, scratch);
    const int64_t dim = D > 0 ? D : v.dim, length = v.length, padded = v.padded;
    load_keys_values(v);
    for (int64_t i = 0; i < length; ++i) {
      const float* gy = p.grad_y + v.out + i * v.out_step;
      for (int64_t c = 0; c < dim; ++c) {
        v.queries[i * dim + c] = v.q[i * v.step + c] * s.scale;
        v.grads[i * dim + c] = gy[c];
      }
    }
    for (int64_t e = 0; e < dim * padded; ++e)
      v.grad_kt[e] = v.grad_vt[e] = 0.0f;
    float* grad_q = p.grad_qkv + (v.q - p.qkv);
    for (int64_t first = 0; first < length; first += kRowBlock) {
      const int64_t rows = length - first < kRowBlock ? length - first : kRowBlock;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = first + r;
        const float* q = v.queries + i * dim;
        const float* g = v.grads + i * dim;
        const float* y = p.y + v.out + i * v.out_step;
        float delta = 0.0f;
        for (int64_t c = 0; c < dim; ++c)
          delta += g[c] * y[c];
        row_times_columns<D>(v, q, v.keys_t, v.row);
        exp_row(v, p.lse[bh * length + i]);              // row = P_i, 0 past L
        row_times_columns<D>(v, g, v.values_t, v.row2);  // row2 = dP_i
        float* ds = v.score_grad + r * padded;
        float* kept = v.kept + r * padded;
        if (p.dropout.keep != nullptr) {
          keep_factors(p.dropout.keep + (bh * length + i) * length, length, keep_scale, kept);
          for (int64_t j = length; j < padded; ++j)
            kept[j] = 0.0f;
        } else {
          for (int64_t j = 0; j < padded; ++j)
            kept[j] = keep_scale;
        }
        for (int64_t j = 0; j < padded; j += kWidth<float>) {
          const Vec<float> w = load(v.row + j), m = load(kept + j);
          store(ds + j, w * (m * load(v.row2 + j) - delta));
          store(kept + j, w * m);
        }
        float* dq = grad_q + i * v.step;
        weighted_row_sum<D>(v, ds, v.keys, dq);
        for (int64_t c = 0; c < dim; ++c)
          dq[c] *= s.scale;
      }
      add_block_products<D>(v, rows, v.score_grad, v.queries + first * dim, v.grad_kt);
      add_block_products<D>(v, rows, v.kept, v.grads + first * dim, v.grad_vt);
    }
    for (int64_t j = 0; j < length; ++j) {
      for (int64_t c = 0; c < dim; ++c) {
        grad_q[j * v.step + v.out_step + c] = v.grad_kt[c * padded + j];
        grad_q[j * v.step + 2 * v.out_step + c] = v.grad_vt[c * padded + j];
      }
    }
  }
}

// Compile-time head sizes for the common widths (the channel loops unroll into whole vectors),
// any other width up to kAttentionCpuMaxHeadDim at run time.
inline void forward(const AttentionCpuForward& p, int64_t begin, int64_t end, float* scratch) {
  switch (p.shape.head_dim) {
    case 8:
      return forward_heads<8>(p, begin, end, scratch);
    case 16:
      return forward_heads<16>(p, begin, end, scratch);
    case 32:
      return forward_heads<32>(p, begin, end, scratch);
    case 64:
      return forward_heads<64>(p, begin, end, scratch);
    default:
      return forward_heads<0>(p, begin, end, scratch);
  }
}

inline void backward(const AttentionCpuBackward& p, int64_t begin, int64_t end, float* scratch) {
  switch (p.shape.head_dim) {
    case 8:
      return backward_heads<8>(p, begin, end, scratch);
    case 16:
      return backward_heads<16>(p, begin, end, scratch);
    case 32:
      return backward_heads<32>(p, begin, end, scratch);
    case 64:
      return backward_heads<64>(p, begin, end, scratch);
    default:
      return backward_heads<0>(p, begin, end, scratch);
  }
}

}  // namespace ssmkit::kernels_cpu::SSMKIT_KERNEL_ISA
