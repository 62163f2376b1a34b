// Bad inputs to the selective scan: each error names the tensor, its shape and the expected shape.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssmkit/ops/selective_scan.h"

namespace {

using ssmkit::ops::SelectiveScanInputs;

SelectiveScanInputs valid_inputs() {
  SelectiveScanInputs in;
  in.u = torch::randn({2, 3, 5});
  in.delta = torch::rand({2, 3, 5});
  in.A = -torch::rand({3, 4});
  in.B = torch::randn({2, 4, 5});
  in.C = torch::randn({2, 4, 5});
  return in;
}

std::string error_of(const SelectiveScanInputs& in) {
  try {
    ssmkit::ops::selective_scan(in);
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(SelectiveScanChecks, ValidInputsPass) { EXPECT_EQ(error_of(valid_inputs()), ""); }

TEST(SelectiveScanChecks, WrongDeltaShapeNamesTensorAndShapes) {
  auto in = valid_inputs();
  in.delta = torch::rand({2, 3, 4});
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("'delta' has shape [2, 3, 4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(B, D, L) = [2, 3, 5]"), std::string::npos) << msg;
}

TEST(SelectiveScanChecks, WrongRankOfB) {
  auto in = valid_inputs();
  in.B = torch::randn({4});
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("'B' has shape [4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(D, N), (B, N, L) or (B, G, N, L)"), std::string::npos) << msg;
}

TEST(SelectiveScanChecks, GroupsMustDivideChannels) {
  auto in = valid_inputs();
  in.B = torch::randn({2, 2, 4, 5});
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("2 groups, which must divide D = 3"), std::string::npos) << msg;
}

TEST(SelectiveScanChecks, DtypeMismatch) {
  auto in = valid_inputs();
  in.delta = in.delta.to(torch::kDouble);
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("'delta' has dtype Double"), std::string::npos) << msg;
}

TEST(SelectiveScanChecks, IntegerInputRejected) {
  auto in = valid_inputs();
  in.u = torch::ones({2, 3, 5}, torch::kLong);
  in.delta = torch::ones({2, 3, 5}, torch::kLong);
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("'u' has dtype Long"), std::string::npos) << msg;
}

TEST(SelectiveScanChecks, StateTooLarge) {
  auto in = valid_inputs();
  in.A = -torch::rand({3, 300});
  in.B = torch::randn({3, 300});
  in.C = torch::randn({3, 300});
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("N = 300"), std::string::npos) << msg;
}

TEST(SelectiveScanChecks, InitialStateShape) {
  auto in = valid_inputs();
  in.initial_state = torch::zeros({2, 3, 5});
  const std::string msg = error_of(in);
  EXPECT_NE(msg.find("'initial_state' has shape [2, 3, 5], expected (B, D, N) = [2, 3, 4]"),
            std::string::npos)
      << msg;
}

}  // namespace
