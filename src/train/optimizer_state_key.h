// The key of a parameter in torch::optim::Optimizer::state(): the parameter's TensorImpl, as a
// string in LibTorch 1.x and as a pointer in 2.x. Templated on the map so that only the branch of
// the installed version is compiled.
#pragma once

#include <ATen/core/Tensor.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace ssmkit::train {

template <typename StateMap>
typename StateMap::key_type optimizer_state_key(const StateMap& /*state*/, const at::Tensor& p) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << p.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace ssmkit::train
