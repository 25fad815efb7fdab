// Softmax and log-softmax over the last axis, numerically stable (max subtracted),
// with their backward passes. Rows are independent and spread over threads.
//   softmax:      y = exp(x - max) / Σ exp(x - max)
//   backward:     dx += y ⊙ (dy − Σ dy⊙y)
//   log_softmax:  y = x − max − log Σ exp(x − max)
//   backward:     dx += dy − exp(y) Σ dy
#pragma once
#include <cmath>

#include "../../core/tensor.hpp"
#include "../../expr/simd.hpp"
#include "parallel.hpp"

namespace electra::cpu {

namespace detail {
// y[i] = exp(x[i] − shift) for i < n; returns Σ y. SIMD body + scalar tail.
template <class T>
T exp_shifted_sum(T* y, const T* x, T shift, index_t n) {
  index_t i = 0;
  T sum = 0;
#if defined(ELECTRA_HAS_XSIMD)
  if constexpr (expr::simd_enabled_v<T>) {
    using B = expr::batch_t<T>;
    constexpr index_t W = index_t(B::size);
    B acc(T(0));
    const B s(shift);
    for (; i + W <= n; i += W) {
      const B e = xsimd::exp(B::load_unaligned(x + i) - s);
      if (y) e.store_unaligned(y + i);
      acc += e;
    }
    sum = xsimd::hadd(acc);
  }
#endif
  for (; i < n; ++i) {
    const T e = std::exp(x[i] - shift);
    if (y) y[i] = e;
    sum += e;
  }
  return sum;
}
}  // namespace detail

// y, x: [rows, n] contiguous (y may alias x).
template <class T>
void softmax_forward(T* y, const T* x, index_t rows, index_t n) {
  parallel_rows(rows, n, [&](index_t r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T m = xr[0];
    for (index_t i = 1; i < n; ++i) m = xr[i] > m ? xr[i] : m;
    const T inv = T(1) / detail::exp_shifted_sum(yr, xr, m, n);
    for (index_t i = 0; i < n; ++i) yr[i] *= inv;
  });
}

template <class T>
void softmax_backward(T* dx, const T* y, const T* dy, index_t rows, index_t n) {
  parallel_rows(rows, n, [&](index_t r) {
    const T *yr = y + r * n, *dyr = dy + r * n;
    T* dxr = dx + r * n;
    T dot = 0;
    for (index_t i = 0; i < n; ++i) dot += dyr[i] * yr[i];
    for (index_t i = 0; i < n; ++i) dxr[i] += yr[i] * (dyr[i] - dot);
  });
}

template <class T>
void log_softmax_forward(T* y, const T* x, index_t rows, index_t n) {
  parallel_rows(rows, n, [&](index_t r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T m = xr[0];
    for (index_t i = 1; i < n; ++i) m = xr[i] > m ? xr[i] : m;
    const T lse = m + std::log(detail::exp_shifted_sum<T>(nullptr, xr, m, n));
    for (index_t i = 0; i < n; ++i) yr[i] = xr[i] - lse;
  });
}

template <class T>
void log_softmax_backward(T* dx, const T* y, const T* dy, index_t rows, index_t n) {
  parallel_rows(rows, n, [&](index_t r) {
    const T *yr = y + r * n, *dyr = dy + r * n;
    T* dxr = dx + r * n;
    T s = 0;
    for (index_t i = 0; i < n; ++i) s += dyr[i];
    for (index_t i = 0; i < n; ++i) dxr[i] += dyr[i] - std::exp(yr[i]) * s;
  });
}

}  // namespace electra::cpu
