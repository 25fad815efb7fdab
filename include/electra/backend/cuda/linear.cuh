// Fully connected layer on the GPU, as ops/linear.hpp (weights [out, in], HuggingFace's layout):
//   forward:   y[R,N] = x[R,K] · W[N,K]ᵀ + b[N]
//   backward:  dx += dy·W      dW += dyᵀ·x      db += Σ_rows dy
// The products go through matmul.cuh in the run's ComputeMode (fp32, tf32, or bf16 operands
// with fp32 accumulation); the bias is broadcast into y first and the product added with
// beta 1, as the CPU's gemm_bias does.
#pragma once
#include "column_sum.cuh"
#include "matmul.cuh"

namespace electra::cuda {

namespace detail {
// y[r, c] = b[c]
static __global__ void broadcast_rows_kernel(float* y, const float* b, index_t rows, index_t n) {
  const index_t total = rows * n;
  for (index_t i = global_thread_index(); i < total; i += grid_threads()) y[i] = b[i % n];
}
}  // namespace detail

// x: [R,K], W: [N,K], b: [N] or null, y: [R,N]; all contiguous, y distinct from x.
inline void linear_forward(GemmContext& g, ComputeMode mode, float* y, const float* x, const float* W, const float* b,
                           index_t R, index_t K, index_t N, cudaStream_t stream = nullptr,
                           CachingAllocator& allocator = default_allocator()) {
  ELECTRA_CHECK(R >= 0 && K >= 0 && N >= 0, shape_error, "cuda::linear_forward: R ", R, ", K ", K, ", N ", N);
  if (R == 0 || N == 0) return;
  if (b) {
    detail::broadcast_rows_kernel<<<grid_for(R * N), kBlockSize, 0, stream>>>(y, b, R, N);
    ELECTRA_CUDA_CHECK_LAUNCH(broadcast_rows_kernel);
  }
  matmul(g, mode, false, true, R, N, K, 1.0f, x, K, W, K, b ? 1.0f : 0.0f, y, N, stream, allocator);
}

// Accumulates into each non-null gradient: dx [R,K], dW [N,K], db [N]. x is the forward input.
inline void linear_backward(GemmContext& g, ComputeMode mode, float* dx, float* dW, float* db, const float* dy,
                            const float* x, const float* W, index_t R, index_t K, index_t N,
                            cudaStream_t stream = nullptr, CachingAllocator& allocator = default_allocator()) {
  ELECTRA_CHECK(R >= 0 && K >= 0 && N >= 0, shape_error, "cuda::linear_backward: R ", R, ", K ", K, ", N ", N);
  if (R == 0) return;
  if (dx) matmul(g, mode, false, false, R, K, N, 1.0f, dy, N, W, K, 1.0f, dx, K, stream, allocator);
  if (dW) matmul(g, mode, true, false, N, K, R, 1.0f, dy, N, x, K, 1.0f, dW, K, stream, allocator);
  if (db) column_sum_accumulate(db, dy, R, N, stream, allocator);
}

}  // namespace electra::cuda
