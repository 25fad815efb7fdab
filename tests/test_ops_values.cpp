// Op values against hand-computed or naive references, and the errors ops raise.
#include <electra/electra.hpp>

#include "helpers.hpp"

using namespace electra;
using V = Var<double>;

TEST_CASE("gelu is the exact erf form") {
  const V x(Tensor<double>::from({3}, {1.0, -0.5, 0.0}));
  const auto y = ops::gelu(x).value();
  CHECK(y.at(0) == doctest::Approx(0.8413447460685429).epsilon(1e-15));
  CHECK(y.at(1) == doctest::Approx(-0.15426876936299344).epsilon(1e-15));
  CHECK(y.at(2) == 0.0);
}

TEST_CASE("layer norm defaults to eps 1e-12") {
  CHECK(ops::kLayerNormEps == 1e-12);
  // Variance 1e-6: eps 1e-12 leaves the output at ±1 (eps 1e-5 would give ±0.30).
  const V x(Tensor<double>::from({1, 2}, {1.0, 1.002}));
  const V g(Tensor<double>::ones({2})), b(Tensor<double>::zeros({2}));
  const auto y = ops::layer_norm(x, g, b).value();
  CHECK(y.at(0, 1) == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("linear stores weights [out, in] and adds the bias") {
  const V x(Tensor<double>::from({1, 2}, {1, 2}));
  const V W(Tensor<double>::from({3, 2}, {1, 0, 0, 1, 1, 1}));
  const V b(Tensor<double>::from({3}, {10, 20, 30}));
  CHECK(ops::linear(x, W, b).value().to_vector() == std::vector<double>{11, 22, 33});
}

TEST_CASE("cross entropy: hand-computed loss, ignored rows, all rows ignored") {
  const V logits(Tensor<double>::from({2, 3}, {1, 2, 3, 5, 5, 5}));
  const auto loss = ops::cross_entropy(logits, Tensor<std::int32_t>::from({2}, {2, ops::kIgnoreIndex}));
  CHECK(loss.item() == doctest::Approx(0.40760596444438013).epsilon(1e-14));
  const auto both = ops::cross_entropy(logits, Tensor<std::int32_t>::from({2}, {2, 1}));
  CHECK(both.item() == doctest::Approx((0.40760596444438013 + std::log(3.0)) / 2).epsilon(1e-14));
  const auto none = ops::cross_entropy(logits, Tensor<std::int32_t>::from({2}, {ops::kIgnoreIndex, ops::kIgnoreIndex}));
  CHECK(none.item() == 0.0);
  test::check_throws_with<index_error>(
      [&] { ops::cross_entropy(logits, Tensor<std::int32_t>::from({2}, {3, 0})); }, {"target 3", "row 0"});
}

TEST_CASE("binary cross-entropy with logits: hand-computed, stable for large logits, masked") {
  const V x(Tensor<double>::from({3}, {0.0, 800.0, -800.0}));
  const auto labels = Tensor<double>::from({3}, {1, 1, 1});
  const auto only_first = ops::bce_with_logits(x, labels, Tensor<double>::from({3}, {1, 0, 0}));
  CHECK(only_first.item() == doctest::Approx(std::log(2.0)).epsilon(1e-15));
  const auto all = ops::bce_with_logits(x, labels);
  CHECK(all.item() == doctest::Approx((std::log(2.0) + 0 + 800) / 3).epsilon(1e-14));
}

TEST_CASE("dropout: identity at eval, inverted scaling, rate close to p, same mask for any thread count") {
  Rng rng(1);
  const Var<float> x(Tensor<float>::ones({200, 500}));
  const Var<float> eval_y = ops::dropout(x, 0.1f, rng, false);
  CHECK(eval_y.value().shares_storage_with(x.value()));

  const int saved = num_threads();
  set_num_threads(1);
  Rng r1(9);
  const auto y1 = ops::dropout(x, 0.1f, r1, true).value();
  set_num_threads(2);
  Rng r2(9);
  const auto y2 = ops::dropout(x, 0.1f, r2, true).value();
  set_num_threads(saved);
  CHECK(test::max_abs_diff(y1, y2) == 0.0);

  index_t zeros = 0;
  for (index_t i = 0; i < y1.numel(); ++i) {
    const float v = y1.flat(i);
    CHECK((v == 0.0f || v == doctest::Approx(1.0f / 0.9f)));
    zeros += v == 0.0f;
  }
  const double rate = double(zeros) / double(y1.numel());  // 100k draws: sd of the rate ~ 0.001
  CHECK(rate == doctest::Approx(0.1).epsilon(0.05));
  test::check_throws_with<value_error>([&] { ops::dropout(x, 1.0f, rng, true); }, {"[0, 1)"});
}

TEST_CASE("the dropout kernel keeps exactly the elements its one-element definition keeps") {
  // Sizes that end inside a chunk's first half, inside its second half, and on a boundary;
  // forward (assign) and backward (accumulate) paths.
  for (const index_t n : {index_t(100), index_t(4096 * 2 + 1000), index_t(4096 * 3 + 3000), index_t(4096 * 2)}) {
    const auto x = test::random_tensor<float>({n}, 3);
    Tensor<float> y({n}), acc = Tensor<float>::ones({n});
    const std::uint64_t key = 0xD5u + std::uint64_t(n);
    ops::detail::apply_dropout_mask<false>(y.data(), x.data(), n, 0.25f, key);
    ops::detail::apply_dropout_mask<true>(acc.data(), x.data(), n, 0.25f, key);
    index_t mismatches = 0, dropped = 0;
    for (index_t i = 0; i < n; ++i) {
      const bool keep = dropout_uniform(key, i) >= 0.25f;
      const float want = keep ? x.flat(i) * (1.0f / (1.0f - 0.25f)) : 0.0f;  // the kernel's scale
      mismatches += y.flat(i) != want || acc.flat(i) != 1.0f + want;
      dropped += !keep;
    }
    INFO("n " << n);
    CHECK(mismatches == 0);
    CHECK(double(dropped) / double(n) == doctest::Approx(0.25).epsilon(n < 1000 ? 0.5 : 0.1));
  }
}

TEST_CASE("attention matches a naive per-head computation and ignores padded keys") {
  const index_t B = 2, T = 3, H = 4, NH = 2, D = 2;
  const auto q = test::random_tensor<double>({B, T, H}, 1), k = test::random_tensor<double>({B, T, H}, 2),
             v = test::random_tensor<double>({B, T, H}, 3);
  const auto mask = Tensor<double>::from({B, T}, {1, 1, 1, 1, 1, 0});
  Rng rng(0);
  const auto out = ops::attention(V(q), V(k), V(v), NH, mask, 0.0, rng, false).value();
  for (index_t b = 0; b < B; ++b)
    for (index_t h = 0; h < NH; ++h)
      for (index_t i = 0; i < T; ++i) {
        double s[T], z = 0, m = -1e300;
        for (index_t j = 0; j < T; ++j) {
          s[j] = 0;
          for (index_t d = 0; d < D; ++d) s[j] += q.at(b, i, h * D + d) * k.at(b, j, h * D + d);
          s[j] = s[j] / std::sqrt(double(D)) + (1 - mask.at(b, j)) * -10000.0;
          m = std::max(m, s[j]);
        }
        for (index_t j = 0; j < T; ++j) z += (s[j] = std::exp(s[j] - m));
        for (index_t d = 0; d < D; ++d) {
          double c = 0;
          for (index_t j = 0; j < T; ++j) c += s[j] / z * v.at(b, j, h * D + d);
          CHECK(out.at(b, i, h * D + d) == doctest::Approx(c).epsilon(1e-13));
        }
      }
  // Changing a padded key's value does not change any output.
  auto v2 = v.clone();
  v2.at(1, 2, 0) = 1e6;
  const auto out2 = ops::attention(V(q), V(k), V(v2), NH, mask, 0.0, rng, false).value();
  CHECK(test::max_abs_diff(out, out2) == 0.0);
}

TEST_CASE("embedding: padding row gets no gradient, ids outside the table are named") {
  const auto table = V::parameter(test::random_tensor<double>({4, 2}, 1));
  const auto ids = Tensor<std::int32_t>::from({3}, {0, 2, 0});
  ops::sum(ops::embedding(table, ids, 0)).backward();
  CHECK(table.grad().to_vector() == std::vector<double>{0, 0, 0, 0, 1, 1, 0, 0});
  test::check_throws_with<index_error>(
      [&] { ops::embedding(table, Tensor<std::int32_t>::from({2}, {1, 4})); }, {"id 4", "position 1", "4 rows"});
}

TEST_CASE("ops reject mismatched shapes with messages that name them") {
  const V a(Tensor<double>::zeros({2, 3})), b(Tensor<double>::zeros({4}));
  test::check_throws_with<shape_error>([&] { ops::add(a, b); }, {"[2,3]", "[4]"});
  test::check_throws_with<shape_error>([&] { ops::matmul(a, a); }, {"[2,3]", "do not chain"});
  test::check_throws_with<shape_error>([&] { ops::linear(a, V(Tensor<double>::zeros({3, 2}))); },
                                       {"[2,3]", "[3,2]", "[out, in]"});
  test::check_throws_with<shape_error>(
      [&] { ops::layer_norm(a, V(Tensor<double>::ones({2})), V(Tensor<double>::ones({2}))); }, {"[2,3]", "[3]"});
  Rng rng;
  const V q(Tensor<double>::zeros({1, 2, 6}));
  test::check_throws_with<shape_error>([&] { ops::attention(q, q, q, 4, Tensor<double>(), 0.0, rng, false); },
                                       {"6", "4 heads"});
  test::check_throws_with<shape_error>([&] { ops::concat({a, b}, 0); }, {"[4]", "[2,3]"});
}
