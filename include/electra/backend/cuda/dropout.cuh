// Inverted dropout on the GPU with the CPU's mask (core/dropout_mask.hpp), element for element:
//   dst_i (+)= src_i · keep_i / (1 − p),   keep_i = [dropout_uniform(key, i) ≥ p]
// Forward assigns, backward (the same mask from the same key) accumulates. dst may be src.
// One hash per element here (the CPU shares one between two elements): the values are the same.
#pragma once
#include "../../core/dropout_mask.hpp"
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
template <bool Accumulate>
static __global__ void dropout_kernel(float* dst, const float* src, index_t n, float p, float keep_scale,
                                      std::uint64_t key) {
  for (index_t i = global_thread_index(); i < n; i += grid_threads()) {
    const float v = dropout_uniform(key, i) >= p ? src[i] * keep_scale : 0.0f;
    if constexpr (Accumulate)
      dst[i] += v;
    else
      dst[i] = v;
  }
}
}  // namespace detail

// dst, src: [n] device arrays. p in [0, 1).
template <bool Accumulate>
void apply_dropout_mask(float* dst, const float* src, index_t n, float p, std::uint64_t key,
                        cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n >= 0 && p >= 0.0f && p < 1.0f, value_error, "cuda::apply_dropout_mask: n ", n, ", p ", p,
                " (p must be in [0, 1))");
  if (n == 0) return;
  const float keep_scale = 1.0f / (1.0f - p);  // the CPU's scale, computed the same way
  detail::dropout_kernel<Accumulate><<<grid_for(n), kBlockSize, 0, stream>>>(dst, src, n, p, keep_scale, key);
  ELECTRA_CUDA_CHECK_LAUNCH(dropout_kernel);
}

}  // namespace electra::cuda
