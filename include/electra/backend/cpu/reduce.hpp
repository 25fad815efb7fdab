// Reductions. A tensor reduced over `axis` is viewed as [outer, n, inner] (row-major);
// the result has shape [outer, inner] laid out as the input's shape without that axis.
// Axis reductions accumulate in T; whole-tensor reductions (sum_all...) in double.
#pragma once
#include <algorithm>
#include <limits>

#include "../../core/tensor.hpp"
#include "parallel.hpp"

namespace electra::cpu {

namespace detail {
inline Shape without_axis(const Shape& s, int axis) {
  Shape r;
  for (int i = 0; i < s.rank(); ++i)
    if (i != axis) r.push_back(s[i]);
  return r;
}
// out[o, i] = combine over k of x[o, k, i]
template <class T, class Init, class Combine>
Tensor<T> reduce_axis(const Tensor<T>& input, int axis_arg, Init init, Combine combine) {
  const Tensor<T> x = input.contiguous();
  const int axis = x.shape().axis(axis_arg);
  index_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.shape()[i];
  for (int i = axis + 1; i < x.rank(); ++i) inner *= x.shape()[i];
  const index_t n = x.shape()[axis];
  Tensor<T> out(without_axis(x.shape(), axis));
  const T* xp = x.data();
  T* op = out.data();
  parallel_rows(outer, n * inner, [&](index_t o) {
    T* dst = op + o * inner;
    std::fill(dst, dst + inner, init);
    for (index_t k = 0; k < n; ++k) {
      const T* src = xp + (o * n + k) * inner;
      for (index_t i = 0; i < inner; ++i) dst[i] = combine(dst[i], src[i]);
    }
  });
  return out;
}
}  // namespace detail

// x summed over `axis`; the axis is removed from the shape.
template <class T>
Tensor<T> sum(const Tensor<T>& x, int axis) {
  return detail::reduce_axis(x, axis, T(0), [](T a, T b) { return a + b; });
}
template <class T>
Tensor<T> mean(const Tensor<T>& x, int axis) {
  Tensor<T> s = sum(x, axis);
  const T inv = T(1) / T(x.shape()[x.shape().axis(axis)]);
  for (index_t i = 0; i < s.numel(); ++i) s.data()[i] *= inv;
  return s;
}
template <class T>
Tensor<T> max(const Tensor<T>& x, int axis) {
  return detail::reduce_axis(x, axis, -std::numeric_limits<T>::infinity(), [](T a, T b) { return b > a ? b : a; });
}

// Whole-tensor reductions, accumulated in double.
template <class T>
double sum_all(const Tensor<T>& x) {
  const Tensor<T> c = x.contiguous();
  double s = 0;
  for (index_t i = 0; i < c.numel(); ++i) s += double(c.data()[i]);
  return s;
}
template <class T>
double mean_all(const Tensor<T>& x) {
  return x.numel() ? sum_all(x) / double(x.numel()) : 0.0;
}
template <class T>
T max_all(const Tensor<T>& x) {
  const Tensor<T> c = x.contiguous();
  T m = -std::numeric_limits<T>::infinity();
  for (index_t i = 0; i < c.numel(); ++i) m = std::max(m, c.data()[i]);
  return m;
}

// dst += src summed down to dst's shape (the reverse of broadcasting dst to src's shape).
// Used by the backward of every broadcasting op.
template <class T>
void sum_to_accumulate(const Tensor<T>& dst, const Tensor<T>& src) {
  ELECTRA_CHECK(broadcast_shapes(dst.shape(), src.shape()) == src.shape(), shape_error, "cannot sum shape ",
                src.shape().to_string(), " down to shape ", dst.shape().to_string());
  const Strides st = broadcast_strides(dst.shape(), dst.strides(), src.shape());
  const Tensor<T> s = src.contiguous();
  const Shape& out = s.shape();
  T* d = dst.data();
  const T* sp = s.data();
  const index_t n = s.numel();
  const int r = out.rank();
  // Serial on purpose: several source elements land on one destination element.
  index_t coord[kMaxRank] = {};
  index_t off = 0;
  for (index_t i = 0; i < n; ++i) {
    d[off] += sp[i];
    for (int k = r - 1; k >= 0; --k) {  // odometer increment of coord, keeping off in step
      if (++coord[k] < out[k]) {
        off += st[std::size_t(k)];
        break;
      }
      off -= (coord[k] - 1) * st[std::size_t(k)];
      coord[k] = 0;
    }
  }
}

}  // namespace electra::cpu
