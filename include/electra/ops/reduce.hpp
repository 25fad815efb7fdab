// Reductions to a scalar (shape []):
//   sum:  y = Σ x      dx += dy
//   mean: y = Σ x / n  dx += dy / n
#pragma once
#include "../autograd/var.hpp"
#include "../backend/cpu/reduce.hpp"

namespace electra::ops {

namespace detail {
template <class T>
struct SumNode : OpNode<T> {
  Var<T> x;
  T scale;
  const char* name() const override { return "sum"; }
  void backward(const Tensor<T>& dy) override { accumulate_grad(x, dy.flat(0) * scale); }
};
template <class T>
Var<T> sum_scaled(const Var<T>& x, T scale) {
  return record_op(
      Tensor<T>::full(Shape{}, T(cpu::sum_all(x.value()) * double(scale))),
      [&] {
        auto* n = new SumNode<T>();
        n->x = x;
        n->scale = scale;
        return n;
      },
      x);
}
}  // namespace detail

template <class T>
Var<T> sum(const Var<T>& x) {
  return detail::sum_scaled(x, T(1));
}
template <class T>
Var<T> mean(const Var<T>& x) {
  ELECTRA_CHECK(x.shape().numel() > 0, shape_error, "mean of an empty tensor ", x.shape().to_string());
  return detail::sum_scaled(x, T(1) / T(x.shape().numel()));
}

}  // namespace electra::ops
