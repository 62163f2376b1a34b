// libFuzzer target: the JSON series reader, then the whole prepare_data pipeline in memory.
#include "fuzz_target.h"
#include "ssmkit/io/json_series.h"
#include "ssmkit/io/npy.h"
#include "ssmkit/io/series_preparation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ssmkit::fuzz::run_parser(data, size, [](std::string_view bytes) {
    const ssmkit::io::Table table = ssmkit::io::parse_json_series(bytes, ssmkit::fuzz::kOrigin);
    ssmkit::io::TimeSeriesOptions series_options;
    series_options.fill = ssmkit::io::FillPolicy::ffill;
    const ssmkit::io::TimeSeries series = ssmkit::io::assemble_time_series(table, series_options);
    ssmkit::io::PrepareOptions options;
    options.input_file = ssmkit::fuzz::kOrigin;
    options.output_file = "fuzz.npz";  // never written
    options.input_length = 1;
    options.forecast_length = 1;
    options.test_size = 0.25;
    options.val_size = 0.25;
    const ssmkit::io::PreparedData prepared = ssmkit::io::prepare_windows(series, options);
    const ssmkit::io::Npz npz = ssmkit::io::prepared_to_npz(prepared);
    for (const auto& entry : npz.entries()) {
      ssmkit::io::encode_npy(entry.second);
    }
  });
}
