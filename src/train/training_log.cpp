// training_log.json and the JSON form of epoch summaries.
#include "ssmkit/train/training_log.h"

#include "ssmkit/io/atomic_file.h"

namespace ssmkit::train {
namespace {

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

double number_or_nan(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || !it->is_number() ? kNoValue : it->get<double>();
}

nlohmann::json metrics_json(const std::map<std::string, double>& metrics) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : metrics)
    out[name] = number_or_null(value);
  return out;
}

}  // namespace

std::map<std::string, double> EpochSummary::values() const {
  std::map<std::string, double> out = metrics;
  out["train_loss"] = train_loss;
  if (!std::isnan(val_loss)) out["val_loss"] = val_loss;
  return out;
}

nlohmann::json to_json(const EpochSummary& s) {
  return {{"epoch", s.epoch},
          {"step", s.step},
          {"train_loss", number_or_null(s.train_loss)},
          {"val_loss", number_or_null(s.val_loss)},
          {"metrics", metrics_json(s.metrics)},
          {"lr", number_or_null(s.lr)},
          {"next_lr", number_or_null(s.next_lr)},
          {"seconds", s.seconds},
          {"improved", s.improved}};
}

EpochSummary epoch_summary_from_json(const nlohmann::json& record) {
  EpochSummary s;
  s.epoch = record.at("epoch").get<int64_t>();
  s.step = record.at("step").get<int64_t>();
  s.train_loss = number_or_nan(record, "train_loss");
  s.val_loss = number_or_nan(record, "val_loss");
  for (const auto& item : record.at("metrics").items()) {
    s.metrics[item.key()] = item.value().is_number() ? item.value().get<double>() : kNoValue;
  }
  s.lr = number_or_nan(record, "lr");
  s.next_lr = number_or_nan(record, "next_lr");
  s.seconds = number_or_nan(record, "seconds");
  s.improved = record.value("improved", false);
  return s;
}

nlohmann::json to_json(const EvaluationResult& r) {
  return {{"phase", r.phase},
          {"loss", number_or_null(r.loss)},
          {"metrics", metrics_json(r.metrics)},
          {"examples", r.examples},
          {"seconds", r.seconds}};
}

nlohmann::json TrainingLog::to_json() const {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : epochs)
    history.push_back(train::to_json(e));
  return {{"status", status},
          {"message", message},
          {"monitor", monitor},
          {"best_epoch", best_epoch},
          {"best_value", number_or_null(best_value)},
          {"epochs", history},
          {"test", test}};
}

TrainingLog TrainingLog::from_json(const nlohmann::json& document) {
  TrainingLog log;
  for (const auto& record : document.at("epochs")) {
    log.epochs.push_back(epoch_summary_from_json(record));
  }
  log.status = document.value("status", std::string("running"));
  log.message = document.value("message", std::string());
  log.monitor = document.value("monitor", std::string());
  log.best_epoch = document.value("best_epoch", int64_t{0});
  log.best_value = number_or_nan(document, "best_value");
  log.test = document.value("test", nlohmann::json());
  return log;
}

void TrainingLog::write(const std::string& path) const {
  write_file_atomic(path, to_json().dump(2) + "\n");
}

}  // namespace ssmkit::train
