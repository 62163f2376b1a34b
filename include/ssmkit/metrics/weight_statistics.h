// Per-parameter statistics (mean, std, min, max, L2 norm) for the metrics stream: drifting or
// exploding layers show up long before the loss does.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/ordered_dict.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ssmkit::metrics {

struct ParameterStatistics {
  std::string name;
  double mean = 0;
  double std = 0;  // population standard deviation (defined for one element too)
  double min = 0;
  double max = 0;
  double norm = 0;  // L2 norm
};

// Statistics of every parameter, computed in float64 with one device-to-host copy.
std::vector<ParameterStatistics> parameter_statistics(
    const torch::OrderedDict<std::string, at::Tensor>& parameters);

// {"<name>": {"mean": .., "std": .., "min": .., "max": .., "norm": ..}, ...}
nlohmann::json to_json(const std::vector<ParameterStatistics>& statistics);

}  // namespace ssmkit::metrics
