// load_submodule_weights: a model takes one part of another model's checkpoint (a classifier the
// encoder of a pretraining run); a part of another shape or a missing part is an error naming the
// tensor, and nothing is copied then.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/io/error.h"
#include "ssmkit/train/checkpoint.h"
#include "test_temp_dir.h"

namespace {

using namespace ssmkit::train;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

struct EncoderImpl : torch::nn::Module {
  explicit EncoderImpl(int64_t width)
      : proj(register_module("proj", torch::nn::Linear(3, width))),
        norm(register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))) {}
  torch::nn::Linear proj;
  torch::nn::LayerNorm norm;
};
TORCH_MODULE(Encoder);

struct AutoencoderImpl : torch::nn::Module {
  explicit AutoencoderImpl(int64_t width)
      : encoder(register_module("encoder", Encoder(width))),
        decoder(register_module("decoder", torch::nn::Linear(width, 3))) {}
  // x (B, 3) -> (B, 3)
  torch::Tensor forward(const torch::Tensor& x) { return decoder(encoder->norm(encoder->proj(x))); }
  Encoder encoder;
  torch::nn::Linear decoder;
};
TORCH_MODULE(Autoencoder);

std::string save_autoencoder(const ssmkit::testing::TempDir& dir, int64_t width) {
  Autoencoder source(width);
  auto model = wrap_module(source);
  const std::string path = dir.file("mae_" + std::to_string(width) + ".ckpt");
  save_checkpoint(path, *model, nullptr, CheckpointState{});
  return path;
}

TEST(SubmoduleWeights, LoadsTheEncoderOfAnotherModelsCheckpoint) {
  const ssmkit::testing::TempDir dir;
  torch::manual_seed(1);
  Autoencoder source(4);
  const std::string path = dir.file("mae.ckpt");
  save_checkpoint(path, *wrap_module(source), nullptr, CheckpointState{});
  Encoder target(4);
  load_submodule_weights(path, "encoder", *target);
  const auto expected = source->encoder->named_parameters();
  for (const auto& item : target->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), expected[item.key()])) << item.key();
  }
}

TEST(SubmoduleWeights, AnotherShapeOrAMissingPartNamesTheTensorAndCopiesNothing) {
  const ssmkit::testing::TempDir dir;
  const std::string path = save_autoencoder(dir, 4);
  Encoder wider(6);
  const at::Tensor before = wider->proj->weight.clone();
  EXPECT_THAT([&] { load_submodule_weights(path, "encoder", *wider); },
              ThrowsMessage<ssmkit::InputError>(
                  HasSubstr("tensor 'encoder.proj.weight' has shape [4, 3]")));
  EXPECT_TRUE(torch::equal(wider->proj->weight, before));
  Encoder fits(4);
  EXPECT_THAT([&] { load_submodule_weights(path, "backbone", *fits); },
              ThrowsMessage<ssmkit::InputError>(HasSubstr("no tensor 'backbone.proj.weight'")));
  EXPECT_THAT([&] { load_submodule_weights(dir.file("none.ckpt"), "encoder", *fits); },
              ThrowsMessage<ssmkit::InputError>(HasSubstr("does not exist")));
}

}  // namespace

// A run that averaged its weights hands over the average, as its validation and tests used it;
// load_weight_average() puts the average into a whole model of the same kind.
TEST(SubmoduleWeights, TheWeightAverageOfTheCheckpointIsWhatIsLoaded) {
  const ssmkit::testing::TempDir dir;
  torch::manual_seed(2);
  Autoencoder source(4);
  CheckpointState state;
  for (const auto& item : source->named_parameters())
    state.tensors.emplace_back(item.key(), torch::randn_like(item.value()));
  const std::string path = dir.file("averaged.ckpt");
  save_checkpoint(path, *wrap_module(source), nullptr, state);
  std::map<std::string, at::Tensor> averages(state.tensors.begin(), state.tensors.end());

  Encoder encoder(4);
  load_submodule_weights(path, "encoder", *encoder);
  for (const auto& item : encoder->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), averages.at("encoder." + item.key()))) << item.key();
  }

  Autoencoder whole(4);
  const CheckpointState read = read_checkpoint_state(path);
  EXPECT_TRUE(load_weight_average(read, path, *whole));
  for (const auto& item : whole->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), averages.at(item.key()))) << item.key();
  EXPECT_FALSE(load_weight_average(CheckpointState{}, path, *whole)) << "no average, no change";

  Autoencoder wider(5);
  const at::Tensor before = wider->decoder->weight.detach().clone();
  EXPECT_THAT([&] { load_weight_average(read, path, *wider); },
              ThrowsMessage<ssmkit::InputError>(HasSubstr("weight average")));
  EXPECT_TRUE(torch::equal(wider->decoder->weight, before)) << "nothing copied";
}
