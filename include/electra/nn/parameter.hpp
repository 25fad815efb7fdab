// Named parameters. Modules register their trainable Vars under HuggingFace's names
// ("electra.encoder.layer.3.attention.self.query.weight") in a stable order; optimizers,
// checkpoints and safetensors export all walk the same list.
#pragma once
#include <string>
#include <vector>

#include "../autograd/var.hpp"

namespace electra::nn {

template <class T>
struct NamedParameter {
  std::string name;
  Var<T> var;
};

template <class T>
using ParameterList = std::vector<NamedParameter<T>>;

// A trainable leaf initialised from `value`.
template <class T>
Var<T> make_parameter(Tensor<T> value) {
  return Var<T>::parameter(std::move(value));
}

// Total number of scalars in a parameter list.
template <class T>
index_t count_parameters(const ParameterList<T>& params) {
  index_t n = 0;
  for (const auto& p : params) n += p.var.shape().numel();
  return n;
}

}  // namespace electra::nn
