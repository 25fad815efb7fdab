// The building blocks with parameters: Linear and LayerNorm. Each registers its parameters
// under `prefix` + HuggingFace's suffixes (".weight", ".bias").
#pragma once
#include <string>

#include "../ops/layer_norm.hpp"
#include "../ops/linear.hpp"
#include "init.hpp"
#include "parameter.hpp"

namespace electra::nn {

enum class Init { truncated_normal, glorot_uniform };

template <class T>
struct Linear {
  Var<T> weight;  // [out, in]
  Var<T> bias;    // [out]

  Linear() = default;
  Linear(index_t in, index_t out, Rng& rng, Init init = Init::truncated_normal)
      : weight(make_parameter(init == Init::truncated_normal ? truncated_normal<T>({out, in}, rng)
                                                             : glorot_uniform<T>(out, in, rng))),
        bias(make_parameter(Tensor<T>::zeros({out}))) {}

  // x[..., in] -> [..., out]
  Var<T> operator()(const Var<T>& x) const { return ops::linear(x, weight, bias); }

  void collect(const std::string& prefix, ParameterList<T>& out) const {
    out.push_back({prefix + ".weight", weight});
    out.push_back({prefix + ".bias", bias});
  }
};

template <class T>
struct LayerNorm {
  Var<T> weight;  // γ [n]
  Var<T> bias;    // β [n]
  double eps = ops::kLayerNormEps;

  LayerNorm() = default;
  LayerNorm(index_t n, double epsilon)
      : weight(make_parameter(Tensor<T>::ones({n}))), bias(make_parameter(Tensor<T>::zeros({n}))), eps(epsilon) {}

  Var<T> operator()(const Var<T>& x) const { return ops::layer_norm(x, weight, bias, eps); }

  void collect(const std::string& prefix, ParameterList<T>& out) const {
    out.push_back({prefix + ".weight", weight});
    out.push_back({prefix + ".bias", bias});
  }
};

}  // namespace electra::nn
