// A weighted sum over each sequence's positions on the GPU: the classification heads' pooling
// (finetune/task_model.hpp), where w is one-hot at position 0 for `cls` (h[:, 0], exactly: the
// other terms add 0·h) and mask / Σ mask for `mean`.
//   forward:  pool[b, j] = Σ_t w[b, t] · h[b·T + t, j]        h [B·T, H], w [B, T] -> pool [B, H]
//   backward: dh[b·T + t, j] += w[b, t] · dpool[b, j]
// Sums run over t in order, in float, one thread per output element.
#pragma once
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
static __global__ void weighted_pool_forward_kernel(float* pool, const float* h, const float* w, index_t B, index_t T,
                                                    index_t H) {
  for (index_t k = global_thread_index(); k < B * H; k += grid_threads()) {
    const index_t b = k / H, j = k % H;
    float s = 0.f;
    for (index_t t = 0; t < T; ++t) s += w[b * T + t] * h[(b * T + t) * H + j];
    pool[k] = s;
  }
}

static __global__ void weighted_pool_backward_kernel(float* dh, const float* dpool, const float* w, index_t B,
                                                     index_t T, index_t H) {
  for (index_t k = global_thread_index(); k < B * T * H; k += grid_threads()) {
    const index_t r = k / H, j = k % H, b = r / T;
    dh[k] += w[r] * dpool[b * H + j];
  }
}
}  // namespace detail

inline void weighted_pool_forward(float* pool, const float* h, const float* w, index_t B, index_t T, index_t H,
                                  cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(B > 0 && T > 0 && H > 0, shape_error, "cuda::weighted_pool_forward: B ", B, ", T ", T, ", H ", H);
  detail::weighted_pool_forward_kernel<<<grid_for(B * H), kBlockSize, 0, stream>>>(pool, h, w, B, T, H);
  ELECTRA_CUDA_CHECK_LAUNCH(weighted_pool_forward_kernel);
}

inline void weighted_pool_backward(float* dh, const float* dpool, const float* w, index_t B, index_t T, index_t H,
                                   cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(B > 0 && T > 0 && H > 0, shape_error, "cuda::weighted_pool_backward: B ", B, ", T ", T, ", H ", H);
  detail::weighted_pool_backward_kernel<<<grid_for(B * T * H), kBlockSize, 0, stream>>>(dh, dpool, w, B, T, H);
  ELECTRA_CUDA_CHECK_LAUNCH(weighted_pool_backward_kernel);
}

}  // namespace electra::cuda
