// Layer normalisation over the last axis (BERT/ELECTRA: eps 1e-12, biased variance).
//   forward:  mean = Σx/n, rstd = 1/sqrt(Σ(x-mean)²/n + eps), xhat = (x-mean)·rstd,
//             y = γ ⊙ xhat + β                       x, y: [rows, n]; γ, β: [n]
//   backward: dβ += Σ_rows dy, dγ += Σ_rows dy⊙xhat,
//             dx += rstd · (g − mean(g) − xhat · mean(g⊙xhat)),  g = dy⊙γ
#pragma once
#include <algorithm>
#include <cmath>

#include "../../core/tensor.hpp"
#include "parallel.hpp"

namespace electra::cpu {

// mean, rstd: [rows], saved for the backward pass.
template <class T>
void layer_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* gamma, const T* beta, index_t rows, index_t n,
                        double eps) {
  parallel_rows(rows, n, [&](index_t r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    double m = 0;
    for (index_t i = 0; i < n; ++i) m += xr[i];
    m /= double(n);
    double v = 0;
    for (index_t i = 0; i < n; ++i) v += (double(xr[i]) - m) * (double(xr[i]) - m);
    v /= double(n);
    const T rs = T(1.0 / std::sqrt(v + eps)), mu = T(m);
    for (index_t i = 0; i < n; ++i) yr[i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
    mean[r] = mu;
    rstd[r] = rs;
  });
}

// dx (if non-null), dgamma, dbeta (if non-null) are accumulated into.
template <class T>
void layer_norm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean, const T* rstd,
                         const T* gamma, index_t rows, index_t n) {
  if (dx) {
    parallel_rows(rows, n, [&](index_t r) {
      const T *xr = x + r * n, *dyr = dy + r * n;
      T* dxr = dx + r * n;
      const T mu = mean[r], rs = rstd[r];
      T g_mean = 0, gx_mean = 0;
      for (index_t i = 0; i < n; ++i) {
        const T g = dyr[i] * gamma[i];
        g_mean += g;
        gx_mean += g * (xr[i] - mu) * rs;
      }
      g_mean /= T(n);
      gx_mean /= T(n);
      for (index_t i = 0; i < n; ++i) {
        const T xhat = (xr[i] - mu) * rs;
        dxr[i] += rs * (dyr[i] * gamma[i] - g_mean - xhat * gx_mean);
      }
    });
  }
  // Parameter gradients: a column reduction. Blocks of 64 columns go to threads; each column
  // is summed in row order, so the result does not depend on the thread count.
  if (!dgamma && !dbeta) return;
  constexpr index_t kCols = 64;
  parallel_rows((n + kCols - 1) / kCols, rows * kCols, [&](index_t block) {
    const index_t i0 = block * kCols, i1 = std::min(n, i0 + kCols);
    for (index_t r = 0; r < rows; ++r) {
      const T *xr = x + r * n, *dyr = dy + r * n;
      const T mu = mean[r], rs = rstd[r];
      if (dgamma)
        for (index_t i = i0; i < i1; ++i) dgamma[i] += dyr[i] * (xr[i] - mu) * rs;
      if (dbeta)
        for (index_t i = i0; i < i1; ++i) dbeta[i] += dyr[i];
    }
  });
}

}  // namespace electra::cpu
