// Checkpoints: exact round trip of model, optimizer, state, configuration and generator state;
// atomic writes; clear errors for missing, truncated, corrupt and mismatched files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "ssmkit/io/error.h"
#include "ssmkit/train/checkpoint.h"
#include "ssmkit/train/optimizer_factory.h"
#include "train/train_fixtures.h"

namespace {

using nlohmann::json;
using namespace ssmkit::train;
using ssmkit::testing::TempDir;
using ssmkit::testing::TinyMlp;

struct Trained {
  TinyMlp net{ssmkit::testing::kFeatures, ssmkit::testing::kHidden, 1};
  std::unique_ptr<ModuleModel> model = wrap_module(net);
  std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(
      OptimizerConfig::from_json({{"name", "adamw"}, {"lr", 0.01}}), model->named_parameters());
  void steps(int n) {
    for (int i = 0; i < n; ++i) {
      optimizer->zero_grad();
      model->forward(torch::randn({8, ssmkit::testing::kFeatures})).pow(2).mean().backward();
      optimizer->step();
    }
  }
};

CheckpointState sample_state() {
  CheckpointState s;
  s.epoch = 3;
  s.global_step = 42;
  s.config = {{"model", {{"d_model", 16}, {"name", "mamba"}}}, {"optimizer", {{"lr", 0.01}}}};
  s.trainer = {{"scheduler", {{"name", "constant"}}}, {"note", "x"}};
  return s;
}

std::string error_of_load(const std::string& path) {
  Trained fresh;
  try {
    load_checkpoint(path, *fresh.model, fresh.optimizer.get(), torch::kCPU, false);
  } catch (const ssmkit::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Checkpoint, RoundTripRestoresModelOptimizerStateConfigAndRng) {
  TempDir dir;
  const auto path = dir.file("ck.pt");
  Trained a;
  a.steps(3);
  save_checkpoint(path, *a.model, a.optimizer.get(), sample_state());
  const auto after_save = torch::rand({5});  // the generator moved on after the save

  Trained b;
  const auto state = load_checkpoint(path, *b.model, b.optimizer.get(), torch::kCPU, true);
  EXPECT_TRUE(torch::equal(torch::rand({5}), after_save));  // generator restored to the save
  EXPECT_TRUE(ssmkit::testing::same_parameters(*a.model, *b.model));
  EXPECT_EQ(state.epoch, 3);
  EXPECT_EQ(state.global_step, 42);
  EXPECT_EQ(state.config, sample_state().config);
  EXPECT_EQ(state.trainer, sample_state().trainer);

  const auto sa = optimizer_state_tensors(*a.optimizer);
  const auto sb = optimizer_state_tensors(*b.optimizer);
  ASSERT_EQ(sa.size(), sb.size());
  ASSERT_FALSE(sa.empty());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
  // Both continue identically.
  torch::manual_seed(9);
  a.steps(2);
  torch::manual_seed(9);
  b.steps(2);
  EXPECT_TRUE(ssmkit::testing::same_parameters(*a.model, *b.model));

  // The state alone, e.g. to rebuild the model from its configuration first.
  EXPECT_EQ(read_checkpoint_state(path).config["model"]["d_model"], 16);
}

TEST(Checkpoint, AnInterruptedWriteLeavesThePreviousCheckpointIntact) {
  TempDir dir;
  const auto path = dir.file("last.pt");
  Trained a;
  a.steps(1);
  save_checkpoint(path, *a.model, a.optimizer.get(), sample_state());
  const auto good_bytes = std::filesystem::file_size(path);

  // A program killed while writing the next checkpoint leaves a partial temporary file beside it.
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(path + ".tmp.12345.678", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  EXPECT_EQ(std::filesystem::file_size(path), good_bytes);
  EXPECT_EQ(error_of_load(path), "");

  // A write that fails (here: the folder vanished) throws and leaves nothing behind.
  const auto gone = dir.file("gone/last.pt");
  EXPECT_THROW(save_checkpoint(gone, *a.model, a.optimizer.get(), sample_state()),
               ssmkit::InputError);
  EXPECT_FALSE(std::filesystem::exists(gone));

  // Overwriting goes through a temporary file: afterwards only the new checkpoint is there.
  a.steps(1);
  auto next = sample_state();
  next.epoch = 4;
  save_checkpoint(path, *a.model, a.optimizer.get(), next);
  EXPECT_EQ(read_checkpoint_state(path).epoch, 4);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2u);  // last.pt and the stray partial file of the "killed" write
}

TEST(Checkpoint, TruncatedCorruptMissingAndForeignFilesGiveClearErrors) {
  TempDir dir;
  const auto path = dir.file("ck.pt");
  Trained a;
  save_checkpoint(path, *a.model, a.optimizer.get(), sample_state());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  const auto truncated = dir.file("truncated.pt");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto msg = error_of_load(truncated);
  EXPECT_NE(msg.find(truncated), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;

  const auto garbage = dir.file("garbage.pt");
  std::ofstream(garbage, std::ios::binary) << std::string(4096, '\x5a');
  msg = error_of_load(garbage);
  EXPECT_NE(msg.find(garbage), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;

  msg = error_of_load(dir.file("absent.pt"));
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;

  const auto foreign = dir.file("foreign.pt");
  torch::save(torch::ones({3}), foreign);
  msg = error_of_load(foreign);
  EXPECT_NE(msg.find("not an ssmkit checkpoint"), std::string::npos) << msg;
}

// Named trainer tensors (the weight average) come back in order with their names; a checkpoint
// that lists one it does not hold, or holds something else under its key, is a clear error.
TEST(Checkpoint, NamedTensorsRoundTripAndMissingOnesAreClearErrors) {
  TempDir dir;
  const auto path = dir.file("ck.pt");
  Trained a;
  CheckpointState state = sample_state();
  state.tensors = {{"fc1.weight", torch::randn({8, 4})}, {"fc1.bias", torch::randn({8})}};
  save_checkpoint(path, *a.model, a.optimizer.get(), state);
  const CheckpointState back = read_checkpoint_state(path);
  ASSERT_EQ(back.tensors.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.tensors[i].first, state.tensors[i].first);
    EXPECT_TRUE(torch::equal(back.tensors[i].second, state.tensors[i].second));
  }
  EXPECT_TRUE(read_checkpoint_state(dir.file("ck.pt")).trainer == state.trainer);

  // Hand-built archives: "avg" listed; absent, then a string under its key.
  for (const bool holds_string : {false, true}) {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string("ssmkit-checkpoint")));
    archive.write("format_version", c10::IValue(int64_t{1}));
    torch::serialize::OutputArchive model_archive(archive.compilation_unit());
    a.model->save(model_archive);
    archive.write("model", model_archive);
    const json saved = {
        {"epoch", 1}, {"global_step", 2}, {"trainer", json::object()}, {"tensors", {"avg"}}};
    archive.write("state_json", c10::IValue(saved.dump()));
    archive.write("config_json", c10::IValue(std::string("{}")));
    if (holds_string) archive.write("tensor_0", c10::IValue(std::string("not a tensor")));
    const auto broken = dir.file(holds_string ? "string.pt" : "absent_tensor.pt");
    archive.save_to(broken);
    try {
      read_checkpoint_state(broken);
      ADD_FAILURE() << "no error for " << broken;
    } catch (const ssmkit::InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(broken + ": checkpoint lists tensor 'avg'"), std::string::npos) << msg;
    }
  }
}

TEST(Checkpoint, AnotherModelShapeIsAClearError) {
  TempDir dir;
  const auto path = dir.file("ck.pt");
  TinyMlp wide(ssmkit::testing::kFeatures, 2 * ssmkit::testing::kHidden, 1);
  auto model = wrap_module(wide);
  save_checkpoint(path, *model, nullptr, sample_state());
  const auto msg = error_of_load(path);
  EXPECT_NE(msg.find("fc1.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[16, 4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 4]"), std::string::npos) << msg;
}

TEST(Checkpoint, WeightsOnlyExportLoadsWithoutOptimizer) {
  TempDir dir;
  const auto path = dir.file("weights.pt");
  Trained a;
  a.steps(2);
  save_checkpoint(path, *a.model, nullptr, sample_state());
  Trained b;
  load_checkpoint(path, *b.model, nullptr, torch::kCPU, false);
  EXPECT_TRUE(ssmkit::testing::same_parameters(*a.model, *b.model));
  EXPECT_NE(error_of_load(path).find("no optimizer state"), std::string::npos);
}

}  // namespace
