// Shared test helpers: seeded random tensors and element-wise comparisons.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <electra/core/rng.hpp>
#include <electra/core/tensor.hpp>
#include <sstream>
#include <string>

namespace test {

using electra::index_t;
using electra::Shape;
using electra::Tensor;

// Uniform values in [lo, hi), a pure function of the seed.
template <class T = double>
Tensor<T> random_tensor(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Tensor<T> t(s);
  const std::uint64_t key = electra::mix64(seed);
  for (index_t i = 0; i < t.numel(); ++i)
    t.data()[i] = T(lo + (hi - lo) * electra::uniform_at<double>(key, std::uint64_t(i)));
  return t;
}

// Max |a − b| over all elements; shapes must agree.
template <class A, class B>
double max_abs_diff(const Tensor<A>& a, const Tensor<B>& b) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), "shapes differ: " << a.shape() << " vs " << b.shape());
  double m = 0;
  for (index_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(double(a.flat(i)) - double(b.flat(i))));
  return m;
}

// Checks that `fn()` throws E and that its message contains every fragment.
template <class E, class F>
void check_throws_with(F&& fn, std::initializer_list<const char*> fragments) {
  bool thrown = false;
  try {
    fn();
  } catch (const E& e) {
    thrown = true;
    const std::string what = e.what();
    for (const char* f : fragments) CHECK_MESSAGE(what.find(f) != std::string::npos, "message '" << what << "' lacks '" << std::string(f) << "'");
  }
  CHECK_MESSAGE(thrown, "expected an exception");
}

}  // namespace test
