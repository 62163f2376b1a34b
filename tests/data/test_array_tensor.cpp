// NdArray <-> at::Tensor conversions keep dtype, shape and every value.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/data/array_tensor.h"

namespace {

TEST(ArrayTensor, RoundTripsEveryDtype) {
  for (auto type : {torch::kFloat, torch::kDouble, torch::kLong, torch::kInt, torch::kByte,
                    torch::kChar, torch::kBool}) {
    at::Tensor t = (torch::rand({3, 4, 5}) * 100).to(type);
    ssmkit::io::NdArray a = ssmkit::data::to_array(t);
    EXPECT_EQ(a.shape(), (std::vector<int64_t>{3, 4, 5}));
    at::Tensor back = ssmkit::data::to_tensor(a);
    EXPECT_EQ(back.scalar_type(), type);
    EXPECT_TRUE(torch::equal(back, t)) << c10::toString(type);
  }
}

TEST(ArrayTensor, NonContiguousTensorIsCopiedInCOrder) {
  at::Tensor t = torch::arange(12, torch::kFloat).view({3, 4}).t();
  at::Tensor back = ssmkit::data::to_tensor(ssmkit::data::to_array(t));
  EXPECT_TRUE(torch::equal(back, t));
}

TEST(ArrayTensor, ScalarAndEmptyArrays) {
  at::Tensor scalar = torch::tensor(2.5);
  EXPECT_TRUE(torch::equal(ssmkit::data::to_tensor(ssmkit::data::to_array(scalar)), scalar));
  at::Tensor empty = torch::zeros({0, 7});
  EXPECT_EQ(ssmkit::data::to_tensor(ssmkit::data::to_array(empty)).sizes(), empty.sizes());
}

TEST(ArrayTensor, UnsupportedDtypeNamesIt) {
  try {
    ssmkit::data::to_array(torch::zeros({2}, torch::kBFloat16));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("BFloat16"), std::string::npos);
  }
}

}  // namespace
