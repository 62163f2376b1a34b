// The SSD scan in LibTorch ops (autograd gives the backward): the chunked matrix form, after
// mamba_ssm's ssd_minimal_discrete with heads grouped so that a group's heads share their C B^T and
// B products, and the sequential recurrence it is checked against.
#include "ssmkit/ops/ssd_scan.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

constexpr std::initializer_list<at::ScalarType> kSsdTypes = {at::kFloat, at::kDouble, at::kHalf,
                                                             at::kBFloat16};

struct SsdShape {
  int64_t batch = 0;    // B
  int64_t seqlen = 0;   // L
  int64_t heads = 0;    // H
  int64_t headdim = 0;  // P
  int64_t groups = 0;   // G
  int64_t dstate = 0;   // N
};

void check_operand(const at::Tensor& t, const at::Tensor& x, const char* fn, const char* name) {
  check_same_device(t, x, fn, name, "x");
  check_dtype(t, fn, name, kSsdTypes);
}

SsdShape check_ssd_inputs(const at::Tensor& x, const at::Tensor& dt, const at::Tensor& A,
                          const at::Tensor& B, const at::Tensor& C, const at::Tensor& initial_state,
                          const char* fn) {
  check_rank(x, fn, "x", "(B, L, H, P)", 4);
  check_dtype(x, fn, "x", kSsdTypes);
  SsdShape s;
  s.batch = x.size(0);
  s.seqlen = x.size(1);
  s.heads = x.size(2);
  s.headdim = x.size(3);
  TORCH_CHECK(s.seqlen >= 1 && s.heads >= 1, fn, ": 'x' has shape ", shape_string(x.sizes()),
              ", expected L >= 1 and H >= 1");
  check_shape(dt, fn, "dt", "(B, L, H)", {s.batch, s.seqlen, s.heads});
  check_shape(A, fn, "A", "(H)", {s.heads});
  check_shape(B, fn, "B", "(B, L, G, N)", {s.batch, s.seqlen, -1, -1});
  s.groups = B.size(2);
  s.dstate = B.size(3);
  TORCH_CHECK(s.groups >= 1 && s.heads % s.groups == 0, fn, ": 'B' has shape ",
              shape_string(B.sizes()), ", expected a group count G that divides H = ", s.heads);
  check_shape(C, fn, "C", "(B, L, G, N)", {s.batch, s.seqlen, s.groups, s.dstate});
  check_operand(dt, x, fn, "dt");
  check_operand(A, x, fn, "A");
  check_operand(B, x, fn, "B");
  check_operand(C, x, fn, "C");
  if (initial_state.defined()) {
    check_shape(initial_state, fn, "initial_state", "(B, H, P, N)",
                {s.batch, s.heads, s.headdim, s.dstate});
    check_operand(initial_state, x, fn, "initial_state");
  }
  return s;
}

// Half-precision inputs are scanned in float32: the decays are exponentials of long sums.
at::ScalarType ssd_compute_type(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// The state before the first token: the given one in the compute type, else zeros.
at::Tensor start_state(const at::Tensor& initial_state, const SsdShape& s,
                       const at::TensorOptions& options) {  // -> (B, H, P, N)
  if (initial_state.defined()) return initial_state.to(options.dtype());
  return torch::zeros({s.batch, s.heads, s.headdim, s.dstate}, options);
}

// `t` with `pad` zeros appended along dim 1 (time).
at::Tensor pad_time(const at::Tensor& t, int64_t pad) {
  if (pad == 0) return t;
  std::vector<int64_t> widths(2 * static_cast<size_t>(t.dim() - 1), 0);  // last dim first
  widths.back() = pad;
  return torch::constant_pad_nd(t, widths);
}

// S[..., i, j] = a[j+1] + ... + a[i] for i >= j and -inf above the diagonal: the log of the decay
// from position j to position i, so exp(S) is the causal decay matrix. Built as a masked cumulative
// sum rather than a difference of prefix sums, which cancels badly when the sums grow large.
at::Tensor segment_sums(const at::Tensor& a) {  // (..., T) -> (..., T, T)
  const int64_t length = a.size(-1);
  const at::Tensor index = torch::arange(length, a.options().dtype(at::kLong));  // (T)
  const at::Tensor row = index.unsqueeze(1);                                     // (T, 1)
  const at::Tensor col = index.unsqueeze(0);                                     // (1, T)
  std::vector<int64_t> sizes = a.sizes().vec();
  sizes.push_back(length);
  // terms[..., k, j] = a[k] for k > j, else 0; the cumulative sum over k gives S below the
  // diagonal.
  const at::Tensor terms = a.unsqueeze(-1).expand(sizes).masked_fill(row <= col, 0.0);
  return terms.cumsum(-2).masked_fill(row < col, -std::numeric_limits<double>::infinity());
}

}  // namespace

SsdScanOutputs ssd_chunk_scan(const at::Tensor& x, const at::Tensor& dt, const at::Tensor& A,
                              const at::Tensor& B, const at::Tensor& C, int64_t chunk_size,
                              const at::Tensor& initial_state) {
  constexpr const char* fn = "ssd_chunk_scan";
  TORCH_CHECK(chunk_size >= 1, fn, ": 'chunk_size' must be >= 1, got ", chunk_size);
  const SsdShape s = check_ssd_inputs(x, dt, A, B, C, initial_state, fn);
  const auto type = ssd_compute_type(x);
  // A sequence shorter than a chunk is one chunk of its own length: no padded work.
  const int64_t len = std::min(chunk_size, s.seqlen);  // T, tokens per chunk
  const int64_t chunks = (s.seqlen + len - 1) / len;   // c
  const int64_t pad = chunks * len - s.seqlen;         // dt = 0 there: state unchanged
  const int64_t per_group = s.heads / s.groups;        // r, heads sharing one B and C
  const int64_t b = s.batch, g = s.groups, p = s.headdim, n = s.dstate;

  const at::Tensor dt_c = dt.to(type);  // (B, L, H)
  const at::Tensor x_dt =               // (B, c, G, T, r, P) the scan's input dt[t] x[t]
      pad_time(x.to(type) * dt_c.unsqueeze(-1), pad)
          .reshape({b, chunks, len, g, per_group, p})
          .permute({0, 1, 3, 2, 4, 5});
  const at::Tensor log_decay =  // (B, c, G, r, T) log of each token's decay, dt[t] A
      pad_time(dt_c * A.to(type), pad)
          .reshape({b, chunks, len, g, per_group})
          .permute({0, 1, 3, 4, 2});
  const at::Tensor B_c =  // (B, c, G, T, N)
      pad_time(B.to(type), pad).reshape({b, chunks, len, g, n}).permute({0, 1, 3, 2, 4});
  const at::Tensor C_c =  // (B, c, G, T, N)
      pad_time(C.to(type), pad).reshape({b, chunks, len, g, n}).permute({0, 1, 3, 2, 4});
  const at::Tensor log_cum = log_decay.cumsum(-1);  // (B, c, G, r, T) decay from chunk start
  // The same, with heads next to P so that it scales (B, c, G, T, r, P) tensors.
  const at::Tensor log_cum_t = log_cum.permute({0, 1, 2, 4, 3}).unsqueeze(-1);  // (B,c,G,T,r,1)

  // 1. Within a chunk: y = (C B^T o decay) (dt x), the decay matrix per head, C B^T per group.
  const at::Tensor scores = torch::matmul(C_c, B_c.transpose(-1, -2));  // (B, c, G, T, T)
  const at::Tensor decay = torch::exp(segment_sums(log_decay));         // (B, c, G, r, T, T)
  const at::Tensor y_diag =                                             // (B, c, G, T, r, P)
      torch::matmul(scores.unsqueeze(3) * decay, x_dt.permute({0, 1, 2, 4, 3, 5}))
          .permute({0, 1, 2, 4, 3, 5});

  // 2. What each chunk adds to the state at its end: sum_t decay(t -> end) dt[t] x[t] B[t]^T.
  const at::Tensor to_end =  // (B, c, G, T, r, 1)
      torch::exp(log_cum_t.narrow(3, len - 1, 1) - log_cum_t);
  const at::Tensor chunk_states =  // (B, c, G, r, P, N)
      torch::matmul((x_dt * to_end).reshape({b, chunks, g, len, per_group * p}).transpose(-1, -2),
                    B_c)
          .reshape({b, chunks, g, per_group, p, n});

  // 3. Between chunks: the state entering chunk z is the decayed sum of the initial state and the
  // contributions of chunks before z, again one matrix product (chunk-level decay matrix).
  const at::Tensor start =  // (B, 1, G, r, P, N)
      start_state(initial_state, s, x_dt.options()).reshape({b, 1, g, per_group, p, n});
  const at::Tensor states =  // (B, G, r, c + 1, P N)
      torch::cat({start, chunk_states}, 1)
          .permute({0, 2, 3, 1, 4, 5})
          .reshape({b, g, per_group, chunks + 1, p * n});
  const at::Tensor chunk_log_decay =  // (B, G, r, c + 1), a leading 0 for the initial state
      torch::constant_pad_nd(log_cum.select(-1, len - 1).permute({0, 2, 3, 1}), {1, 0});
  const at::Tensor passed =  // (B, G, r, c + 1, P, N) [z] = state after chunk z - 1
      torch::matmul(torch::exp(segment_sums(chunk_log_decay)), states)
          .reshape({b, g, per_group, chunks + 1, p, n});
  const at::Tensor entering =  // (B, c, G, r P, N)
      passed.narrow(3, 0, chunks)
          .permute({0, 3, 1, 2, 4, 5})
          .reshape({b, chunks, g, per_group * p, n});
  at::Tensor final_state = passed.select(3, chunks).reshape({b, s.heads, p, n});  // (B, H, P, N)

  // 4. The entering state's share of each output: C[t] h_in decayed from the chunk start to t.
  const at::Tensor y_off =  // (B, c, G, T, r, P)
      torch::matmul(C_c, entering.transpose(-1, -2)).reshape({b, chunks, g, len, per_group, p}) *
      torch::exp(log_cum_t);

  const at::Tensor y = (y_diag + y_off)  // (B, L, H, P)
                           .permute({0, 1, 3, 2, 4, 5})
                           .reshape({b, chunks * len, s.heads, p})
                           .narrow(1, 0, s.seqlen);
  return {y.to(x.scalar_type()), final_state};
}

SsdScanOutputs ssd_scan_reference(const at::Tensor& x, const at::Tensor& dt, const at::Tensor& A,
                                  const at::Tensor& B, const at::Tensor& C,
                                  const at::Tensor& initial_state) {
  constexpr const char* fn = "ssd_scan_reference";
  const SsdShape s = check_ssd_inputs(x, dt, A, B, C, initial_state, fn);
  const auto type = ssd_compute_type(x);
  const int64_t per_group = s.heads / s.groups;
  // B and C repeated for every head of their group.
  auto per_head = [&](const at::Tensor& t) {  // (B, L, G, N) -> (B, L, H, N)
    return t.to(type)
        .unsqueeze(3)
        .expand({s.batch, s.seqlen, s.groups, per_group, s.dstate})
        .reshape({s.batch, s.seqlen, s.heads, s.dstate});
  };
  const at::Tensor x_c = x.to(type);                            // (B, L, H, P)
  const at::Tensor dt_c = dt.to(type);                          // (B, L, H)
  const at::Tensor A_c = A.to(type);                            // (H)
  const at::Tensor B_h = per_head(B);                           // (B, L, H, N)
  const at::Tensor C_h = per_head(C);                           // (B, L, H, N)
  at::Tensor h = start_state(initial_state, s, x_c.options());  // (B, H, P, N)
  std::vector<at::Tensor> ys;
  ys.reserve(static_cast<size_t>(s.seqlen));
  for (int64_t t = 0; t < s.seqlen; ++t) {
    const at::Tensor dt_t = dt_c.select(1, t);  // (B, H)
    const at::Tensor decay = torch::exp(dt_t * A_c).reshape({s.batch, s.heads, 1, 1});
    const at::Tensor input = (dt_t.unsqueeze(-1) * x_c.select(1, t)).unsqueeze(-1);  // (B,H,P,1)
    h = decay * h + input * B_h.select(1, t).unsqueeze(2);
    ys.push_back(torch::matmul(h, C_h.select(1, t).unsqueeze(-1)).squeeze(-1));  // (B, H, P)
  }
  return {torch::stack(ys, 1).to(x.scalar_type()), h};
}

}  // namespace ssmkit::ops
