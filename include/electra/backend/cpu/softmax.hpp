// Softmax and log-softmax over the last axis, numerically stable (max subtracted),
// with their backward passes. Rows are independent and spread over threads.
//   softmax:      y = exp(x - max) / Σ exp(x - max)
//   backward:     dx += y ⊙ (dy − Σ dy⊙y)
//   log_softmax:  y = x − max − log Σ exp(x − max)
//   backward:     dx += dy − exp(y) Σ dy
#pragma once
#include <cmath>

#include "../../core/tensor.hpp"
#include "parallel.hpp"

namespace electra::cpu {

// y, x: [rows, n] contiguous (y may alias x).
template <class T>
void softmax_forward(T* y, const T* x, index_t rows, index_t n) {
  parallel_rows(rows, n, [&](index_t r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T m = xr[0];
    for (index_t i = 1; i < n; ++i) m = xr[i] > m ? xr[i] : m;
    T s = 0;
    for (index_t i = 0; i < n; ++i) s += (yr[i] = std::exp(xr[i] - m));
    const T inv = T(1) / s;
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
    T s = 0;
    for (index_t i = 0; i < n; ++i) s += std::exp(xr[i] - m);
    const T lse = m + std::log(s);
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
