// CPU kernels against naive references: GEMM (every layout, strides, beta, both engines),
// batched GEMM, reductions, softmax, layer norm, threading.
#include <array>
#include <electra/backend/cpu/gemm.hpp>
#include <electra/backend/cpu/layer_norm.hpp>
#include <electra/backend/cpu/reduce.hpp>
#include <electra/backend/cpu/softmax.hpp>

#include "helpers.hpp"

using namespace electra;

namespace {
std::vector<cpu::GemmEngine> engines() {
#if defined(ELECTRA_USE_OPENBLAS)
  return {cpu::GemmEngine::eigen, cpu::GemmEngine::openblas};
#else
  return {cpu::GemmEngine::eigen};
#endif
}

// Checks gemm against gemm_reference on random odd shapes, with padded leading dimensions.
template <class T>
void check_gemm_layouts(double tol) {
  Rng rng(5);
  for (auto engine : engines()) {
    cpu::set_gemm_engine(engine);
    for (int trial = 0; trial < 12; ++trial) {
      const bool ta = trial & 1, tb = trial & 2;
      const index_t M = 1 + index_t(rng.below(37)), N = 1 + index_t(rng.below(41)), K = 1 + index_t(rng.below(29));
      const index_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
      const auto A = test::random_tensor<T>({ta ? K : M, lda}, 10 + trial);
      const auto B = test::random_tensor<T>({tb ? N : K, ldb}, 20 + trial);
      auto C = test::random_tensor<T>({M, ldc}, 30 + trial);
      auto ref = C.clone();
      const T alpha = T(0.75), beta = trial % 3 == 0 ? T(0) : T(0.5);
      cpu::gemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
      cpu::gemm_reference(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, ref.data(), ldc);
      INFO("engine " << int(engine) << " ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K);
      CHECK(test::max_abs_diff(C, ref) < tol);
    }
  }
  cpu::set_gemm_engine(cpu::detail::default_gemm_engine());
}
}  // namespace

TEST_CASE("gemm matches the naive reference in every layout (float)") { check_gemm_layouts<float>(1e-5); }
TEST_CASE("gemm matches the naive reference in every layout (double)") { check_gemm_layouts<double>(1e-12); }

TEST_CASE("the eigen engine splits large products over threads by rows or by columns, exactly") {
  // Shapes above kParallelGemmWork: M >= N cuts C's rows into per-thread slabs, M < N its
  // columns; 3 threads leave a short last slab; every layout, padded strides, beta != 0.
  const int saved = num_threads();
  set_num_threads(3);
  cpu::set_gemm_engine(cpu::GemmEngine::eigen);
  int trial = 0;
  for (auto [M, N, K] : {std::array<index_t, 3>{203, 70, 41}, std::array<index_t, 3>{61, 190, 53}}) {
    for (int layout = 0; layout < 4; ++layout, ++trial) {
      const bool ta = layout & 1, tb = layout & 2;
      const index_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
      const auto A = test::random_tensor<float>({ta ? K : M, lda}, 40 + trial);
      const auto B = test::random_tensor<float>({tb ? N : K, ldb}, 50 + trial);
      auto C = test::random_tensor<float>({M, ldc}, 60 + trial);
      auto ref = C.clone();
      cpu::gemm(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 0.5f, C.data(), ldc);
      cpu::gemm_reference(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 0.5f, ref.data(), ldc);
      INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K);
      CHECK(test::max_abs_diff(C, ref) < 1e-4);
    }
  }
  cpu::set_gemm_engine(cpu::detail::default_gemm_engine());
  set_num_threads(saved);
}

TEST_CASE("strided batched gemm multiplies each batch item independently") {
  const index_t batch = 5, M = 7, N = 3, K = 6;
  const auto A = test::random_tensor<float>({batch, K, M}, 1), B = test::random_tensor<float>({batch, N, K}, 2);
  Tensor<float> C({batch, M, N}), ref({batch, M, N});
  cpu::gemm_strided_batched(true, true, M, N, K, 1.0f, A.data(), M, K * M, B.data(), K, N * K, 0.0f, C.data(), N,
                            M * N, batch);
  for (index_t b = 0; b < batch; ++b)
    cpu::gemm_reference(true, true, M, N, K, 1.0f, A.data() + b * K * M, M, B.data() + b * N * K, K, 0.0f,
                        ref.data() + b * M * N, N);
  CHECK(test::max_abs_diff(C, ref) < 1e-5);
}

TEST_CASE("axis reductions: sum, mean and max remove the axis") {
  const auto x = Tensor<double>::from({2, 3}, {1, 5, 3, 4, 2, 6});
  CHECK(cpu::sum(x, 0).to_vector() == std::vector<double>{5, 7, 9});
  CHECK(cpu::sum(x, -1).to_vector() == std::vector<double>{9, 12});
  CHECK(cpu::mean(x, 1).to_vector() == std::vector<double>{3, 4});
  CHECK(cpu::max(x, 0).to_vector() == std::vector<double>{4, 5, 6});
  CHECK(cpu::max(x.transpose(), 1).to_vector() == std::vector<double>{4, 5, 6});
  CHECK(cpu::sum_all(x) == 21);
  CHECK(cpu::max_all(x) == 6);
}

TEST_CASE("sum_to_accumulate reverses broadcasting") {
  auto dst = Tensor<double>::from({3}, {1, 1, 1});
  cpu::sum_to_accumulate(dst, Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(dst.to_vector() == std::vector<double>{6, 8, 10});
  auto col = Tensor<double>::zeros({2, 1});
  cpu::sum_to_accumulate(col, Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(col.to_vector() == std::vector<double>{6, 15});
  test::check_throws_with<shape_error>([] { cpu::sum_to_accumulate(Tensor<double>::zeros({4}), Tensor<double>::zeros({2, 3})); },
                                       {"[2,3]", "[4]"});
}

TEST_CASE("softmax is stable for large logits and log_softmax is its log") {
  const auto x = Tensor<double>::from({2, 3}, {1000, 1001, 1002, -5, 0, 5});
  Tensor<double> y(x.shape()), ly(x.shape());
  cpu::softmax_forward(y.data(), x.data(), 2, 3);
  cpu::log_softmax_forward(ly.data(), x.data(), 2, 3);
  const double e = std::exp(1.0), z = 1 + e + e * e;
  CHECK(y.at(0, 2) == doctest::Approx(e * e / z).epsilon(1e-14));
  for (index_t i = 0; i < 6; ++i) CHECK(std::exp(ly.flat(i)) == doctest::Approx(y.flat(i)).epsilon(1e-12));
  CHECK(y.at(1, 0) + y.at(1, 1) + y.at(1, 2) == doctest::Approx(1.0));
}

TEST_CASE("layer norm output has zero mean and unit variance before the affine part") {
  const index_t rows = 3, n = 11;
  const auto x = test::random_tensor<double>({rows, n}, 4, -3, 5);
  Tensor<double> y({rows, n}), mean({rows}), rstd({rows});
  const auto g = Tensor<double>::ones({n}), b = Tensor<double>::zeros({n});
  cpu::layer_norm_forward(y.data(), mean.data(), rstd.data(), x.data(), g.data(), b.data(), rows, n, 1e-12);
  for (index_t r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (index_t i = 0; i < n; ++i) m += y.at(r, i) / n;
    for (index_t i = 0; i < n; ++i) v += (y.at(r, i) - m) * (y.at(r, i) - m) / n;
    CHECK(std::abs(m) < 1e-12);
    CHECK(v == doctest::Approx(1.0).epsilon(1e-10));
  }
}

TEST_CASE("the thread count is set in one place and reported") {
  const int saved = num_threads();
  CHECK(saved >= 1);
  set_num_threads(1);
  CHECK(num_threads() == 1);
  CHECK(threading_report().find("threads: 1") != std::string::npos);
  set_num_threads(saved);
  test::check_throws_with<value_error>([] { set_num_threads(0); }, {"thread count"});
  CHECK(!cpu::gemm_engine_report().empty());
}
