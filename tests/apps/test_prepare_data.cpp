// The prepare_data program end to end: a good run writes the .npz and prints the summary; every bad
// input exits non-zero with one message naming the program and the file or flag, and writes
// nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "apps/program_run.h"
#include "io/io_test_helpers.h"
#include "ssmkit/io/file_bytes.h"
#include "ssmkit/io/npz.h"

namespace ssmkit::io {
namespace {

using ssmkit::testing::TempDir;
using ssmkit::testing::write_bytes;
using RunResult = ssmkit::testing::ProgramRun;

const std::string kProgram = std::string(SSMKIT_BINARY_DIR) + "/apps/prepare_data";

RunResult run_prepare(const TempDir& dir, const std::string& args) {
  return ssmkit::testing::run_command(dir, kProgram + " " + args);
}

// A small hourly CSV with `rows` rows and two value columns.
std::string hourly_csv(int rows) {
  std::string csv = "date,a,b\n";
  for (int t = 0; t < rows; ++t) {
    csv += "2020-01-0" + std::to_string(1 + t / 24) + " " + std::to_string(t % 24) + ":00," +
           std::to_string(t * 0.5) + "," + std::to_string(100 - t) + "\n";
  }
  return csv;
}

class PrepareDataProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kProgram)) GTEST_SKIP() << kProgram << " not built";
  }
};

TEST_F(PrepareDataProgram, WritesNpzAndSummary) {
  TempDir dir;
  const std::string out = dir.file("out.npz");
  const RunResult run = run_prepare(dir, "--input_file " + std::string(SSMKIT_SOURCE_DIR) +
                                             "/data/sample_series.json" + " --output_file " + out +
                                             " --input_length 96 --forecast_length 24");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const std::string fragment :
       {"read 2000 rows", "duplicate timestamps dropped: 0",
        "columns (3): load, temperature, humidity", "train: rows [0, 1400) -> 1281 windows",
        "val: rows [1304, 1600) -> 177 windows", "test: rows [1504, 2000) -> 377 windows"}) {
    EXPECT_NE(run.output.find(fragment), std::string::npos) << fragment << "\n" << run.output;
  }
  const Npz npz = read_npz(out);
  EXPECT_EQ(npz.array("X_train").shape(), (std::vector<int64_t>{1281, 96, 3}));
  EXPECT_EQ(npz.array("y_val").shape(), (std::vector<int64_t>{177, 24, 3}));
}

TEST_F(PrepareDataProgram, CsvWithDuplicatesFillAndColumns) {
  TempDir dir;
  std::string csv = hourly_csv(60);
  csv += "2020-01-01 5:00,7,7\n";                 // duplicate timestamp, dropped
  csv.replace(csv.find(",1.500000,"), 10, ",,");  // a missing value in 'a', forward-filled
  write_bytes(dir.file("s.csv"), csv);
  const RunResult run = run_prepare(
      dir, "--input_file " + dir.file("s.csv") + " --output_file " + dir.file("o.npz") +
               " --input_length 6 --forecast_length 2 --fill ffill --columns b,a --test_size 0.25");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("duplicate timestamps dropped: 1"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("rows forward-filled: 1"), std::string::npos) << run.output;
  EXPECT_EQ(read_npz(dir.file("o.npz")).strings("columns").values,
            (std::vector<std::string>{"b", "a"}));
}

TEST_F(PrepareDataProgram, EveryBadInputFailsCleanly) {
  TempDir dir;
  const std::string out = dir.file("out.npz");
  const std::string good_csv = write_bytes(dir.file("good.csv"), hourly_csv(60));
  const std::string common = " --output_file " + out + " --input_length 6 --forecast_length 2";
  const struct {
    std::string name, file_contents, args;
    std::vector<std::string> fragments;
  } cases[] = {
      {"unknown flag", "", "--input_file " + good_csv + common + " --bogus 1", {"bogus"}},
      {"stray argument", "", "--input_file " + good_csv + common + " extra", {"extra"}},
      {"missing input flag", "", common, {"--input_file", "missing"}},
      {"absent input",
       "",
       "--input_file " + dir.file("absent.json") + common,
       {"absent.json", "cannot open"}},
      {"invalid json",
       "[{\"date\": 1,",
       "--input_file {file}.json" + common,
       {"{file}.json", "invalid JSON"}},
      {"empty csv", "", "--input_file {file}.csv" + common, {"{file}.csv", "empty file"}},
      {"missing timestamp",
       "date,a\n2020-01-01,1\n,2\n",
       "--input_file {file}.csv" + common,
       {"{file}.csv line 3", "missing timestamp"}},
      {"bad timestamp",
       "date,a\n2020-01-01,1\nsoon,2\n",
       "--input_file {file}.csv" + common,
       {"{file}.csv line 3", "cannot parse timestamp 'soon'"}},
      {"no timestamp column",
       "x,a\n1,2\n",
       "--input_file {file}.csv" + common,
       {"no timestamp column"}},
      {"no numeric columns",
       "date,name\n2020-01-01,x\n",
       "--input_file {file}.csv" + common,
       {"no numeric columns"}},
      {"NaN value",
       "date,a\n2020-01-01,1\n2020-01-02,NaN\n",
       "--input_file {file}.csv" + common,
       {"{file}.csv", "1 row has missing values", "line 3 ('a')"}},
      {"missing values",
       "date,a\n2020-01-01,1\n2020-01-02,\n2020-01-03,NaN\n",
       "--input_file {file}.csv" + common,
       {"2 rows have missing values", "line 3 ('a')", "--fill"}},
      {"too short",
       hourly_csv(7),
       "--input_file {file}.csv" + common,
       {"{file}.csv", "7 rows", "shorter than one window"}},
      {"empty split",
       hourly_csv(60),
       "--input_file {file}.csv" + common + " --test_size 0.01",
       {"the test split", "fewer than one window"}},
      {"zero input_length",
       "",
       "--input_file " + good_csv + " --output_file " + out +
           " --input_length 0 --forecast_length 2",
       {"--input_length", "positive"}},
      {"negative forecast_length",
       "",
       "--input_file " + good_csv + " --output_file " + out +
           " --input_length 4 --forecast_length -2",
       {"--forecast_length", "positive"}},
      {"non-numeric length",
       "",
       "--input_file " + good_csv + " --output_file " + out +
           " --input_length abc --forecast_length 2",
       {"abc"}},
      {"bad split",
       "",
       "--input_file " + good_csv + common + " --split random",
       {"--split", "'random'"}},
      {"bad fill", "", "--input_file " + good_csv + common + " --fill zero", {"--fill", "'zero'"}},
      {"bad format", "", "--input_file " + good_csv + common + " --format xml", {"--format"}},
      {"ett too short",
       "",
       "--input_file " + good_csv + common + " --split ett",
       {"--split ett", "14400 rows"}},
      {"output not npz",
       "",
       "--input_file " + good_csv + " --output_file " + dir.file("o.txt") +
           " --input_length 6 --forecast_length 2",
       {"--output_file", ".npz"}},
      {"unknown column",
       "",
       "--input_file " + good_csv + common + " --columns a,zz",
       {"no column 'zz'"}},
  };
  int index = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string stem = dir.file("input" + std::to_string(index++));
    const auto expand = [&](std::string text) {
      const size_t at = text.find("{file}");
      return at == std::string::npos ? text : text.replace(at, 6, stem);
    };
    const std::string args = expand(c.args);
    if (args.find(stem) != std::string::npos) {
      write_bytes(args.find(stem + ".json") != std::string::npos ? stem + ".json" : stem + ".csv",
                  c.file_contents);
    }
    const RunResult run = run_prepare(dir, args);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(run.output.rfind("prepare_data: ", 0), 0u) << run.output;
    EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1)
        << "one line: " << run.output;
    for (const std::string& fragment : c.fragments) {
      EXPECT_NE(run.output.find(expand(fragment)), std::string::npos)
          << "\"" << run.output << "\" lacks \"" << expand(fragment) << "\"";
    }
    EXPECT_FALSE(std::filesystem::exists(out)) << "no output file";
    EXPECT_FALSE(std::filesystem::exists(dir.file("o.txt")));
  }
}

}  // namespace
}  // namespace ssmkit::io
