// Softmax and log-softmax over the last axis on the GPU, numerically stable (max subtracted),
// with their backward passes: the same formulas as backend/cpu/softmax.hpp.
//   softmax:      y = exp(x - max) / Σ exp(x - max)
//   backward:     dx += y ⊙ (dy − Σ dy⊙y)
//   log_softmax:  y = x − max − log Σ exp(x − max)
//   backward:     dx += dy − exp(y) Σ dy
// x, y, dx, dy: [rows, n] contiguous; y may alias x. One block per row, float accumulation
// (as the CPU), block reductions in a fixed order (deterministic).
#pragma once
#include <cmath>

#include "block_reduce.cuh"
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
__device__ inline float row_max(const float* xr, index_t n) {
  float m = -INFINITY;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) m = xr[i] > m ? xr[i] : m;
  return block_max(m, -INFINITY);
}

// y[r,:] = softmax(x[r,:])
static __global__ void softmax_forward_kernel(float* y, const float* x, index_t n) {
  const index_t r = blockIdx.x;
  const float* xr = x + r * n;
  float* yr = y + r * n;
  const float m = row_max(xr, n);  // every x is read before any y is written (block_max syncs)
  float s = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float e = expf(xr[i] - m);
    yr[i] = e;
    s += e;
  }
  const float inv = 1.f / block_sum(s);
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] *= inv;  // each thread rescales its own writes
}

// dx[r,:] += y ⊙ (dy − Σ dy⊙y)
static __global__ void softmax_backward_kernel(float* dx, const float* y, const float* dy, index_t n) {
  const index_t r = blockIdx.x;
  const float *yr = y + r * n, *dyr = dy + r * n;
  float* dxr = dx + r * n;
  float dot = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) dot += dyr[i] * yr[i];
  dot = block_sum(dot);
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) dxr[i] += yr[i] * (dyr[i] - dot);
}

// y[r,:] = x[r,:] − (max + log Σ exp(x − max))
static __global__ void log_softmax_forward_kernel(float* y, const float* x, index_t n) {
  const index_t r = blockIdx.x;
  const float* xr = x + r * n;
  float* yr = y + r * n;
  const float m = row_max(xr, n);
  float s = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) s += expf(xr[i] - m);
  const float lse = m + logf(block_sum(s));
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = xr[i] - lse;
}

// dx[r,:] += dy − exp(y) Σ dy
static __global__ void log_softmax_backward_kernel(float* dx, const float* y, const float* dy, index_t n) {
  const index_t r = blockIdx.x;
  const float *yr = y + r * n, *dyr = dy + r * n;
  float* dxr = dx + r * n;
  float s = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) s += dyr[i];
  s = block_sum(s);
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) dxr[i] += dyr[i] - expf(yr[i]) * s;
}

template <class Kernel, class... Args>
void launch_rows(Kernel kernel, index_t rows, index_t n, cudaStream_t stream, Args... args) {
  ELECTRA_CHECK(n > 0 && rows >= 0, shape_error, "cuda softmax: rows ", rows, ", n ", n);
  if (rows == 0) return;
  kernel<<<unsigned(rows), row_block_size(n), 0, stream>>>(args..., n);
}
}  // namespace detail

inline void softmax_forward(float* y, const float* x, index_t rows, index_t n, cudaStream_t stream = nullptr) {
  detail::launch_rows(detail::softmax_forward_kernel, rows, n, stream, y, x);
  ELECTRA_CUDA_CHECK_LAUNCH(softmax_forward_kernel);
}
inline void softmax_backward(float* dx, const float* y, const float* dy, index_t rows, index_t n,
                             cudaStream_t stream = nullptr) {
  detail::launch_rows(detail::softmax_backward_kernel, rows, n, stream, dx, y, dy);
  ELECTRA_CUDA_CHECK_LAUNCH(softmax_backward_kernel);
}
inline void log_softmax_forward(float* y, const float* x, index_t rows, index_t n, cudaStream_t stream = nullptr) {
  detail::launch_rows(detail::log_softmax_forward_kernel, rows, n, stream, y, x);
  ELECTRA_CUDA_CHECK_LAUNCH(log_softmax_forward_kernel);
}
inline void log_softmax_backward(float* dx, const float* y, const float* dy, index_t rows, index_t n,
                                 cudaStream_t stream = nullptr) {
  detail::launch_rows(detail::log_softmax_backward_kernel, rows, n, stream, dx, y, dy);
  ELECTRA_CUDA_CHECK_LAUNCH(log_softmax_backward_kernel);
}

}  // namespace electra::cuda
