// Per-parameter statistics.
#include "ssmkit/metrics/weight_statistics.h"

#include <torch/torch.h>

namespace ssmkit::metrics {
namespace {

constexpr int64_t kStatisticsPerParameter = 5;  // mean, std, min, max, norm

}  // namespace

std::vector<ParameterStatistics> parameter_statistics(
    const torch::OrderedDict<std::string, at::Tensor>& parameters) {
  std::vector<ParameterStatistics> out;
  if (parameters.is_empty()) return out;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> rows;
  for (const auto& item : parameters) {
    const auto p = item.value().detach().to(torch::kFloat64).flatten();
    if (p.numel() == 0) {
      rows.push_back(torch::zeros({kStatisticsPerParameter}, p.options()));
      continue;
    }
    const auto mean = p.mean();
    const auto std = (p - mean).pow(2).mean().sqrt();
    rows.push_back(torch::stack({mean, std, p.min(), p.max(), p.norm(2)}));
  }
  const auto table = torch::stack(rows).cpu().contiguous();  // (parameters, 5)
  const double* data = table.data_ptr<double>();
  int64_t row = 0;
  for (const auto& item : parameters) {
    const double* v = data + row * kStatisticsPerParameter;
    out.push_back({item.key(), v[0], v[1], v[2], v[3], v[4]});
    ++row;
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
