// The one place that decides how many threads electra uses.
// ELECTRA_NUM_THREADS (environment) overrides; the default is every core OpenMP sees.
// The count is applied to OpenMP (our loops), Eigen and, when linked, OpenBLAS.
#pragma once
#include <cstdlib>
#include <string>

#include "error.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(ELECTRA_USE_OPENBLAS)
extern "C" void openblas_set_num_threads(int);
#endif

namespace electra {

// Element count above which the elementwise assign loop and the row kernels go parallel.
// Measured with BM_Elementwise in benchmarks/bench_kernels.cpp (docs/performance.md): at 16k
// floats two threads only tie with one; at 32k they are 1.5x faster.
inline constexpr long kParallelThreshold = 1L << 15;

namespace detail {
inline int& thread_count_slot() {
  static int n = 0;  // 0 = not yet decided
  return n;
}
inline int hardware_threads() {
#if defined(_OPENMP)
  return omp_get_num_procs();
#else
  return 1;
#endif
}
}  // namespace detail

inline void set_num_threads(int n) {
  ELECTRA_CHECK(n >= 1, value_error, "thread count must be >= 1, got ", n);
  detail::thread_count_slot() = n;
#if defined(_OPENMP)
  omp_set_num_threads(n);
#endif
#if defined(ELECTRA_USE_OPENBLAS)
  openblas_set_num_threads(n);
#endif
}

// The thread count in force; reads ELECTRA_NUM_THREADS on first use.
inline int num_threads() {
  int& n = detail::thread_count_slot();
  if (n == 0) {
    int want = detail::hardware_threads();
    if (const char* env = std::getenv("ELECTRA_NUM_THREADS"); env && *env) {
      char* end = nullptr;
      const long v = std::strtol(env, &end, 10);
      ELECTRA_CHECK(end && *end == '\0' && v >= 1 && v <= 4096, value_error,
                    "ELECTRA_NUM_THREADS must be a positive integer, got '", env, "'");
      want = int(v);
    }
    set_num_threads(want);
  }
  return n;
}

inline std::string threading_report() {
  std::string s = "threads: " + std::to_string(num_threads());
#if defined(_OPENMP)
  s += " (OpenMP)";
#else
  s += " (built without OpenMP)";
#endif
  return s;
}

}  // namespace electra
