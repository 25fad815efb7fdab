// GELU (exact erf form) on the GPU, as ops/gelu.hpp, written as maps over the CPU's functors:
//   forward:   y = (0.5·x) · (1 + erf(x·(1/√2)))
//   backward:  dx += dy · (0.5·(1 + erf(x·(1/√2))) + (x·exp((−0.5·x)·x))·(1/√(2π)))
// The operations are in the CPU expression's order, so the two differ only by the device's
// erff/expf against the CPU's (an ulp or two).
#pragma once
#include "../../expr/functors.hpp"
#include "elementwise.cuh"

namespace electra::cuda {

struct GeluForward {
  template <class T>
  ELECTRA_HD T operator()(T x) const {
    namespace fn = expr::fn;
    return fn::Mul{}(fn::Mul{}(T(0.5), x), fn::Add{}(T(1), fn::Erf{}(fn::Mul{}(x, T(0.70710678118654752440)))));
  }
};

// (dx, dy, x) -> dx + dy · gelu'(x)
struct GeluBackwardAccumulate {
  template <class T>
  ELECTRA_HD T operator()(T dx, T dy, T x) const {
    namespace fn = expr::fn;
    const T cdf = fn::Mul{}(T(0.5), fn::Add{}(T(1), fn::Erf{}(fn::Mul{}(x, T(0.70710678118654752440)))));
    const T pdf = fn::Mul{}(fn::Mul{}(x, fn::Exp{}(fn::Mul{}(fn::Mul{}(T(-0.5), x), x))), T(0.39894228040143267794));
    return fn::Add{}(dx, fn::Mul{}(dy, fn::Add{}(cdf, pdf)));
  }
};

// y, x: [n]; y may be x.
inline void gelu_forward(float* y, const float* x, index_t n, cudaStream_t stream = nullptr) {
  map_n(y, n, GeluForward{}, stream, x);
}
// dx += dy · gelu'(x); dx, dy, x: [n].
inline void gelu_backward(float* dx, const float* dy, const float* x, index_t n, cudaStream_t stream = nullptr) {
  map_n(dx, n, GeluBackwardAccumulate{}, stream, static_cast<const float*>(dx), dy, x);
}

}  // namespace electra::cuda
