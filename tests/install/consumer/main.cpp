// Runs one selective scan through the installed ssmkit and prints the output shape.
#include <ATen/ATen.h>

#include <iostream>

#include "ssmkit/ops/selective_scan.h"

int main() {
  ssmkit::ops::SelectiveScanInputs in;
  in.u = at::randn({1, 4, 8});
  in.delta = at::rand({1, 4, 8});
  in.A = -at::rand({4, 2});
  in.B = at::randn({1, 2, 8});
  in.C = at::randn({1, 2, 8});
  const auto out = ssmkit::ops::selective_scan(in);
  std::cout << "y " << out.y.sizes() << std::endl;
  return out.y.sizes() == at::IntArrayRef({1, 4, 8}) ? 0 : 1;
}
