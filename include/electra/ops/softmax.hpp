// softmax and log_softmax over the last axis (kernels and backward formulas in
// backend/cpu/softmax.hpp).
#pragma once
#include "../autograd/var.hpp"
#include "../backend/cpu/softmax.hpp"

namespace electra::ops {

namespace detail {
template <class T, bool Log>
struct SoftmaxNode : OpNode<T> {
  Var<T> x;
  Tensor<T> y;
  const char* name() const override { return Log ? "log_softmax" : "softmax"; }
  void backward(const Tensor<T>& dy_in) override {
    if (!x.requires_grad()) return;
    const Tensor<T> dy = dy_in.contiguous();
    const index_t n = y.shape().back(), rows = y.numel() / std::max<index_t>(n, 1);
    T* dx = x.impl()->grad_buffer().data();
    if constexpr (Log)
      cpu::log_softmax_backward(dx, y.data(), dy.data(), rows, n);
    else
      cpu::softmax_backward(dx, y.data(), dy.data(), rows, n);
  }
};

template <bool Log, class T>
Var<T> softmax_impl(const Var<T>& x) {
  ELECTRA_CHECK(x.shape().rank() >= 1 && x.shape().back() > 0, shape_error,
                Log ? "log_softmax" : "softmax", ": needs a non-empty last axis, got ", x.shape().to_string());
  const Tensor<T> xv = x.value().contiguous();
  Tensor<T> y(x.shape());
  const index_t n = y.shape().back(), rows = y.numel() / n;
  if constexpr (Log)
    cpu::log_softmax_forward(y.data(), xv.data(), rows, n);
  else
    cpu::softmax_forward(y.data(), xv.data(), rows, n);
  return record_op(
      y,
      [&] {
        auto* node = new SoftmaxNode<T, Log>();
        node->x = x;
        node->y = y;
        return node;
      },
      x);
}
}  // namespace detail

template <class T>
Var<T> softmax(const Var<T>& x) {
  return detail::softmax_impl<false>(x);
}
template <class T>
Var<T> log_softmax(const Var<T>& x) {
  return detail::softmax_impl<true>(x);
}

}  // namespace electra::ops
