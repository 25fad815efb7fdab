// The bf16 matmul mode: rounding to bfloat16, the AMX kernel and its emulation against the
// product of rounded operands (every layout, edges, blocking, alpha, beta), the precision switch,
// and threads. The training step in bf16 is in test_pretraining.cpp.
#include <array>
#include <bit>
#include <cmath>
#include <electra/backend/cpu/gemm.hpp>
#include <limits>

#include "helpers.hpp"

using namespace electra;

namespace {
// Sets the matmul precision for one test and restores the previous one.
struct PrecisionScope {
  cpu::MatmulPrecision saved = cpu::matmul_precision();
  explicit PrecisionScope(cpu::MatmulPrecision p) { cpu::set_matmul_precision(p); }
  ~PrecisionScope() { cpu::set_matmul_precision(saved); }
};

// A copy of a float tensor with every element rounded to bf16.
Tensor<float> rounded(const Tensor<float>& x) {
  Tensor<float> r = x.clone();
  for (index_t i = 0; i < r.numel(); ++i) r.data()[i] = cpu::round_to_bf16(r.data()[i]);
  return r;
}

// One product in bf16 by `run` (signature of cpu::gemm) against gemm_reference on rounded
// operands (double sums): the only difference left is fp32 summation, about sqrt(K) ulps.
struct Shape {
  index_t M, N, K;
};
const Shape kShapes[] = {{1, 1, 1}, {17, 33, 35}, {32, 32, 32}, {64, 96, 100}, {130, 70, 600}, {5, 300, 1030}};

template <class Run>
void check_against_rounded_reference(Run&& run, const char* path) {
  int trial = 0;
  for (const Shape s : kShapes)
    for (int layout = 0; layout < 4; ++layout)
      for (const float beta : {0.0f, 0.5f, 1.0f}) {
        ++trial;
        const bool ta = layout & 1, tb = layout & 2;
        const index_t lda = (ta ? s.M : s.K) + 3, ldb = (tb ? s.K : s.N) + 1, ldc = s.N + 2;
        const auto A = test::random_tensor<float>({ta ? s.K : s.M, lda}, 100 + trial);
        const auto B = test::random_tensor<float>({tb ? s.N : s.K, ldb}, 200 + trial);
        auto C = test::random_tensor<float>({s.M, ldc}, 300 + trial);
        auto ref = C.clone();
        // With beta 0 the old contents must not be read (BLAS semantics): make them NaN.
        if (beta == 0.0f)  // the output region only: the padding columns must come out untouched
          for (index_t m = 0; m < s.M; ++m)
            for (index_t n = 0; n < s.N; ++n) C.at(m, n) = std::numeric_limits<float>::quiet_NaN();
        const float alpha = trial % 2 ? 1.0f : 0.75f;
        run(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
        const auto Ar = rounded(A), Br = rounded(B);
        cpu::gemm_reference(ta, tb, s.M, s.N, s.K, alpha, Ar.data(), lda, Br.data(), ldb, beta, ref.data(), ldc);
        INFO(path << ": ta " << ta << " tb " << tb << " M " << s.M << " N " << s.N << " K " << s.K << " alpha " << alpha
                  << " beta " << beta);
        CHECK(test::max_abs_diff(C, ref) < 2e-6 * (1 + double(s.K)));
      }
}
}  // namespace

TEST_CASE("float_to_bf16 rounds to nearest even and keeps infinities and NaN") {
  auto from_bits = [](std::uint32_t u) { return std::bit_cast<float>(u); };
  CHECK(cpu::float_to_bf16(1.0f) == 0x3f80);
  CHECK(cpu::float_to_bf16(-2.0f) == 0xc000);
  CHECK(cpu::float_to_bf16(from_bits(0x3f807fffu)) == 0x3f80);  // below half: down
  CHECK(cpu::float_to_bf16(from_bits(0x3f808001u)) == 0x3f81);  // above half: up
  CHECK(cpu::float_to_bf16(from_bits(0x3f808000u)) == 0x3f80);  // half, even: stays
  CHECK(cpu::float_to_bf16(from_bits(0x3f818000u)) == 0x3f82);  // half, odd: up to even
  CHECK(cpu::float_to_bf16(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(cpu::float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // overflows to infinity
  CHECK(std::isnan(cpu::round_to_bf16(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(cpu::round_to_bf16(from_bits(0x7f800001u))));  // a NaN whose top bits read as inf
  CHECK(cpu::round_to_bf16(3.14159265f) == 3.140625f);
}

TEST_CASE("the emulated bf16 gemm equals the product of rounded operands in every layout") {
  check_against_rounded_reference([](auto... a) { cpu::detail::gemm_bf16_emulated(a..., 1); }, "emulated");
}

TEST_CASE("the AMX bf16 gemm equals the product of rounded operands in every layout") {
  if (!cpu::amx_available()) {
    MESSAGE("this CPU (or OS) has no usable AMX-BF16: only the emulated path was checked");
    return;
  }
#if defined(ELECTRA_HAVE_AMX_CODE)
  check_against_rounded_reference([](auto... a) { cpu::detail::gemm_bf16_amx(a...); }, "amx");
#endif
}

TEST_CASE("set_matmul_precision(bf16) routes float gemms through bf16 and leaves double exact") {
  const index_t M = 40, N = 24, K = 300;
  const auto A = test::random_tensor<float>({M, K}, 1), B = test::random_tensor<float>({K, N}, 2);
  Tensor<float> fp32({M, N}), bf16({M, N}), ref_fp32({M, N}), ref_bf16({M, N});
  cpu::gemm_reference(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, ref_fp32.data(), N);
  const auto Ar = rounded(A), Br = rounded(B);
  cpu::gemm_reference(false, false, M, N, K, 1.0f, Ar.data(), K, Br.data(), N, 0.0f, ref_bf16.data(), N);
  cpu::gemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, fp32.data(), N);
  {
    PrecisionScope scope(cpu::MatmulPrecision::bf16);
    CHECK(cpu::matmul_precision_report().rfind("bf16", 0) == 0);
    cpu::gemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, bf16.data(), N);
    const auto Ad = test::random_tensor<double>({M, K}, 3), Bd = test::random_tensor<double>({K, N}, 4);
    Tensor<double> d({M, N}), ref_d({M, N});
    cpu::gemm(false, false, M, N, K, 1.0, Ad.data(), K, Bd.data(), N, 0.0, d.data(), N);
    cpu::gemm_reference(false, false, M, N, K, 1.0, Ad.data(), K, Bd.data(), N, 0.0, ref_d.data(), N);
    CHECK(test::max_abs_diff(d, ref_d) < 1e-12);
  }
  CHECK(cpu::matmul_precision() == cpu::MatmulPrecision::fp32);
  CHECK(test::max_abs_diff(fp32, ref_fp32) < 1e-4);
  CHECK(test::max_abs_diff(bf16, ref_bf16) < 1e-3);
  // Rounding uniform(-1, 1) operands to 8 significant bits moves a 300-term sum by ~0.01 (the
  // largest of 960 by several times that): the modes must be told apart, or the switch is dead.
  CHECK(test::max_abs_diff(bf16, ref_fp32) > 1e-2);
}

TEST_CASE("bf16 gemms split over threads and batched gemms give the single-thread result") {
  PrecisionScope scope(cpu::MatmulPrecision::bf16);
  const int saved = num_threads();
  set_num_threads(3);
  int trial = 0;
  // The last shape is a weight gradient's: depth far longer than C's sides, split over the
  // threads by depth (with AMX), the partial products summed.
  for (auto [M, N, K] :
       {std::array<index_t, 3>{203, 70, 41}, std::array<index_t, 3>{61, 190, 53}, std::array<index_t, 3>{64, 48, 2000}})
    for (int layout = 0; layout < 4; ++layout, ++trial) {
      const bool ta = layout & 1, tb = layout & 2;
      const auto A = test::random_tensor<float>({ta ? K : M, ta ? M : K}, 40 + trial);
      const auto B = test::random_tensor<float>({tb ? N : K, tb ? K : N}, 50 + trial);
      Tensor<float> C({M, N}), ref({M, N});
      cpu::gemm(ta, tb, M, N, K, 1.0f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.0f, C.data(), N);
      cpu::detail::gemm_bf16(ta, tb, M, N, K, 1.0f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.0f, ref.data(), N, 1);
      INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K);
      CHECK(test::max_abs_diff(C, ref) < 2e-6 * double(1 + K));
    }
  const index_t batch = 5, M = 7, N = 33, K = 40;
  const auto A = test::random_tensor<float>({batch, M, K}, 1), B = test::random_tensor<float>({batch, N, K}, 2);
  Tensor<float> C({batch, M, N}), ref({batch, M, N});
  cpu::gemm_strided_batched(false, true, M, N, K, 0.5f, A.data(), K, M * K, B.data(), K, N * K, 0.0f, C.data(), N,
                            M * N, batch);
  const auto Ar = rounded(A), Br = rounded(B);
  for (index_t b = 0; b < batch; ++b)
    cpu::gemm_reference(false, true, M, N, K, 0.5f, Ar.data() + b * M * K, K, Br.data() + b * N * K, K, 0.0f,
                        ref.data() + b * M * N, N);
  CHECK(test::max_abs_diff(C, ref) < 1e-4);
  set_num_threads(saved);
}

TEST_CASE("a matmul precision other than fp32 or bf16 is refused by name") {
  CHECK(cpu::parse_matmul_precision("bf16", "--precision") == cpu::MatmulPrecision::bf16);
  CHECK_THROWS_WITH_AS(cpu::parse_matmul_precision("fp16", "--precision"),
                       doctest::Contains("--precision: matmul precision 'fp16' is not one of fp32, bf16"), value_error);
}

TEST_CASE("gemm_bias adds the bias to every row of the product, in fp32 and in bf16, on 1 and 3 threads") {
  // Shapes that take each path with 3 threads: row slabs, column slabs (the bias offset by the
  // slab's first column), the depth split of weight gradients, and a small one-thread product.
  const int saved = num_threads();
  int trial = 0;
  for (const auto precision : {cpu::MatmulPrecision::fp32, cpu::MatmulPrecision::bf16})
    for (const int threads : {1, 3})
      for (auto [M, N, K] : {std::array<index_t, 3>{203, 70, 41}, std::array<index_t, 3>{61, 190, 53},
                             std::array<index_t, 3>{64, 48, 2000}, std::array<index_t, 3>{5, 7, 3}}) {
        ++trial;
        PrecisionScope scope(precision);
        set_num_threads(threads);
        const index_t ldc = N + 3;
        const auto X = test::random_tensor<float>({M, K}, 60 + trial),
                   W = test::random_tensor<float>({N, K}, 70 + trial);
        const auto bias = test::random_tensor<float>({N}, 80 + trial);
        Tensor<float> Y({M, ldc}), ref({M, ldc});
        Y.fill(std::numeric_limits<float>::quiet_NaN());  // never read
        cpu::gemm_bias(false, true, M, N, K, X.data(), K, W.data(), K, bias.data(), Y.data(), ldc);
        const bool bf16 = precision == cpu::MatmulPrecision::bf16;
        const auto Xr = bf16 ? rounded(X) : X.clone(), Wr = bf16 ? rounded(W) : W.clone();
        for (index_t m = 0; m < M; ++m)
          for (index_t n = 0; n < N; ++n) ref.at(m, n) = bias.flat(n);
        cpu::gemm_reference(false, true, M, N, K, 1.0f, Xr.data(), K, Wr.data(), K, 1.0f, ref.data(), ldc);
        double worst = 0;
        for (index_t m = 0; m < M; ++m)
          for (index_t n = 0; n < N; ++n) {
            const double diff = std::abs(double(Y.at(m, n)) - double(ref.at(m, n)));
            if (!(diff <= worst)) worst = diff;  // a NaN sticks
          }
        INFO(cpu::matmul_precision_report() << ", " << threads << " threads, M " << M << " N " << N << " K " << K);
        CHECK(worst < 2e-6 * double(1 + K));
      }
  set_num_threads(saved);
}
