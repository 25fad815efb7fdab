// Parameter initialisers of the official implementation (modeling.py):
// truncated normal with σ = 0.02 (values beyond 2σ redrawn, as tf.truncated_normal) for
// embeddings and most dense layers; TensorFlow's default Glorot-uniform where the official
// code passes no initializer (embeddings_project, the discriminator's dense_prediction).
#pragma once
#include <cmath>

#include "../core/rng.hpp"
#include "../core/tensor.hpp"

namespace electra::nn {

inline constexpr double kInitializerRange = 0.02;

template <class T>
Tensor<T> truncated_normal(const Shape& shape, Rng& rng, double stddev = kInitializerRange) {
  Tensor<T> t(shape);
  for (index_t i = 0; i < t.numel(); ++i) {
    double z;
    do z = rng.normal();
    while (std::abs(z) > 2.0);
    t.data()[i] = T(z * stddev);
  }
  return t;
}

// U(−a, a), a = sqrt(6 / (fan_in + fan_out)); weights are [out, in].
template <class T>
Tensor<T> glorot_uniform(index_t out, index_t in, Rng& rng) {
  Tensor<T> t({out, in});
  const double a = std::sqrt(6.0 / double(out + in));
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = T((2.0 * rng.uniform() - 1.0) * a);
  return t;
}

}  // namespace electra::nn
