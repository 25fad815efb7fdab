// Global-norm gradient clipping, as tf.clip_by_global_norm(grads, clip_norm = 1.0) in ELECTRA's
// create_optimizer: ONE norm over every parameter that has a gradient (generator and
// discriminator together), g ← g · clip / max(norm, clip). Parameters without a gradient are
// skipped, as TF skips None gradients.
//
// Unlike TF (which silently turns every gradient into NaN), a non-finite norm is an error that
// names the first offending parameter: training must never continue on NaN.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "../backend/cpu/parallel.hpp"
#include "../core/error.hpp"
#include "../nn/parameter.hpp"

namespace electra::optim {

namespace detail {
// Elements per parallel chunk. Partial sums are kept per chunk and added in chunk order, so
// the norm does not depend on the thread count.
inline constexpr index_t kOptimChunk = 8192;

template <class T>
const Tensor<T>& checked_grad(const nn::NamedParameter<T>& p) {
  const Tensor<T>& g = p.var.grad();
  ELECTRA_CHECK(g.is_contiguous() && g.shape() == p.var.shape(), shape_error, "parameter '", p.name,
                "': gradient of shape ", g.shape().to_string(), " must be contiguous and match the value's shape ",
                p.var.shape().to_string());
  return g;
}

// Σ g² over one gradient, accumulated in double.
template <class T>
double sum_of_squares(const Tensor<T>& g) {
  const T* d = g.data();
  const index_t n = g.numel();
  const index_t chunks = (n + kOptimChunk - 1) / kOptimChunk;
  // Grows once; a step then allocates nothing here. Worker threads write through `out`: a
  // lambda does not capture a thread_local, it would name the worker's own (empty) vector.
  thread_local std::vector<double> partial;
  partial.assign(static_cast<std::size_t>(chunks), 0.0);
  double* const out = partial.data();
  cpu::parallel_rows(chunks, kOptimChunk, [&](index_t c) {
    const index_t end = std::min(n, (c + 1) * kOptimChunk);
    double s = 0;
    for (index_t i = c * kOptimChunk; i < end; ++i) s += double(d[i]) * double(d[i]);
    out[c] = s;
  });
  double total = 0;
  for (std::size_t c = 0; c < std::size_t(chunks); ++c) total += partial[c];
  return total;
}

template <class T>
bool all_finite(const Tensor<T>& g) {
  const T* d = g.data();
  for (index_t i = 0; i < g.numel(); ++i)
    if (!std::isfinite(double(d[i]))) return false;
  return true;
}
}  // namespace detail

// sqrt(Σ_params Σ g²) over the parameters that have a gradient; may be NaN or inf.
template <class T>
double global_grad_norm(const nn::ParameterList<T>& params) {
  double total = 0;
  for (const auto& p : params)
    if (p.var.defined() && p.var.has_grad()) total += detail::sum_of_squares(detail::checked_grad(p));
  return std::sqrt(total);
}

// Index of the first parameter whose gradient holds a NaN or inf, or -1.
template <class T>
std::ptrdiff_t first_nonfinite_grad(const nn::ParameterList<T>& params) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& v = params[i].var;
    if (v.defined() && v.has_grad() && !detail::all_finite(v.grad())) return std::ptrdiff_t(i);
  }
  return -1;
}

// Scales every gradient by max_norm / norm when norm > max_norm; returns the pre-clip norm.
// When norm <= max_norm the gradients are left bit-for-bit as they are (TF multiplies by
// clip · (1/clip), which is exactly 1 for the official clip of 1.0).
template <class T>
double clip_grad_global_norm(const nn::ParameterList<T>& params, double max_norm) {
  ELECTRA_CHECK(std::isfinite(max_norm) && max_norm > 0, value_error,
                "clip_grad_global_norm: max_norm must be a finite value > 0, got ", max_norm);
  const double norm = global_grad_norm(params);
  if (!std::isfinite(norm)) {
    const std::ptrdiff_t bad = first_nonfinite_grad(params);
    if (bad >= 0)
      throw value_error(::electra::detail::concat("the gradient is not finite (global norm ", norm, "): parameter '",
                                                  params[std::size_t(bad)].name, "' has a NaN or inf gradient"));
    throw value_error(::electra::detail::concat("the gradient is not finite: the global norm overflowed to ", norm,
                                                " although every gradient element is finite"));
  }
  if (norm <= max_norm) return norm;
  const T scale = T(max_norm / norm);
  for (const auto& p : params) {
    if (!p.var.defined() || !p.var.has_grad()) continue;
    T* d = p.var.grad().data();
    const index_t n = p.var.grad().numel();
    const index_t chunks = (n + detail::kOptimChunk - 1) / detail::kOptimChunk;
    cpu::parallel_rows(chunks, detail::kOptimChunk, [&](index_t c) {
      const index_t end = std::min(n, (c + 1) * detail::kOptimChunk);
      for (index_t i = c * detail::kOptimChunk; i < end; ++i) d[i] *= scale;
    });
  }
  return norm;
}

}  // namespace electra::optim
