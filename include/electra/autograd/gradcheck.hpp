// Gradient checks in double precision, for tests of every differentiable op (and of
// users' own ops). `f` maps input Vars to an output Var of any shape; the check reduces
// the output with fixed random weights R (L = Σ R ⊙ f(x)), so every output element's
// gradient is exercised, and compares backward's dL/dx with central differences
//   (L(x + εe_j) − L(x − εe_j)) / 2ε   for every element j of every input.
// check_accumulates() proves that backward adds into existing gradients: it pre-fills
// every input's gradient with garbage G and expects G + dL/dx afterwards.
#pragma once
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "../core/rng.hpp"
#include "var.hpp"

namespace electra {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-7;  // |numeric − analytic| ≤ atol + rtol·|numeric|
  double rtol = 1e-5;
  std::uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // the first mismatches, or empty
};

namespace detail {
inline Tensor<double> random_like(const Shape& s, std::uint64_t seed) {
  Tensor<double> t(s);
  const std::uint64_t key = mix64(seed);
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = 2.0 * uniform_at<double>(key, std::uint64_t(i)) - 1.0;
  return t;
}
inline std::vector<Var<double>> make_inputs(const std::vector<Tensor<double>>& xs) {
  std::vector<Var<double>> vars;
  for (const auto& x : xs) vars.emplace_back(x.clone(), true);
  return vars;
}
// L = Σ R ⊙ y, evaluated without recording.
template <class F>
double projected(F& f, const std::vector<Var<double>>& vars, const Tensor<double>& R) {
  NoGradGuard guard;
  const Var<double> y = f(vars);
  double s = 0;
  for (index_t i = 0; i < R.numel(); ++i) s += R.data()[i] * y.value().flat(i);
  return s;
}
}  // namespace detail

template <class F>
GradcheckResult gradcheck(F&& f, const std::vector<Tensor<double>>& inputs, const GradcheckOptions& o = {}) {
  GradcheckResult res;
  std::vector<Var<double>> vars = detail::make_inputs(inputs);
  const Var<double> y = f(vars);
  const Tensor<double> R = detail::random_like(y.shape(), o.seed);
  y.backward(R);
  std::ostringstream msg;
  int reported = 0;
  for (std::size_t i = 0; i < vars.size(); ++i) {
    const Tensor<double>& x = vars[i].value();
    for (index_t j = 0; j < x.numel(); ++j) {
      double& xj = x.flat(j);
      const double saved = xj;
      xj = saved + o.eps;
      const double lp = detail::projected(f, vars, R);
      xj = saved - o.eps;
      const double lm = detail::projected(f, vars, R);
      xj = saved;
      const double numeric = (lp - lm) / (2 * o.eps);
      const double analytic = vars[i].has_grad() ? vars[i].grad().flat(j) : 0.0;
      const double err = std::abs(numeric - analytic);
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (err > o.atol + o.rtol * std::abs(numeric)) {
        res.ok = false;
        if (reported++ < 5)
          msg << "input " << i << " element " << j << ": numeric " << numeric << ", analytic " << analytic << "\n";
      }
    }
  }
  res.message = msg.str();
  return res;
}

template <class F>
GradcheckResult check_accumulates(F&& f, const std::vector<Tensor<double>>& inputs, std::uint64_t seed = 99) {
  GradcheckResult res;
  // Reference gradients from clean inputs.
  std::vector<Var<double>> clean = detail::make_inputs(inputs);
  Var<double> y = f(clean);
  const Tensor<double> R = detail::random_like(y.shape(), seed);
  y.backward(R);
  // The same, with garbage already in every gradient.
  std::vector<Var<double>> dirty = detail::make_inputs(inputs);
  std::vector<Tensor<double>> garbage;
  for (std::size_t i = 0; i < dirty.size(); ++i) {
    garbage.push_back(detail::random_like(dirty[i].shape(), seed + 1 + i));
    dirty[i].impl()->grad = garbage.back().clone();
  }
  f(dirty).backward(R);
  std::ostringstream msg;
  for (std::size_t i = 0; i < dirty.size(); ++i) {
    for (index_t j = 0; j < garbage[i].numel(); ++j) {
      const double expect = garbage[i].flat(j) + (clean[i].has_grad() ? clean[i].grad().flat(j) : 0.0);
      const double err = std::abs(dirty[i].grad().flat(j) - expect);
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (err > 1e-12 * (1 + std::abs(expect))) {
        if (res.ok) msg << "input " << i << " element " << j << ": got " << dirty[i].grad().flat(j) << ", want "
                        << expect << "\n";
        res.ok = false;
      }
    }
  }
  res.message = msg.str();
  return res;
}

}  // namespace electra
