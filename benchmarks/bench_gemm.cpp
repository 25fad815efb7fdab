// GEMM at ELECTRA-Small shapes, in the three layouts a linear layer uses:
//   forward   Y[M,N]  = X[M,K] · W[N,K]ᵀ      (nt)
//   backward  dX[M,K] = dY[M,N] · W[N,K]      (nn)
//   weights   dW[N,K] = dY[M,N]ᵀ · X[M,K]     (tn)
// M = 4096 tokens (32 x 128). Each shape runs through the build's GEMM engine (`engine`:
// OpenBLAS, or Eigen's sequential kernel on our packing buffers, one slab per thread) and
// through an Eigen product expression (`eigen_expression`: Eigen's own threading and
// buffers, what the engine used before) side by side, and through the bf16 matmul mode
// (`bf16`: AMX tiles where the CPU has them; gemm_bf16.hpp); GFLOP/s is the rate counter.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <electra/backend/cpu/gemm.hpp>
#include <electra/backend/cpu/peak.hpp>
#include <electra/core/rng.hpp>
#include <electra/core/tensor.hpp>

namespace {
using electra::index_t;
using electra::Tensor;

constexpr index_t kTokens = 4096;
enum Layout { nt = 0, nn = 1, tn = 2 };

Tensor<float> random_tensor(index_t rows, index_t cols, std::uint64_t seed) {
  Tensor<float> t({rows, cols});
  const std::uint64_t key = electra::mix64(seed);
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = electra::uniform_at<float>(key, std::uint64_t(i)) - 0.5f;
  return t;
}

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;

// C = op(A) · op(B) as an Eigen expression over Maps of our row-major buffers.
void eigen_expression_gemm(bool ta, bool tb, index_t M, index_t N, index_t K, const float* A, index_t lda,
                           const float* B, index_t ldb, float* C, index_t ldc) {
  Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> c(C, M, N, Eigen::OuterStride<>(ldc));
  const ConstMap a(A, ta ? K : M, ta ? M : K, Eigen::OuterStride<>(lda));
  const ConstMap b(B, tb ? N : K, tb ? K : N, Eigen::OuterStride<>(ldb));
  if (!ta && !tb) c.noalias() = a * b;
  if (ta && !tb) c.noalias() = a.transpose() * b;
  if (!ta && tb) c.noalias() = a * b.transpose();
  if (ta && tb) c.noalias() = a.transpose() * b.transpose();
}

enum class Path { engine, eigen_expression, bf16 };

template <Path path>
void BM_Gemm(benchmark::State& state) {
  const index_t K = state.range(0), N = state.range(1);
  const auto layout = Layout(state.range(2));
  const index_t M = kTokens;
  const auto X = random_tensor(M, K, 1), W = random_tensor(N, K, 2), dY = random_tensor(M, N, 3);
  Tensor<float> out(layout == nt ? electra::Shape{M, N} : layout == nn ? electra::Shape{M, K} : electra::Shape{N, K});
  auto call = [&](bool ta, bool tb, index_t m, index_t n, index_t k, const float* a, index_t lda, const float* b,
                  index_t ldb, index_t ldc) {
    if constexpr (path == Path::eigen_expression)
      eigen_expression_gemm(ta, tb, m, n, k, a, lda, b, ldb, out.data(), ldc);
    else
      electra::cpu::gemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, out.data(), ldc);
  };
  electra::cpu::set_matmul_precision(path == Path::bf16 ? electra::cpu::MatmulPrecision::bf16
                                                        : electra::cpu::MatmulPrecision::fp32);
  for (auto _ : state) {
    if (layout == nt) call(false, true, M, N, K, X.data(), K, W.data(), K, N);
    if (layout == nn) call(false, false, M, K, N, dY.data(), N, W.data(), K, K);
    if (layout == tn) call(true, false, N, K, M, dY.data(), N, X.data(), K, K);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(M) * double(N) * double(K) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(electra::threading_report() + ", " +
                 (path == Path::bf16 ? "matmuls " + electra::cpu::matmul_precision_report()
                                     : "engine: " + electra::cpu::gemm_engine_report()));
  electra::cpu::set_matmul_precision(electra::cpu::MatmulPrecision::fp32);
}

void SmallShapes(benchmark::internal::Benchmark* b) {
  // [K, N] of ELECTRA-Small's discriminator and generator linears, and the vocab projection.
  const int shapes[][2] = {{128, 256}, {256, 256}, {256, 1024}, {1024, 256},
                           {64, 64},   {64, 256},  {256, 64},   {128, 30522}};
  for (auto& s : shapes)
    for (int layout : {nt, nn, tn}) b->Args({s[0], s[1], layout});
  b->ArgNames({"K", "N", "layout"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

// The machine's FP32 FMA peak, measured by the same loop the training run reports MFU against
// (backend/cpu/peak.hpp): 12 independent chains of batch FMAs per thread.
void BM_FmaPeak(benchmark::State& state) {
  double best = 0;
  for (auto _ : state) best = std::max(best, electra::cpu::measure_fma_peak_gflops(1L << 20, 1));
  state.counters["GFLOP/s"] = best;
  state.SetLabel(electra::threading_report());
}

// One core's AMX bf16 rate (gemm_bf16.hpp), per thread of the run: the ceiling of the bf16 mode.
void BM_AmxPeak(benchmark::State& state) {
#if defined(ELECTRA_HAVE_AMX_CODE)
  if (!electra::cpu::amx_available()) {
    state.SkipWithError("no usable AMX-BF16 on this CPU");
    return;
  }
  double best = 0;
  for (auto _ : state) best = std::max(best, electra::cpu::detail::measure_amx_peak_gflops(1L << 20));
  state.counters["GFLOP/s per core"] = best;
#else
  state.SkipWithError("built without AMX code (not x86-64 Linux with GCC or Clang)");
#endif
}

}  // namespace

BENCHMARK(BM_AmxPeak)->Name("amx_peak")->UseRealTime();
BENCHMARK(BM_FmaPeak)->Name("fma_peak")->UseRealTime();
BENCHMARK(BM_Gemm<Path::engine>)->Name("gemm/engine")->Apply(SmallShapes);
BENCHMARK(BM_Gemm<Path::eigen_expression>)->Name("gemm/eigen_expression")->Apply(SmallShapes);
BENCHMARK(BM_Gemm<Path::bf16>)->Name("gemm/bf16")->Apply(SmallShapes);
BENCHMARK_MAIN();
