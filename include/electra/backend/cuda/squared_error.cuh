// Mean squared error on the GPU, the regression loss of finetune/task_loss.hpp
// (mean(mul(diff, diff)) with diff = x − y on the tape), with the CPU's roundings:
//   d_i  = x_i − y_i                          (float)
//   loss = float(Σ_i double(d_i · d_i) · double(1/n))   (products in float, the sum in double)
//   dx_i += g·d_i + g·d_i,   g = dloss · (1/n)           (mul's two inputs are both d, as on the tape)
// x, y, dx: [n] device arrays; the loss goes to loss[0] in device memory. One block: n is a batch.
#pragma once
#include "block_reduce.cuh"
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
static __global__ void __launch_bounds__(1024)
    squared_error_forward_kernel(float* loss, const float* x, const float* y, index_t n) {
  double total = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float d = x[i] - y[i];
    total += double(d * d);
  }
  total = block_sum(total);
  if (threadIdx.x == 0) loss[0] = float(total * double(1.f / float(n)));
}

static __global__ void squared_error_backward_kernel(float* dx, const float* x, const float* y, index_t n, float g) {
  for (index_t i = global_thread_index(); i < n; i += grid_threads()) {
    const float d = x[i] - y[i];
    dx[i] += __fadd_rn(__fmul_rn(g, d), __fmul_rn(g, d));  // rounded as the CPU, no fused multiply-add
  }
}
}  // namespace detail

inline void squared_error_forward(float* loss, const float* x, const float* y, index_t n,
                                  cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n > 0, shape_error, "cuda::squared_error_forward: n ", n);
  detail::squared_error_forward_kernel<<<1, 1024, 0, stream>>>(loss, x, y, n);
  ELECTRA_CUDA_CHECK_LAUNCH(squared_error_forward_kernel);
}

// dloss: the loss's incoming gradient.
inline void squared_error_backward(float* dx, const float* x, const float* y, index_t n, float dloss,
                                   cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n > 0, shape_error, "cuda::squared_error_backward: n ", n);
  const float g = dloss * (1.f / float(n));
  detail::squared_error_backward_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(dx, x, y, n, g);
  ELECTRA_CUDA_CHECK_LAUNCH(squared_error_backward_kernel);
}

}  // namespace electra::cuda
