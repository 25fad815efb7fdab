// parallel_rows: the one helper that spreads independent rows over OpenMP threads,
// only when the total work (rows x row_cost elements) is above kParallelThreshold. Below it the
// loop runs without entering OpenMP at all: a parallel region with an if(false) clause still
// makes libgomp build (and allocate) a one-thread team, hundreds of times per training step.
#pragma once
#include <algorithm>

#include "../../core/config.hpp"
#include "../../core/threading.hpp"

namespace electra::cpu {

template <class F>
void parallel_rows(index_t rows, index_t row_cost, F&& body) {
  const int threads = num_threads();
  if (threads <= 1 || rows <= 1 || rows * row_cost < kParallelThreshold) {
    for (index_t r = 0; r < rows; ++r) body(r);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (index_t r = 0; r < rows; ++r) body(r);
}

// p[0, n) = value, in chunks spread like rows.
template <class T>
void parallel_fill(T* p, index_t n, T value) {
  constexpr index_t kChunk = index_t(1) << 14;
  parallel_rows((n + kChunk - 1) / kChunk, kChunk, [=](index_t c) {
    const index_t begin = c * kChunk;
    std::fill(p + begin, p + std::min(n, begin + kChunk), value);
  });
}

}  // namespace electra::cpu
