// GoogleTest main for ssmkit's suites: uses every core, as the programs do.
#include <gtest/gtest.h>

#include "ssmkit/util/threads.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ssmkit::init_threads();
  return RUN_ALL_TESTS();
}
