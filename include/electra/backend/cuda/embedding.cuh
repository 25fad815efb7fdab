// Embedding lookup and its backward on the GPU, as ops/embedding.hpp:
//   forward:  y[i, :] = table[ids[i], :]            table [V, E], ids [n] int32, y [n, E]
//   backward: dtable[ids[i], :] += dy[i, :]         rows equal to padding_idx receive nothing
// The backward is a scatter-add with float atomics: two positions may share a row, so the
// order of their additions (and the last bits of the sum) varies from run to run.
// The ids come from the host, where ops::embedding checks them against [0, V); the kernels
// still never touch memory outside the table: an out-of-range id reads zeros and adds nothing.
#pragma once
#include <cstdint>

#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
// One thread per element (i, e) of y [n, E].
static __global__ void embedding_forward_kernel(float* y, const float* table, const std::int32_t* ids, index_t n,
                                                index_t V, index_t E) {
  for (index_t k = global_thread_index(); k < n * E; k += grid_threads()) {
    const index_t i = k / E, e = k % E, id = ids[i];
    y[k] = id >= 0 && id < V ? table[id * E + e] : 0.f;
  }
}

// One thread per element (i, e) of dy [n, E].
static __global__ void embedding_backward_kernel(float* dtable, const float* dy, const std::int32_t* ids, index_t n,
                                                 index_t V, index_t E, std::int64_t padding_idx) {
  for (index_t k = global_thread_index(); k < n * E; k += grid_threads()) {
    const index_t i = k / E, e = k % E, id = ids[i];
    if (id == padding_idx || id < 0 || id >= V) continue;
    atomicAdd(dtable + id * E + e, dy[k]);
  }
}
}  // namespace detail

inline void embedding_forward(float* y, const float* table, const std::int32_t* ids, index_t n, index_t V, index_t E,
                              cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n >= 0 && V > 0 && E > 0, shape_error, "cuda::embedding_forward: n ", n, ", table [", V, ",", E, "]");
  if (n == 0) return;
  detail::embedding_forward_kernel<<<grid_for(n * E), kBlockSize, 0, stream>>>(y, table, ids, n, V, E);
  ELECTRA_CUDA_CHECK_LAUNCH(embedding_forward_kernel);
}

// padding_idx < 0: every row gets gradients.
inline void embedding_backward(float* dtable, const float* dy, const std::int32_t* ids, index_t n, index_t V, index_t E,
                               std::int64_t padding_idx = -1, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n >= 0 && V > 0 && E > 0, shape_error, "cuda::embedding_backward: n ", n, ", table [", V, ",", E, "]");
  if (n == 0) return;
  detail::embedding_backward_kernel<<<grid_for(n * E), kBlockSize, 0, stream>>>(dtable, dy, ids, n, V, E, padding_idx);
  ELECTRA_CUDA_CHECK_LAUNCH(embedding_backward_kernel);
}

}  // namespace electra::cuda
