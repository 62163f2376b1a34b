// prepare_data: turns a JSON or CSV time series into scaled forecasting windows in one .npz
// (X/y/t for train, val and test, the scaler and the column names). Torch-free; starts instantly.
#include <cxxopts.hpp>

#include <iostream>
#include <sstream>

#include "ssmkit/cli/run_main.h"
#include "ssmkit/io/error.h"
#include "ssmkit/io/series_preparation.h"

namespace {

constexpr const char* kProgram = "prepare_data";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const size_t first = item.find_first_not_of(' ');
    const size_t last = item.find_last_not_of(' ');
    if (first == std::string::npos) {
      throw ssmkit::InputError("--columns: empty column name in '" + text + "'");
    }
    items.push_back(item.substr(first, last - first + 1));
  }
  return items;
}

ssmkit::io::PrepareOptions parse_flags(int argc, char** argv, bool& help) {
  cxxopts::Options cli(kProgram,
                       "Turns a JSON or CSV time series into scaled forecasting windows "
                       "in one .npz (see docs/data.md).");
  // clang-format off
  cli.add_options()
      ("input_file", "time series (.json or .csv)", cxxopts::value<std::string>())
      ("output_file", "output .npz", cxxopts::value<std::string>())
      ("input_length", "input steps per window", cxxopts::value<int64_t>())
      ("forecast_length", "forecast steps per window", cxxopts::value<int64_t>())
      ("test_size", "fraction of rows for test (chronological split)",
       cxxopts::value<double>()->default_value("0.2"))
      ("val_size", "fraction of rows for validation (chronological split)",
       cxxopts::value<double>()->default_value("0.1"))
      ("timestamp_column", "timestamp column (default: timestamp, date, time or datetime)",
       cxxopts::value<std::string>()->default_value(""))
      ("columns", "comma-separated value columns (default: every numeric column)",
       cxxopts::value<std::string>()->default_value(""))
      ("split", "chronological | ett",
       cxxopts::value<std::string>()->default_value("chronological"))
      ("fill", "missing values: error | ffill | drop",
       cxxopts::value<std::string>()->default_value("error"))
      ("format", "auto | csv | json (auto: by extension)",
       cxxopts::value<std::string>()->default_value("auto"))
      ("h,help", "print this help");
  // clang-format on
  const cxxopts::ParseResult flags = cli.parse(argc, argv);
  if (!flags.unmatched().empty()) {
    throw ssmkit::InputError("unexpected argument '" + flags.unmatched().front() + "'");
  }
  help = flags.count("help") > 0;
  if (help) {
    std::cout << cli.help() << std::endl;
    return {};
  }
  for (const char* required : {"input_file", "output_file", "input_length", "forecast_length"}) {
    if (flags.count(required) == 0) {
      throw ssmkit::InputError(std::string("--") + required + ": missing (see --help)");
    }
  }
  ssmkit::io::PrepareOptions options;
  options.input_file = flags["input_file"].as<std::string>();
  options.output_file = flags["output_file"].as<std::string>();
  options.input_length = flags["input_length"].as<int64_t>();
  options.forecast_length = flags["forecast_length"].as<int64_t>();
  options.test_size = flags["test_size"].as<double>();
  options.val_size = flags["val_size"].as<double>();
  options.format = ssmkit::io::parse_series_format(flags["format"].as<std::string>(), "--format");
  options.split = ssmkit::io::parse_split_scheme(flags["split"].as<std::string>(), "--split");
  options.series.fill = ssmkit::io::parse_fill_policy(flags["fill"].as<std::string>(), "--fill");
  options.series.timestamp_column = flags["timestamp_column"].as<std::string>();
  const std::string columns = flags["columns"].as<std::string>();
  if (!columns.empty()) options.series.columns = split_list(columns);
  if (options.split == ssmkit::io::SplitScheme::ett &&
      (flags.count("test_size") > 0 || flags.count("val_size") > 0)) {
    std::cerr << kProgram
              << ": note: --split ett uses fixed borders; --test_size and --val_size "
                 "are ignored"
              << std::endl;
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  return ssmkit::cli::run_main(kProgram, argc, argv, [](int count, char** words) {
    bool help = false;
    const ssmkit::io::PrepareOptions options = parse_flags(count, words, help);
    if (help) return 0;
    const ssmkit::io::PreparedData data = ssmkit::io::run_prepare_data(options);
    std::cout << ssmkit::io::prepare_summary(data, options) << "wrote " << options.output_file
              << std::endl;
    return 0;
  });
}
