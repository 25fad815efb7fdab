// Expression templates: values, broadcasting, the SIMD and parallel paths of the one
// assign loop, and the closure rules (lvalues by reference, rvalues by value).
#include <electra/expr/assign.hpp>

#include "helpers.hpp"

using namespace electra;

TEST_CASE_TEMPLATE("unary math matches the C library in the SIMD body and the scalar tail", T, float, double) {
  const index_t n = 3 * expr::simd_width<T> + 5;  // full batches and a tail
  const auto x = test::random_tensor<T>({n}, 7, 0.1, 3.0);
  const double tol = std::is_same_v<T, float> ? 2e-6 : 1e-14;
  auto check = [&](auto&& e, auto ref) {
    const Tensor<T> y = eval(e);
    for (index_t i = 0; i < n; ++i) {
      const double want = ref(double(x.flat(i)));
      CHECK(std::abs(double(y.flat(i)) - want) <= tol * (1 + std::abs(want)));
    }
  };
  check(exp(x), [](double v) { return std::exp(v); });
  check(log(x), [](double v) { return std::log(v); });
  check(sqrt(x), [](double v) { return std::sqrt(v); });
  check(rsqrt(x), [](double v) { return 1 / std::sqrt(v); });
  check(tanh(x), [](double v) { return std::tanh(v); });
  check(erf(x), [](double v) { return std::erf(v); });
  check(-x, [](double v) { return -v; });
  check(abs(-x), [](double v) { return v; });
  check(square(x), [](double v) { return v * v; });
  check(reciprocal(x), [](double v) { return 1 / v; });
  check(pow(x, T(1.5)), [](double v) { return std::pow(v, 1.5); });
  check(maximum(x, T(1)), [](double v) { return std::max(v, 1.0); });
  check(minimum(x, T(1)), [](double v) { return std::min(v, 1.0); });
  check(x * T(2) - x / T(4) + T(1), [](double v) { return 2 * v - v / 4 + 1; });
}

TEST_CASE("comparisons give 1 or 0 and where() selects") {
  const auto a = Tensor<float>::from({5}, {1, 2, 3, 4, 5});
  CHECK(eval(gt(a, 3.0f)).to_vector() == std::vector<float>{0, 0, 0, 1, 1});
  CHECK(eval(le(a, 2.0f)).to_vector() == std::vector<float>{1, 1, 0, 0, 0});
  CHECK(eval(eq(a, 3.0f)).to_vector() == std::vector<float>{0, 0, 1, 0, 0});
  CHECK(eval(ne(a, 3.0f)).to_vector() == std::vector<float>{1, 1, 0, 1, 1});
  CHECK(eval(lt(a, 2.0f)).to_vector() == std::vector<float>{1, 0, 0, 0, 0});
  CHECK(eval(ge(a, 5.0f)).to_vector() == std::vector<float>{0, 0, 0, 0, 1});
  CHECK(eval(where(gt(a, 3.0f), a, -a)).to_vector() == std::vector<float>{-1, -2, -3, 4, 5});
}

TEST_CASE("operands broadcast by rows, columns, numpy rules and scalars") {
  const auto m = Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto row = Tensor<double>::from({3}, {10, 20, 30});
  const auto col = Tensor<double>::from({2, 1}, {100, 200});
  CHECK(eval(m + row).to_vector() == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK(eval(m + col).to_vector() == std::vector<double>{101, 102, 103, 204, 205, 206});
  CHECK(eval(row + col).shape() == Shape{2, 3});  // both sides broadcast
  CHECK(eval(2.0 * m).to_vector() == std::vector<double>{2, 4, 6, 8, 10, 12});
  const auto three = Tensor<double>::from({2, 1, 2}, {1, 2, 3, 4});
  const auto y = eval(three * Tensor<double>::from({3, 1}, {1, 10, 100}));
  CHECK(y.shape() == Shape{2, 3, 2});
  CHECK(y.at(1, 2, 1) == 400);
  test::check_throws_with<shape_error>([&] { (void)eval(m + Tensor<double>::zeros({2})); }, {"[2,3]", "[2]"});
}

TEST_CASE_TEMPLATE("the assign loop takes the SIMD path for float and double", T, float, double) {
  const index_t W = expr::simd_width<T>;
  REQUIRE(W > 1);
  const index_t n = 5 * W + 3;
  Tensor<T> y({n});
  const auto x = Tensor<T>::ones({n});
  const AssignReport r = assign(y, exp(x) * T(2) + x);
  CHECK(r.simd_elements == 5 * W);
  CHECK(r.scalar_elements == 3);
  // Broadcast rows still vectorise along the innermost axis.
  Tensor<T> m({4, 2 * W});
  const AssignReport rb = assign(m, Tensor<T>::ones({2 * W}) + Tensor<T>::ones({4, 1}));
  CHECK(rb.simd_elements == 8 * W);
}

TEST_CASE("element types without SIMD, and strided outputs, use the scalar path") {
  const auto a = Tensor<std::int32_t>::from({4}, {1, 2, 3, 4});
  Tensor<std::int32_t> b({4});
  const AssignReport r = assign(b, a * 3 + 1);
  CHECK(r.simd_elements == 0);
  CHECK(b.to_vector() == std::vector<std::int32_t>{4, 7, 10, 13});
  auto m = Tensor<float>::zeros({3, 2});
  assign(m.transpose(), Tensor<float>::from({2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(m.to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("the parallel assign gives the same result as one thread") {
  const index_t n = 4 * kParallelThreshold + 17;
  const auto x = test::random_tensor<float>({n / 17, 17}, 3);
  const int saved = num_threads();
  set_num_threads(1);
  const auto one = eval(tanh(x) * x + 1.0f);
  set_num_threads(2);
  Tensor<float> two(x.shape());
  const AssignReport r = assign(two, tanh(x) * x + 1.0f);
  set_num_threads(saved);
  CHECK(r.simd_elements + r.scalar_elements == x.numel());
  CHECK(test::max_abs_diff(one, two) == 0.0);
}

TEST_CASE("accumulate adds into the destination") {
  auto y = Tensor<double>::from({3}, {1, 1, 1});
  accumulate(y, Tensor<double>::from({3}, {1, 2, 3}) * 2.0);
  CHECK(y.to_vector() == std::vector<double>{3, 5, 7});
  accumulate(y, 0.5);
  CHECK(y.to_vector() == std::vector<double>{3.5, 5.5, 7.5});
}

TEST_CASE("closures: a named tensor is read at evaluation, a temporary is kept alive") {
  auto a = Tensor<double>::from({2}, {1, 2});
  auto lazy = a * 2.0;  // holds a reference to a
  static_assert(std::is_same_v<std::tuple_element_t<0, decltype(lazy.children)>,
                               expr::Leaf<double, const Tensor<double>&>>);
  a.fill(5);
  CHECK(eval(lazy).to_vector() == std::vector<double>{10, 10});

  // The `auto` trap that bites expression libraries: a tree built from temporaries. Here the
  // temporary tensor is moved into the tree, so evaluating later is safe.
  auto safe = exp(Tensor<double>::zeros({3})) + 1.0;
  static_assert(std::is_same_v<std::tuple_element_t<0, decltype(std::get<0>(safe.children).children)>,
                               expr::Leaf<double, Tensor<double>>>);
  CHECK(eval(safe).to_vector() == std::vector<double>{2, 2, 2});
}
