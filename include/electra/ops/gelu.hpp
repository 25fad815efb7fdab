// GELU, exact erf form (BERT/ELECTRA; not the tanh approximation):
//   y = x · Φ(x) = 0.5 · x · (1 + erf(x/√2))
//   dx += dy · (Φ(x) + x · φ(x)),   φ(x) = exp(−x²/2)/√(2π)
#pragma once
#include "../autograd/var.hpp"

namespace electra::ops {

namespace detail {
template <class T>
struct GeluNode : OpNode<T> {
  Var<T> x;
  const char* name() const override { return "gelu"; }
  void backward(const Tensor<T>& dy) override {
    const Tensor<T>& xv = x.value();
    constexpr T inv_sqrt2 = T(0.70710678118654752440), inv_sqrt_2pi = T(0.39894228040143267794);
    accumulate_grad(x, dy * (T(0.5) * (T(1) + erf(xv * inv_sqrt2)) + xv * exp(T(-0.5) * xv * xv) * inv_sqrt_2pi));
  }
};
}  // namespace detail

template <class T>
Var<T> gelu(const Var<T>& x) {
  constexpr T inv_sqrt2 = T(0.70710678118654752440);
  const Tensor<T>& xv = x.value();
  return record_op(
      eval(T(0.5) * xv * (T(1) + erf(xv * inv_sqrt2))),
      [&] {
        auto* n = new detail::GeluNode<T>();
        n->x = x;
        return n;
      },
      x);
}

}  // namespace electra::ops
