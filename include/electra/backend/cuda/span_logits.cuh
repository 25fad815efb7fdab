// The span head's two logit rows on the GPU (finetune/task_loss.hpp's span loss):
//   split: start[r] = qa[r, 0] + penalty_r,  end[r] = qa[r, 1] + penalty_r      qa [R, 2] -> 2 × [R]
//          penalty_r = 0 on tokens, −10000 on padding (key_mask[r] == 0), added in float as the CPU
//   merge: dqa[r, 0] += dstart[r],  dqa[r, 1] += dend[r]                          (the backward)
// R = B·T; read as [B, T], start and end are the rows the cross-entropy normalises over.
#pragma once
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
static __global__ void span_split_kernel(float* start, float* end, const float* qa, const float* key_mask, index_t R) {
  for (index_t r = global_thread_index(); r < R; r += grid_threads()) {
    const float penalty = key_mask[r] != 0.f ? 0.f : -10000.f;
    start[r] = qa[2 * r] + penalty;
    end[r] = qa[2 * r + 1] + penalty;
  }
}

static __global__ void span_merge_kernel(float* dqa, const float* dstart, const float* dend, index_t R) {
  for (index_t r = global_thread_index(); r < R; r += grid_threads()) {
    dqa[2 * r] += dstart[r];
    dqa[2 * r + 1] += dend[r];
  }
}
}  // namespace detail

inline void span_split(float* start, float* end, const float* qa, const float* key_mask, index_t R,
                       cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(R > 0, shape_error, "cuda::span_split: R ", R);
  detail::span_split_kernel<<<grid_for(R), kBlockSize, 0, stream>>>(start, end, qa, key_mask, R);
  ELECTRA_CUDA_CHECK_LAUNCH(span_split_kernel);
}

inline void span_merge(float* dqa, const float* dstart, const float* dend, index_t R, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(R > 0, shape_error, "cuda::span_merge: R ", R);
  detail::span_merge_kernel<<<grid_for(R), kBlockSize, 0, stream>>>(dqa, dstart, dend, R);
  ELECTRA_CUDA_CHECK_LAUNCH(span_merge_kernel);
}

}  // namespace electra::cuda
