// Shared test helpers: seeded random tensors and element-wise comparisons.
#pragma once
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <electra/autograd/grad_mode.hpp>
#include <electra/core/rng.hpp>
#include <electra/core/tensor.hpp>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

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
  for (index_t i = 0; i < a.numel(); ++i) {
    const double d = std::abs(double(a.flat(i)) - double(b.flat(i)));
    if (!(d <= m)) m = d;  // a NaN sticks (std::max would drop it) and fails every `< tol`
  }
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
    for (const char* f : fragments)
      CHECK_MESSAGE(what.find(f) != std::string::npos, "message '" << what << "' lacks '" << std::string(f) << "'");
  }
  CHECK_MESSAGE(thrown, "expected an exception");
}

// A fresh directory under the system temp directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<unsigned> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = std::filesystem::temp_directory_path() / ("electra_test_" + std::to_string(::getpid()) + "_" +
                                                     std::to_string(stamp) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  // File names in the directory, sorted.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

// A model-level gradient check in double: after loss().backward(), compares every parameter's
// gradient with central differences at `per_tensor` elements. `loss` must be a pure function
// of the parameters (fix dropout with a fresh Rng inside it). In word-embedding tables the
// elements are taken from rows of `ids` other than the padding row 0, which gets no gradient
// by design (HF padding_idx) although the forward pass reads it.
template <class Params, class Loss>
void check_parameter_gradients(const Params& params, Loss&& loss, const Tensor<std::int32_t>& ids, int per_tensor = 3,
                               std::uint64_t seed = 9) {
  loss().backward();
  std::vector<std::int32_t> rows;
  for (index_t i = 0; i < ids.numel(); ++i)
    if (ids.flat(i) != 0) rows.push_back(ids.flat(i));
  REQUIRE(!rows.empty());
  electra::Rng pick(seed);
  const double eps = 1e-6;
  int checked = 0;
  for (const auto& p : params) {
    REQUIRE_MESSAGE(p.var.has_grad(), p.name << " received no gradient");
    const Tensor<double>& v = p.var.value();
    const bool table = p.name.find("word_embeddings") != std::string::npos;
    for (int k = 0; k < per_tensor; ++k) {
      index_t j = index_t(pick.below(std::uint64_t(v.numel())));
      if (table) j = index_t(rows[pick.below(rows.size())]) * v.shape()[1] + index_t(k) % v.shape()[1];
      double& x = v.flat(j);
      const double saved = x;
      electra::NoGradGuard no_grad;
      x = saved + eps;
      const double up = loss().item();
      x = saved - eps;
      const double down = loss().item();
      x = saved;
      const double numeric = (up - down) / (2 * eps), analytic = p.var.grad().flat(j);
      CHECK_MESSAGE(std::abs(numeric - analytic) <= 1e-6 + 1e-5 * std::abs(numeric),
                    p.name << "[" << j << "]: numeric " << numeric << ", analytic " << analytic);
      ++checked;
    }
  }
  CHECK(checked == per_tensor * int(params.size()));
}

}  // namespace test
