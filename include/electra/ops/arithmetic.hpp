// Elementwise arithmetic with numpy broadcasting.
//   add: y = a + b    da += Σ↓ dy           db += Σ↓ dy
//   sub: y = a − b    da += Σ↓ dy           db += −Σ↓ dy
//   mul: y = a ⊙ b    da += Σ↓ dy⊙b         db += Σ↓ dy⊙a
//   div: y = a / b    da += Σ↓ dy/b         db += −Σ↓ dy⊙a/b²
//   scale: y = s·x    dx += s·dy
// Σ↓ sums a gradient down to the input's shape over the axes that were broadcast.
#pragma once
#include "../autograd/var.hpp"
#include "../backend/cpu/reduce.hpp"

namespace electra::ops {

namespace detail {
// v.grad += g summed down to v's shape.
template <class T, class E>
void accumulate_broadcast_grad(const Var<T>& v, E&& g) {
  if (!v.requires_grad()) return;
  const Tensor<T>& gv = v.impl()->grad_buffer();
  const auto node = expr::as_node<T>(std::forward<E>(g));
  if (node.shape() == gv.shape()) {
    accumulate(gv, node);
  } else {
    cpu::sum_to_accumulate(gv, eval(node));
  }
}

enum class Arith { add, sub, mul, div };

template <class T, Arith Kind>
struct ArithNode : OpNode<T> {
  Var<T> a, b;
  const char* name() const override { return "arithmetic"; }
  void backward(const Tensor<T>& dy) override {
    const Tensor<T>& av = a.value();
    const Tensor<T>& bv = b.value();
    if constexpr (Kind == Arith::add) {
      accumulate_broadcast_grad(a, dy);
      accumulate_broadcast_grad(b, dy);
    } else if constexpr (Kind == Arith::sub) {
      accumulate_broadcast_grad(a, dy);
      accumulate_broadcast_grad(b, -dy);
    } else if constexpr (Kind == Arith::mul) {
      accumulate_broadcast_grad(a, dy * bv);
      accumulate_broadcast_grad(b, dy * av);
    } else {
      accumulate_broadcast_grad(a, dy / bv);
      accumulate_broadcast_grad(b, -dy * av / (bv * bv));
    }
  }
};

template <Arith Kind, class T, class E>
Var<T> arith(const Var<T>& a, const Var<T>& b, E&& forward) {
  return record_op(
      eval(std::forward<E>(forward)),
      [&] {
        auto* n = new ArithNode<T, Kind>();
        n->a = a;
        n->b = b;
        return n;
      },
      a, b);
}
}  // namespace detail

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  return detail::arith<detail::Arith::add>(a, b, a.value() + b.value());
}
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  return detail::arith<detail::Arith::sub>(a, b, a.value() - b.value());
}
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  return detail::arith<detail::Arith::mul>(a, b, a.value() * b.value());
}
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  return detail::arith<detail::Arith::div>(a, b, a.value() / b.value());
}

template <class T>
struct ScaleNode : OpNode<T> {
  Var<T> x;
  T s;
  const char* name() const override { return "scale"; }
  void backward(const Tensor<T>& dy) override { accumulate_grad(x, dy * s); }
};

template <class T>
Var<T> scale(const Var<T>& x, T s) {
  return record_op(
      eval(x.value() * s),
      [&] {
        auto* n = new ScaleNode<T>();
        n->x = x;
        n->s = s;
        return n;
      },
      x);
}

}  // namespace electra::ops
