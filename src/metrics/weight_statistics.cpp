// Per-parameter statistics.
#include "ssmkit/metrics/weight_statistics.h"

#include <torch/torch.h>

namespace ssmkit::metrics {
std::vector<ParameterStatistics> parameter_statistics(
    const torch::OrderedDict<std::string, at::Tensor>& parameters) {
  std::vector<ParameterStatistics> out;
  if (parameters.is_empty()) return out;
  torch::NoGradGuard no_grad;
  // One copy of every parameter to the host, then the statistics there in float64: on a GPU,
  // five reductions per parameter would be hundreds of tiny kernels at every epoch end.
  std::vector<at::Tensor> flat;
  for (const auto& item : parameters)
    flat.push_back(item.value().detach().flatten().to(torch::kFloat64));
  const at::Tensor host = torch::cat(flat).cpu().contiguous();
  int64_t offset = 0;
  for (const auto& item : parameters) {
    const int64_t n = item.value().numel();
    if (n == 0) {
      out.push_back({item.key(), 0.0, 0.0, 0.0, 0.0, 0.0});
      continue;
    }
    const auto p = host.narrow(0, offset, n);
    offset += n;
    const double mean = p.mean().item<double>();
    const double std = (p - mean).pow(2).mean().sqrt().item<double>();
    out.push_back({item.key(), mean, std, p.min().item<double>(), p.max().item<double>(),
                   p.norm(2).item<double>()});
  }
  return out;
}

nlohmann::json to_json(const std::vector<ParameterStatistics>& statistics) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : statistics) {
    out[s.name] = {
        {"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max}, {"norm", s.norm}};
  }
  return out;
}

}  // namespace ssmkit::metrics
