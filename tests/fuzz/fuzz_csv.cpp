// libFuzzer target: the CSV reader, numeric columns and time-series assembly on its tables.
#include "fuzz_target.h"
#include "ssmkit/io/csv.h"
#include "ssmkit/io/time_series.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const ssmkit::io::Table table = ssmkit::io::parse_csv(bytes, ssmkit::fuzz::kOrigin);
    for (const auto& column : table.columns()) {
      ssmkit::fuzz::require(static_cast<int64_t>(column.cells.size()) == table.num_rows(),
                            "every column has one cell per row");
      try {
        table.numeric_column(column.name);
      } catch (const ssmkit::InputError&) {
      }
    }
    for (const auto fill : {ssmkit::io::FillPolicy::error, ssmkit::io::FillPolicy::ffill,
                            ssmkit::io::FillPolicy::drop}) {
      try {
        ssmkit::io::TimeSeriesOptions options;
        options.fill = fill;
        const auto series = ssmkit::io::assemble_time_series(table, options);
        ssmkit::fuzz::require(
            series.values.size() == series.timestamps.size() * series.columns.size(),
            "series values are (T, C)");
        for (size_t i = 1; i < series.timestamps.size(); ++i) {
          ssmkit::fuzz::require(series.timestamps[i - 1] < series.timestamps[i],
                                "timestamps strictly increase");
        }
      } catch (const ssmkit::InputError&) {
      }
    }
  });
}
