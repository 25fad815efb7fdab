// tanh:  y = tanh(x),  dx += dy · (1 − y²)
#pragma once
#include "../autograd/var.hpp"

namespace electra::ops {

namespace detail {
template <class T>
struct TanhNode : OpNode<T> {
  Var<T> x;
  Tensor<T> y;
  const char* name() const override { return "tanh"; }
  void backward(const Tensor<T>& dy) override { accumulate_grad(x, dy * (T(1) - y * y)); }
};
}  // namespace detail

template <class T>
Var<T> tanh(const Var<T>& x) {
  Tensor<T> y = eval(electra::tanh(x.value()));
  return record_op(
      y,
      [&] {
        auto* n = new detail::TanhNode<T>();
        n->x = x;
        n->y = y;
        return n;
      },
      x);
}

}  // namespace electra::ops
