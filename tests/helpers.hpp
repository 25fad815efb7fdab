// Shared test helpers: seeded random tensors and element-wise comparisons.
#pragma once
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <electra/core/rng.hpp>
#include <filesystem>
#include <electra/core/tensor.hpp>
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

}  // namespace test
