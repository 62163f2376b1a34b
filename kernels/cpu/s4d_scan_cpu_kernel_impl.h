// The loops of the CPU S4D scan, torch-free: raw pointers and compiler vector extensions of the
// native width (16 bytes, 32 with AVX, 64 with AVX-512), vectorised over channels, which are
// contiguous in (B, L, H). Included once per instruction set by an s4d_scan_cpu_kernel_<isa>.cpp
// that defines SSMKIT_S4D_ISA; everything here lives in the namespace named by it, so the builds
// for different instruction sets never share a symbol (see selective_scan_cpu_kernel_impl.h).
//
// Per channel vector, the M complex states (and in the backward pass their derivatives and the
// gradient sums) live in a scratch array of 2 to 8 M vectors, which stays in L1 for S4's M = 32.
#ifndef SSMKIT_S4D_ISA
#error "define SSMKIT_S4D_ISA (the namespace of this build) before including this file"
#endif

#include <stdint.h>

#include "native_vector.h"
#include "s4d_scan_cpu_kernel.h"

namespace ssmkit::ops::s4d_cpu::SSMKIT_S4D_ISA {

#define SSMKIT_S4D_INLINE inline __attribute__((always_inline))

constexpr int kVectorBytes = kernels_cpu::kNativeVectorBytes;

template <typename T>
constexpr int64_t kWidth = kVectorBytes / static_cast<int64_t>(sizeof(T));

template <typename T>
struct VecOf {
  typedef T type __attribute__((vector_size(kVectorBytes)));
};
template <typename T>
using Vec = typename VecOf<T>::type;

// V is Vec<T> (kWidth<T> channels at once) or T itself (one channel: the tail of a block).
template <typename V, typename T>
SSMKIT_S4D_INLINE V load(const T* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

template <typename V, typename T>
SSMKIT_S4D_INLINE void store(T* p, V v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// One direction's parameters at channel h; mode n is n * H further.
template <typename T>
struct ModeRows {
  const T* decay_re;
  const T* decay_im;
  const T* weight_re;
  const T* weight_im;
};

template <typename T>
SSMKIT_S4D_INLINE ModeRows<T> mode_rows(const S4DScanProblem<T>& p, int64_t d, int64_t h) {
  const int64_t offset = d * p.modes * p.channels + h;
  return {p.decay_re + offset, p.decay_im + offset, p.weight_re + offset, p.weight_im + offset};
}

// Time of step i in direction d: forward, or backward from the end.
SSMKIT_S4D_INLINE int64_t time_of(int64_t d, int64_t i, int64_t length) {
  return d == 0 ? i : length - 1 - i;
}

// out for the channels [h, h + lanes of V) of batch row b: skip * x plus the recurrence of every
// direction over x. Direction 0 writes, direction 1 adds. The forward pass runs it over u into y,
// each direction in its time order; the backward pass runs the adjoint, over grad_y into grad_u,
// each direction against its order (reverse).
template <typename T, typename V>
void recurrence_lanes(const S4DScanProblem<T>& p, const T* x, T* out, int64_t b, int64_t h,
                      bool reverse, V* scratch) {
  const int64_t channels = p.channels, modes = p.modes, length = p.length;
  V* state_re = scratch;
  V* state_im = scratch + modes;
  const T* x_row = x + b * length * channels + h;
  T* out_row = out + b * length * channels + h;
  const V skip = load<V>(p.skip + h);
  for (int64_t d = 0; d < p.directions; ++d) {
    const ModeRows<T> m = mode_rows(p, d, h);
    for (int64_t n = 0; n < modes; ++n)
      state_re[n] = state_im[n] = V{};
    for (int64_t k = 0; k < length; ++k) {
      const int64_t t = time_of(d, reverse ? length - 1 - k : k, length);
      const V xt = load<V>(x_row + t * channels);
      V sum = V{};
      for (int64_t n = 0; n < modes; ++n) {
        const V ar = load<V>(m.decay_re + n * channels), ai = load<V>(m.decay_im + n * channels);
        const V sr = state_re[n], si = state_im[n];
        const V nr = ar * sr - ai * si + xt;
        const V ni = ar * si + ai * sr;
        state_re[n] = nr;
        state_im[n] = ni;
        sum += load<V>(m.weight_re + n * channels) * nr - load<V>(m.weight_im + n * channels) * ni;
      }
      T* o = out_row + t * channels;
      store<V>(o, d == 0 ? sum + skip * xt : load<V>(o) + sum);
    }
  }
}

// Gradients for the channels [h, h + lanes of V) of batch row b.
//  - weight: sum_t g[t] conj(s[t]) (PyTorch's convention for complex gradients, split in parts).
//  - decay: conj(w) sum_t g[t] conj(p[t]), where p[t] = ds[t]/d(decay) = decay p[t-1] + s[t-1]
//    is carried forward beside s, so no state of the forward pass needs keeping.
//  - u: the adjoint recurrence r[t] = decay r[t+1] + g[t], du[t] = skip g[t] + sum Re(w r[t]),
//    run in each direction's reverse order.
template <typename T, typename V>
void backward_lanes(const S4DScanProblem<T>& p, const S4DScanGradients<T>& g, int64_t b, int64_t h,
                    V* scratch) {
  const int64_t channels = p.channels, modes = p.modes, length = p.length;
  V* state_re = scratch;
  V* state_im = state_re + modes;
  V* deriv_re = state_im + modes;
  V* deriv_im = deriv_re + modes;
  V* gw_re = deriv_im + modes;
  V* gw_im = gw_re + modes;
  V* q_re = gw_im + modes;
  V* q_im = q_re + modes;
  const int64_t row = b * length * channels + h;
  const T* u_row = p.u + row;
  const T* gy_row = g.grad_y + row;
  V skip_grad = V{};
  for (int64_t d = 0; d < p.directions; ++d) {
    const ModeRows<T> m = mode_rows(p, d, h);
    for (int64_t n = 0; n < modes; ++n) {
      state_re[n] = state_im[n] = deriv_re[n] = deriv_im[n] = V{};
      gw_re[n] = gw_im[n] = q_re[n] = q_im[n] = V{};
    }
    for (int64_t i = 0; i < length; ++i) {
      const int64_t t = time_of(d, i, length);
      const V u = load<V>(u_row + t * channels);
      const V gy = load<V>(gy_row + t * channels);
      if (d == 0) skip_grad += gy * u;
      for (int64_t n = 0; n < modes; ++n) {
        const V ar = load<V>(m.decay_re + n * channels), ai = load<V>(m.decay_im + n * channels);
        const V sr = state_re[n], si = state_im[n];
        const V pr = deriv_re[n], pi = deriv_im[n];
        const V npr = ar * pr - ai * pi + sr;
        const V npi = ar * pi + ai * pr + si;
        const V nr = ar * sr - ai * si + u;
        const V ni = ar * si + ai * sr;
        deriv_re[n] = npr;
        deriv_im[n] = npi;
        state_re[n] = nr;
        state_im[n] = ni;
        gw_re[n] += gy * nr;
        gw_im[n] -= gy * ni;
        q_re[n] += gy * npr;
        q_im[n] -= gy * npi;
      }
    }
    for (int64_t n = 0; n < modes; ++n) {
      const int64_t out = ((b * p.directions + d) * modes + n) * channels + h;
      const V wr = load<V>(m.weight_re + n * channels), wi = load<V>(m.weight_im + n * channels);
      store<V>(g.grad_weight_re + out, gw_re[n]);
      store<V>(g.grad_weight_im + out, gw_im[n]);
      store<V>(g.grad_decay_re + out, wr * q_re[n] + wi * q_im[n]);
      store<V>(g.grad_decay_im + out, wr * q_im[n] - wi * q_re[n]);
    }
  }
  store<V>(g.grad_skip + b * channels + h, skip_grad);
  recurrence_lanes<T, V>(p, g.grad_y, g.grad_u, b, h, /*reverse=*/true, scratch);
}

// Scratch rounded up to the vector alignment (the caller's buffer has kVectorBytes of slack).
template <typename T>
SSMKIT_S4D_INLINE Vec<T>* aligned_vectors(T* scratch) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(scratch);
  const uintptr_t aligned =
      (address + kVectorBytes - 1) & ~static_cast<uintptr_t>(kVectorBytes - 1);
  return reinterpret_cast<Vec<T>*>(aligned);
}

// Calls lanes(h, vectors) for the whole vectors of a task's channel block, then lanes(h, scalars)
// for the channels left over.
template <typename T, typename VectorFn, typename ScalarFn>
SSMKIT_S4D_INLINE void for_each_task(const S4DScanProblem<T>& p, int64_t begin, int64_t end,
                                     T* scratch, VectorFn vector_lanes, ScalarFn scalar_lanes) {
  const int64_t blocks = (p.channels + kChannelBlock - 1) / kChannelBlock;
  Vec<T>* vectors = aligned_vectors(scratch);
  T* scalars = reinterpret_cast<T*>(vectors);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / blocks;
    const int64_t first = (task % blocks) * kChannelBlock;
    const int64_t last = first + kChannelBlock < p.channels ? first + kChannelBlock : p.channels;
    int64_t h = first;
    for (; h + kWidth<T> <= last; h += kWidth<T>)
      vector_lanes(b, h, vectors);
    for (; h < last; ++h)
      scalar_lanes(b, h, scalars);
  }
}

template <typename T>
void forward(const S4DScanProblem<T>& p, T* y, int64_t begin, int64_t end, T* scratch) {
  for_each_task(
      p, begin, end, scratch,
      [&](int64_t b, int64_t h, Vec<T>* s) {
        recurrence_lanes<T, Vec<T>>(p, p.u, y, b, h, /*reverse=*/false, s);
      },
      [&](int64_t b, int64_t h, T* s) { recurrence_lanes<T, T>(p, p.u, y, b, h, false, s); });
}

template <typename T>
void backward(const S4DScanProblem<T>& p, const S4DScanGradients<T>& g, int64_t begin, int64_t end,
              T* scratch) {
  for_each_task(
      p, begin, end, scratch,
      [&](int64_t b, int64_t h, Vec<T>* s) { backward_lanes<T, Vec<T>>(p, g, b, h, s); },
      [&](int64_t b, int64_t h, T* s) { backward_lanes<T, T>(p, g, b, h, s); });
}

}  // namespace ssmkit::ops::s4d_cpu::SSMKIT_S4D_ISA
