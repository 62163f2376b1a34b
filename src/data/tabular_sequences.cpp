// Tabular rows as feature sequences: column checks, task detection, scaling, class coding.
#include "ssmkit/data/tabular_sequences.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ssmkit/io/error.h"

namespace ssmkit::data {
namespace {

std::string column_list(const io::Table& table) {
  std::string out;
  for (const std::string& name : table.column_names())
    out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

size_t require_column(const io::Table& table, const std::string& name, const char* flag) {
  if (const auto index = table.find_column(name)) return *index;
  throw InputError(std::string(flag) + ": " + table.origin() + " has no column '" + name +
                   "' (columns: " + column_list(table) + ")");
}

// The class name of a numeric target: integers without a decimal point ("3", not "3.0").
std::string number_name(double value) {
  if (value == std::floor(value) && std::abs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  return io::cell_text(io::Cell(value));
}

bool is_integer(double value) {
  return value == std::floor(value);
}

}  // namespace

std::string tabular_task_name(TabularTask task) {
  return task == TabularTask::classification ? "classification" : "regression";
}

TabularColumns TabularColumns::select(const std::vector<int64_t>& index) const {
  TabularColumns out;
  out.origin = origin;
  out.table = table;
  std::vector<int64_t> rows_index(index.begin(), index.end());
  out.features = features.index_select(0, torch::tensor(rows_index, torch::kLong));
  for (const int64_t i : index) {
    if (!target.empty()) out.target.push_back(target[static_cast<size_t>(i)]);
    out.positions.push_back(positions[static_cast<size_t>(i)]);
    out.rows.push_back(rows[static_cast<size_t>(i)]);
  }
  return out;
}

TabularColumns read_tabular_columns(const io::Table& table,
                                    const std::vector<std::string>& features,
                                    const std::string& target) {
  if (features.empty()) throw InputError("--independent_variables: none given");
  if (table.num_rows() == 0) throw InputError(table.origin() + ": no data rows below the header");
  std::vector<size_t> feature_columns;
  for (const std::string& name : features) {
    if (name == target) {
      throw InputError("--independent_variables: '" + name + "' is also the dependent variable");
    }
    feature_columns.push_back(require_column(table, name, "--independent_variables"));
  }
  const int64_t n = table.num_rows();
  const auto f = static_cast<int64_t>(features.size());
  TabularColumns out;
  out.origin = table.origin();
  out.table = &table;
  out.features = torch::empty({n, f}, torch::kDouble);
  auto values = out.features.accessor<double, 2>();
  for (int64_t j = 0; j < f; ++j) {
    const io::TableColumn& column = table.columns()[feature_columns[static_cast<size_t>(j)]];
    for (int64_t i = 0; i < n; ++i) {
      const io::Cell& cell = column.cells[static_cast<size_t>(i)];
      const io::CellNumber number = io::cell_number(cell);
      if (number.kind == io::CellNumber::missing) {
        throw InputError(table.where(i) + ", column '" + column.name +
                         "': missing value (fill or drop the row)");
      }
      if (number.kind == io::CellNumber::invalid) {
        throw InputError(table.where(i) + ", column '" + column.name + "': '" +
                         io::cell_text(cell) + "' is not a number (features must be numeric)");
      }
      values[i][j] = number.value;
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    out.positions.push_back(table.row_position(i));
    out.rows.push_back(i);
  }
  if (target.empty()) return out;
  const io::TableColumn& column =
      table.columns()[require_column(table, target, "--dependent_variable")];
  for (int64_t i = 0; i < n; ++i) {
    const io::Cell& cell = column.cells[static_cast<size_t>(i)];
    if (io::cell_number(cell).kind == io::CellNumber::missing) {
      throw InputError(table.where(i) + ", column '" + target + "': missing value");
    }
    out.target.push_back(cell);
  }
  return out;
}

TabularEncoding TabularEncoding::fit(const TabularColumns& train,
                                     const std::vector<const TabularColumns*>& all,
                                     const std::vector<std::string>& features,
                                     const std::string& target, const std::string& task) {
  if (task != "auto" && task != "classification" && task != "regression") {
    throw InputError("--task: '" + task +
                     "' is unknown, expected auto, classification or regression");
  }
  TabularEncoding e;
  e.features = features;
  e.target = target;
  // What the targets look like over every part.
  bool all_numeric = true;
  bool all_integer = true;
  std::set<double> numbers;
  std::set<std::string> texts;
  for (const TabularColumns* part : all) {
    for (const io::Cell& cell : part->target) {
      const io::CellNumber number = io::cell_number(cell);
      if (number.kind == io::CellNumber::number) {
        numbers.insert(number.value);
        all_integer = all_integer && is_integer(number.value);
      } else {
        all_numeric = false;
      }
      texts.insert(io::cell_text(cell));
    }
  }
  if (task == "auto") {
    const bool few_integers =
        all_integer && static_cast<int64_t>(numbers.size()) <= kMaxIntegerClasses;
    e.task = !all_numeric || few_integers ? TabularTask::classification : TabularTask::regression;
  } else {
    e.task = task == "classification" ? TabularTask::classification : TabularTask::regression;
  }
  if (e.task == TabularTask::regression) {
    if (!all_numeric) {
      for (size_t i = 0; i < train.target.size(); ++i) {
        if (io::cell_number(train.target[i]).kind != io::CellNumber::number) {
          throw InputError(train.origin + " line " + std::to_string(train.positions[i]) +
                           ", column '" + target + "': '" + io::cell_text(train.target[i]) +
                           "' is not a number (regression target; --task classification?)");
        }
      }
      throw InputError("--dependent_variable: '" + target +
                       "' has text values; regression needs numbers (--task classification?)");
    }
    double sum = 0;
    for (const io::Cell& cell : train.target)
      sum += io::cell_number(cell).value;
    const auto n = static_cast<double>(train.target.size());
    e.target_mean = sum / n;
    double squares = 0;
    for (const io::Cell& cell : train.target)
      squares += std::pow(io::cell_number(cell).value - e.target_mean, 2);
    const double std = std::sqrt(squares / n);
    e.target_scale = std > 1e-12 ? std : 1.0;
  } else {
    // Numbers in numeric order, text in sklearn's LabelEncoder (sorted) order.
    if (all_numeric) {
      for (const double v : numbers)
        e.class_names.push_back(number_name(v));
    } else {
      e.class_names.assign(texts.begin(), texts.end());
    }
    if (e.class_names.size() < 2) {
      throw InputError("--dependent_variable: '" + target + "' has one class ('" +
                       (e.class_names.empty() ? std::string() : e.class_names.front()) + "') in " +
                       train.origin + "; classification needs at least 2");
    }
  }
  const at::Tensor x = train.features.contiguous();
  e.scaler = io::StandardScaler::fit(x.data_ptr<double>(), x.size(0), x.size(1));
  return e;
}

at::Tensor TabularEncoding::encode_features(const TabularColumns& columns) const {
  TORCH_CHECK(columns.features.size(1) == scaler.channels(),
              "encode_features: ", columns.features.size(1), " features, the encoding has ",
              scaler.channels());
  at::Tensor x = columns.features.clone().contiguous();  // (N, F) float64
  scaler.transform(x.data_ptr<double>(), x.size(0));
  return x.to(torch::kFloat).unsqueeze(-1);  // (N, F, 1)
}

LabelledSequences TabularEncoding::encode(const TabularColumns& columns) const {
  LabelledSequences out;
  out.inputs = encode_features(columns);
  const int64_t n = columns.size();
  if (task == TabularTask::regression) {
    std::vector<float> values;
    for (const io::Cell& cell : columns.target) {
      values.push_back(
          static_cast<float>((io::cell_number(cell).value - target_mean) / target_scale));
    }
    out.targets = torch::tensor(values, torch::kFloat).view({n, 1});
    return out;
  }
  std::map<std::string, int64_t> index;
  for (size_t k = 0; k < class_names.size(); ++k)
    index[class_names[k]] = static_cast<int64_t>(k);
  std::vector<int64_t> labels;
  for (size_t i = 0; i < columns.target.size(); ++i) {
    const io::Cell& cell = columns.target[i];
    const io::CellNumber number = io::cell_number(cell);
    const std::string name =
        number.kind == io::CellNumber::number && std::get_if<std::string>(&cell) == nullptr
            ? number_name(number.value)
            : io::cell_text(cell);
    auto it = index.find(name);
    // "1.0" in a file whose classes were coded as "1".
    if (it == index.end() && number.kind == io::CellNumber::number) {
      it = index.find(number_name(number.value));
    }
    if (it == index.end()) {
      throw InputError(columns.origin + " line " + std::to_string(columns.positions[i]) +
                       ", column '" + target + "': class '" + name +
                       "' is not one the model was trained on");
    }
    labels.push_back(it->second);
  }
  out.targets = torch::tensor(labels, torch::kLong);
  return out;
}

at::Tensor TabularEncoding::decode_values(const at::Tensor& outputs) const {
  return outputs.reshape({-1}).to(torch::kDouble) * target_scale + target_mean;  // (N)
}

nlohmann::json TabularEncoding::to_json() const {
  return {{"features", features},
          {"target", target},
          {"task", tabular_task_name(task)},
          {"class_names", class_names},
          {"feature_mean", scaler.mean},
          {"feature_scale", scaler.scale},
          {"target_mean", target_mean},
          {"target_scale", target_scale}};
}

TabularEncoding TabularEncoding::from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    TabularEncoding e;
    e.features = j.at("features").get<std::vector<std::string>>();
    e.target = j.at("target").get<std::string>();
    const std::string task = j.at("task").get<std::string>();
    e.task = task == "regression" ? TabularTask::regression : TabularTask::classification;
    e.class_names = j.at("class_names").get<std::vector<std::string>>();
    e.scaler.mean = j.at("feature_mean").get<std::vector<double>>();
    e.scaler.scale = j.at("feature_scale").get<std::vector<double>>();
    e.target_mean = j.at("target_mean").get<double>();
    e.target_scale = j.at("target_scale").get<double>();
    if (e.scaler.mean.size() != e.features.size() || e.scaler.scale.size() != e.features.size()) {
      throw InputError(origin + ": the feature scaler does not match the feature list");
    }
    return e;
  } catch (const nlohmann::json::exception& ex) {
    throw InputError(origin + ": not a tabular encoding (" + ex.what() + ")");
  }
}

}  // namespace ssmkit::data
