// The FP32 FMA peak of this machine, measured (not looked up): every thread runs 12
// independent chains of SIMD FMAs for a short while. Model-FLOPs utilisation is reported
// against this number; benchmarks/bench_gemm.cpp measures the same loop.
#pragma once
#include <algorithm>
#include <chrono>

#include "../../core/threading.hpp"
#include "../../expr/simd.hpp"

namespace electra::cpu {

// Best of `repeats` short runs, so a busy moment on the machine does not lower the figure.
inline double measure_fma_peak_gflops(long iterations = 1L << 22, int repeats = 5) {
#if defined(ELECTRA_HAS_XSIMD)
  using B = expr::batch_t<float>;
  constexpr int kChains = 12;
  const int threads = num_threads();
  double best = 0;
  for (int rep = 0; rep < repeats; ++rep) {
  float sink = 0;
  const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  {
    B acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = B(float(c) * 1e-3f);
    const B m(0.999999f), a(1e-7f);
    for (long i = 0; i < iterations; ++i)
      for (int c = 0; c < kChains; ++c) acc[c] = xsimd::fma(acc[c], m, a);
    for (int c = 0; c < kChains; ++c) sink += xsimd::hadd(acc[c]);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  volatile float keep = sink;
  (void)keep;
  best = std::max(best, 2.0 * kChains * double(B::size) * double(iterations) * threads / secs * 1e-9);
  }
  return best;
#else
  (void)iterations;
  return 0.0;
#endif
}

}  // namespace electra::cpu
