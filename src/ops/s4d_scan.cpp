// S4D's convolution as a recurrence: argument checks, the parameters in the kernels' layout, the
// CPU loops over threads (or the CUDA kernels), and the autograd function.
#include "ssmkit/ops/s4d_scan.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include <vector>

#include "s4d_scan_cpu_kernel.h"
#include "ssmkit/ops/s4d_scan_cuda.h"
#include "ssmkit/util/checks.h"

namespace ssmkit::ops {
namespace {

constexpr const char* kS4DScanFn = "s4d_scan";

// The problem as the kernels read it: everything in the compute dtype and contiguous, the
// parameters transposed to (directions, M, H).
struct S4DScanTensors {
  at::Tensor u;          // (B, L, H)
  at::Tensor decay_re;   // (directions, M, H)
  at::Tensor decay_im;   // (directions, M, H)
  at::Tensor weight_re;  // (directions, M, H)
  at::Tensor weight_im;  // (directions, M, H)
  at::Tensor skip;       // (H)

  int64_t directions() const { return decay_re.size(0); }
  int64_t modes() const { return decay_re.size(1); }
};

at::ScalarType compute_dtype(const at::Tensor& u) {
  return u.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

S4DScanTensors prepare(const at::Tensor& u, const at::Tensor& decay_re, const at::Tensor& decay_im,
                       const at::Tensor& weight_re, const at::Tensor& weight_im,
                       const at::Tensor& skip) {
  const at::ScalarType dtype = compute_dtype(u);
  const auto modes_last =
      [dtype](const at::Tensor& p) {  // (directions, H, M) -> (directions, M, H)
        return p.to(dtype).transpose(1, 2).contiguous();
      };
  return {u.to(dtype).contiguous(), modes_last(decay_re),  modes_last(decay_im),
          modes_last(weight_re),    modes_last(weight_im), skip.to(dtype).contiguous()};
}

template <typename T>
s4d_cpu::S4DScanProblem<T> problem_of(const S4DScanTensors& s) {
  s4d_cpu::S4DScanProblem<T> p;
  p.batch = s.u.size(0);
  p.length = s.u.size(1);
  p.channels = s.u.size(2);
  p.modes = s.modes();
  p.directions = s.directions();
  p.u = s.u.data_ptr<T>();
  p.decay_re = s.decay_re.data_ptr<T>();
  p.decay_im = s.decay_im.data_ptr<T>();
  p.weight_re = s.weight_re.data_ptr<T>();
  p.weight_im = s.weight_im.data_ptr<T>();
  p.skip = s.skip.data_ptr<T>();
  return p;
}

// Runs work(begin, end, scratch) over the (batch row, channel block) tasks on LibTorch's threads.
template <typename T, typename Work>
void for_tasks(const s4d_cpu::S4DScanProblem<T>& p, const Work& work) {
  const int64_t blocks = (p.channels + s4d_cpu::kChannelBlock - 1) / s4d_cpu::kChannelBlock;
  at::parallel_for(0, p.batch * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> scratch(static_cast<size_t>(s4d_cpu::scratch_size(p.modes)));
    work(begin, end, scratch.data());
  });
}

at::Tensor forward_cpu(const S4DScanTensors& s) {
  at::Tensor y = at::empty_like(s.u);  // (B, L, H)
  if (y.numel() == 0) return y;
  const s4d_cpu::KernelSet& kernels = s4d_cpu::best_kernels();
  AT_DISPATCH_FLOATING_TYPES(s.u.scalar_type(), kS4DScanFn, [&] {
    const auto p = problem_of<scalar_t>(s);
    const auto fn = [&] {
      if constexpr (std::is_same_v<scalar_t, float>)
        return kernels.forward_f32;
      else
        return kernels.forward_f64;
    }();
    scalar_t* out = y.data_ptr<scalar_t>();
    for_tasks(
        p, [&](int64_t begin, int64_t end, scalar_t* scratch) { fn(p, out, begin, end, scratch); });
  });
  return y;
}

// Zeros: the parameter rows of an empty sequence stay valid gradients.
S4DScanRowGradients allocate_gradients(const S4DScanTensors& s) {
  const int64_t batch = s.u.size(0), channels = s.u.size(2);
  S4DScanRowGradients g;
  g.grad_u = at::empty_like(s.u);
  for (at::Tensor* t : {&g.grad_decay_re, &g.grad_decay_im, &g.grad_weight_re, &g.grad_weight_im})
    *t = at::zeros({batch, s.directions(), s.modes(), channels}, s.u.options());
  g.grad_skip = at::zeros({batch, channels}, s.u.options());
  return g;
}

void backward_cpu(const S4DScanTensors& s, const at::Tensor& grad_y, const S4DScanRowGradients& g) {
  if (s.u.numel() == 0) return;
  const s4d_cpu::KernelSet& kernels = s4d_cpu::best_kernels();
  AT_DISPATCH_FLOATING_TYPES(s.u.scalar_type(), kS4DScanFn, [&] {
    const auto p = problem_of<scalar_t>(s);
    s4d_cpu::S4DScanGradients<scalar_t> out;
    out.grad_y = grad_y.data_ptr<scalar_t>();
    out.grad_u = g.grad_u.data_ptr<scalar_t>();
    out.grad_decay_re = g.grad_decay_re.data_ptr<scalar_t>();
    out.grad_decay_im = g.grad_decay_im.data_ptr<scalar_t>();
    out.grad_weight_re = g.grad_weight_re.data_ptr<scalar_t>();
    out.grad_weight_im = g.grad_weight_im.data_ptr<scalar_t>();
    out.grad_skip = g.grad_skip.data_ptr<scalar_t>();
    const auto fn = [&] {
      if constexpr (std::is_same_v<scalar_t, float>)
        return kernels.backward_f32;
      else
        return kernels.backward_f64;
    }();
    for_tasks(
        p, [&](int64_t begin, int64_t end, scalar_t* scratch) { fn(p, out, begin, end, scratch); });
  });
}

at::Tensor run_forward(const S4DScanTensors& s) {
#ifdef SSMKIT_WITH_CUDA
  if (s.u.is_cuda()) {
    return s4d_scan_cuda_forward(s.u, s.decay_re, s.decay_im, s.weight_re, s.weight_im, s.skip);
  }
#endif
  return forward_cpu(s);
}

S4DScanRowGradients run_backward(const S4DScanTensors& s, const at::Tensor& grad_y) {
  const S4DScanRowGradients g = allocate_gradients(s);
#ifdef SSMKIT_WITH_CUDA
  if (s.u.is_cuda()) {
    s4d_scan_cuda_backward(s.u, s.decay_re, s.decay_im, s.weight_re, s.weight_im, s.skip, grad_y,
                           g);
    return g;
  }
#endif
  backward_cpu(s, grad_y, g);
  return g;
}

// (B, directions, M, H) per batch row -> (directions, H, M), in the parameter's dtype.
at::Tensor parameter_gradient(const at::Tensor& rows, const at::Tensor& parameter) {
  return rows.sum(0).transpose(1, 2).to(parameter.scalar_type());
}

class S4DScanFunction : public torch::autograd::Function<S4DScanFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const at::Tensor& u, const at::Tensor& decay_re,
                                                const at::Tensor& decay_im,
                                                const at::Tensor& weight_re,
                                                const at::Tensor& weight_im,
                                                const at::Tensor& skip) {
    ctx->save_for_backward({u, decay_re, decay_im, weight_re, weight_im, skip});
    return {run_forward(prepare(u, decay_re, decay_im, weight_re, weight_im, skip))};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const S4DScanTensors s = prepare(saved[0], saved[1], saved[2], saved[3], saved[4], saved[5]);
    const at::Tensor grad_y = grad_outputs[0].to(s.u.scalar_type()).contiguous();  // (B, L, H)
    const S4DScanRowGradients g = run_backward(s, grad_y);
    return {g.grad_u.to(saved[0].scalar_type()),
            parameter_gradient(g.grad_decay_re, saved[1]),
            parameter_gradient(g.grad_decay_im, saved[2]),
            parameter_gradient(g.grad_weight_re, saved[3]),
            parameter_gradient(g.grad_weight_im, saved[4]),
            g.grad_skip.sum(0).to(saved[5].scalar_type())};
  }
};

}  // namespace

at::Tensor s4d_scan(const at::Tensor& u, const at::Tensor& decay_re, const at::Tensor& decay_im,
                    const at::Tensor& weight_re, const at::Tensor& weight_im,
                    const at::Tensor& skip) {
  check_rank(u, kS4DScanFn, "u", "(B, L, H)", 3);
  check_rank(decay_re, kS4DScanFn, "decay_re", "(directions, H, M)", 3);
  const int64_t directions = decay_re.size(0), channels = u.size(2), modes = decay_re.size(2);
  TORCH_CHECK(directions == 1 || directions == 2, kS4DScanFn, ": 'decay_re' has ", directions,
              " directions, expected 1 or 2");
  const struct {
    const at::Tensor& t;
    const char* name;
  } parameters[] = {{decay_re, "decay_re"},
                    {decay_im, "decay_im"},
                    {weight_re, "weight_re"},
                    {weight_im, "weight_im"}};
  for (const auto& p : parameters) {
    check_shape(p.t, kS4DScanFn, p.name, "(directions, H, M)", {directions, channels, modes});
    check_same_device(p.t, u, kS4DScanFn, p.name, "u");
  }
  check_shape(skip, kS4DScanFn, "skip", "(H)", {channels});
  check_same_device(skip, u, kS4DScanFn, "skip", "u");
  check_dtype(u, kS4DScanFn, "u", {at::kFloat, at::kDouble, at::kBFloat16, at::kHalf});
#ifdef SSMKIT_WITH_CUDA
  TORCH_CHECK(!u.is_cuda() || s4d_scan_cuda_supports(u, modes), kS4DScanFn,
              ": the CUDA kernels do not take 'u' of dtype ", c10::toString(u.scalar_type()),
              " with ", modes, " modes");
#else
  TORCH_CHECK(u.device().is_cpu(), kS4DScanFn, ": 'u' is on ", u.device(),
              ", and this build has only the CPU kernels");
#endif
  return S4DScanFunction::apply(u, decay_re, decay_im, weight_re, weight_im, skip)[0];
}

}  // namespace ssmkit::ops
