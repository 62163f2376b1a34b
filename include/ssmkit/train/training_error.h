// The error type for a training run that cannot continue: non-finite loss or gradients, out of
// memory. Programs catch it, print its message alone and exit non-zero; the last good checkpoint
// stays on disk.
#pragma once

#include <stdexcept>
#include <string>

namespace ssmkit::train {

class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ssmkit::train
