// Differentiable shape operations. Forward results are views where possible (reshape of a
// contiguous input, permute, slice); backward routes the gradient to the matching elements.
//   reshape:     dx += reshape(dy, shape(x))
//   permute:     dx += permute⁻¹(dy)
//   slice:       dx[axis, start:start+len] += dy
//   concat:      dx_i += dy[axis, offset_i : offset_i + len_i]
//   gather_rows: y[m] = x[idx[m]];   dx[idx[m]] += dy[m]   (scatter-add)
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>

#include "../autograd/var.hpp"

namespace electra::ops {

namespace detail {
template <class T>
struct ReshapeNode : OpNode<T> {
  Var<T> x;
  const char* name() const override { return "reshape"; }
  void backward(const Tensor<T>& dy) override {
    if (x.requires_grad()) accumulate(x.impl()->grad_buffer(), dy.contiguous().reshape(x.shape()));
  }
};
template <class T>
struct PermuteNode : OpNode<T> {
  Var<T> x;
  std::array<int, kMaxRank> order{};
  const char* name() const override { return "permute"; }
  void backward(const Tensor<T>& dy) override {
    if (!x.requires_grad()) return;
    // View x's gradient through the same permutation and add dy elementwise.
    Tensor<T> g = x.impl()->grad_buffer();
    const int r = x.shape().rank();
    Tensor<T> view = g;
    switch (r) {  // permute takes an initializer_list; ranks are few
      case 1: view = g.permute({order[0]}); break;
      case 2: view = g.permute({order[0], order[1]}); break;
      case 3: view = g.permute({order[0], order[1], order[2]}); break;
      case 4: view = g.permute({order[0], order[1], order[2], order[3]}); break;
      case 5: view = g.permute({order[0], order[1], order[2], order[3], order[4]}); break;
      default: view = g.permute({order[0], order[1], order[2], order[3], order[4], order[5]}); break;
    }
    accumulate(view, dy);
  }
};
template <class T>
struct SliceNode : OpNode<T> {
  Var<T> x;
  int axis;
  index_t start, length;
  const char* name() const override { return "slice"; }
  void backward(const Tensor<T>& dy) override {
    if (x.requires_grad()) accumulate(x.impl()->grad_buffer().narrow(axis, start, length), dy);
  }
};
inline constexpr int kMaxConcatInputs = 8;
template <class T>
struct ConcatNode : OpNode<T> {
  std::array<Var<T>, kMaxConcatInputs> xs;
  int count = 0, axis = 0;
  const char* name() const override { return "concat"; }
  void backward(const Tensor<T>& dy) override {
    index_t off = 0;
    for (int i = 0; i < count; ++i) {
      const index_t len = xs[std::size_t(i)].shape()[axis];
      if (xs[std::size_t(i)].requires_grad())
        accumulate(xs[std::size_t(i)].impl()->grad_buffer(), dy.narrow(axis, off, len));
      off += len;
    }
  }
};
template <class T>
struct GatherRowsNode : OpNode<T> {
  Var<T> x;
  Tensor<std::int32_t> idx;
  const char* name() const override { return "gather_rows"; }
  void backward(const Tensor<T>& dy_in) override {
    if (!x.requires_grad()) return;
    const Tensor<T> dy = dy_in.contiguous();
    const index_t row = x.shape().numel() / std::max<index_t>(x.shape()[0], 1);
    T* g = x.impl()->grad_buffer().data();
    for (index_t m = 0; m < idx.numel(); ++m) {  // serial: indices may repeat
      T* dst = g + index_t(idx.flat(m)) * row;
      const T* src = dy.data() + m * row;
      for (index_t j = 0; j < row; ++j) dst[j] += src[j];
    }
  }
};
}  // namespace detail

template <class T>
Var<T> reshape(const Var<T>& x, const Shape& shape) {
  return record_op(
      x.value().contiguous().reshape(shape),
      [&] {
        auto* n = new detail::ReshapeNode<T>();
        n->x = x;
        return n;
      },
      x);
}

// y = x with axes reordered: y.shape[i] = x.shape[order[i]]. The result is a view.
template <class T>
Var<T> permute(const Var<T>& x, std::initializer_list<int> order) {
  Tensor<T> y = x.value().permute(order);
  return record_op(
      std::move(y),
      [&] {
        auto* n = new detail::PermuteNode<T>();
        n->x = x;
        int i = 0;
        for (int a : order) n->order[std::size_t(i++)] = x.shape().axis(a);
        return n;
      },
      x);
}

template <class T>
Var<T> transpose(const Var<T>& x) {
  ELECTRA_CHECK(x.shape().rank() == 2, shape_error, "transpose: expects a matrix, got ", x.shape().to_string());
  return permute(x, {1, 0});
}

// Elements [start, start + length) along axis; the result is a view.
template <class T>
Var<T> slice(const Var<T>& x, int axis, index_t start, index_t length) {
  const int ax = x.shape().axis(axis);
  return record_op(
      x.value().narrow(ax, start, length),
      [&] {
        auto* n = new detail::SliceNode<T>();
        n->x = x;
        n->axis = ax;
        n->start = start;
        n->length = length;
        return n;
      },
      x);
}

// Joins up to 8 tensors along axis; all other extents must agree.
template <class T>
Var<T> concat(std::initializer_list<Var<T>> xs, int axis) {
  ELECTRA_CHECK(xs.size() >= 1 && xs.size() <= std::size_t(detail::kMaxConcatInputs), shape_error,
                "concat: takes 1 to ", detail::kMaxConcatInputs, " inputs, got ", xs.size());
  const Shape& first = xs.begin()->shape();
  const int ax = first.axis(axis);
  Shape out = first;
  out[ax] = 0;
  bool needs_grad = false;
  for (const Var<T>& x : xs) {
    bool same = x.shape().rank() == first.rank();
    for (int i = 0; same && i < first.rank(); ++i) same = i == ax || x.shape()[i] == first[i];
    ELECTRA_CHECK(same, shape_error, "concat: shape ", x.shape().to_string(), " does not match ",
                  first.to_string(), " outside axis ", axis);
    out[ax] += x.shape()[ax];
    needs_grad = needs_grad || x.requires_grad();
  }
  Tensor<T> y(out);
  index_t off = 0;
  for (const Var<T>& x : xs) {
    assign(y.narrow(ax, off, x.shape()[ax]), x.value());
    off += x.shape()[ax];
  }
  return record_op_if(grad_enabled() && needs_grad, std::move(y), [&] {
    auto* n = new detail::ConcatNode<T>();
    for (const Var<T>& x : xs) n->xs[std::size_t(n->count++)] = x;
    n->axis = ax;
    return n;
  });
}

// y[m, ...] = x[idx[m], ...]
template <class T>
Var<T> gather_rows(const Var<T>& x, const Tensor<std::int32_t>& idx) {
  ELECTRA_CHECK(x.shape().rank() >= 1 && idx.shape().rank() == 1, shape_error, "gather_rows: x ",
                x.shape().to_string(), " and 1-D indices ", idx.shape().to_string(), " expected");
  const index_t N = x.shape()[0], M = idx.numel(), row = x.shape().numel() / std::max<index_t>(N, 1);
  Shape ys = x.shape();
  ys[0] = M;
  Tensor<T> y(ys);
  const Tensor<T> xv = x.value().contiguous();
  for (index_t m = 0; m < M; ++m) {
    const index_t i = idx.flat(m);
    ELECTRA_CHECK(i >= 0 && i < N, index_error, "gather_rows: index ", i, " at position ", m,
                  " is outside the ", N, " rows");
    std::copy(xv.data() + i * row, xv.data() + (i + 1) * row, y.data() + m * row);
  }
  return record_op(
      std::move(y),
      [&] {
        auto* n = new detail::GatherRowsNode<T>();
        n->x = x;
        n->idx = idx;
        return n;
      },
      x);
}

}  // namespace electra::ops
