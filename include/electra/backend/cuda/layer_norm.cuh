// Layer normalisation over the last axis on the GPU: the same math, saved statistics and
// accumulation rules as backend/cpu/layer_norm.hpp (BERT/ELECTRA: eps 1e-12, biased variance).
//   forward:  mean = Σx/n, rstd = 1/sqrt(Σ(x-mean)²/n + eps), xhat = (x-mean)·rstd,
//             y = γ ⊙ xhat + β                       x, y: [rows, n]; γ, β: [n]; mean, rstd: [rows]
//   backward: dβ += Σ_rows dy, dγ += Σ_rows dy⊙xhat,
//             dx += rstd · (g − mean(g) − xhat · mean(g⊙xhat)),  g = dy⊙γ
// As on the CPU, the forward statistics are accumulated in double and the backward sums in
// float. One block per row; dγ and dβ are column sums done in two deterministic stages
// (partial sums per chunk of rows, then the chunks in order), not with atomics.
#pragma once
#include "block_reduce.cuh"
#include "buffer.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
inline constexpr int kLayerNormRowsPerChunk = 256;

// One block per row r: y[r,:], mean[r], rstd[r] from x[r,:].
static __global__ void layer_norm_forward_kernel(float* y, float* mean, float* rstd, const float* x, const float* gamma,
                                                 const float* beta, index_t n, double eps) {
  const index_t r = blockIdx.x;
  const float* xr = x + r * n;
  float* yr = y + r * n;
  double s = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
  const double m = block_sum(s) / double(n);
  double v = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) v += (double(xr[i]) - m) * (double(xr[i]) - m);
  v = block_sum(v) / double(n);
  const float rs = float(1.0 / ::sqrt(v + eps)), mu = float(m);
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
  if (threadIdx.x == 0) {
    mean[r] = mu;
    rstd[r] = rs;
  }
}

// One block per row r: dx[r,:] += rstd · (g − mean(g) − xhat · mean(g⊙xhat)).
static __global__ void layer_norm_backward_dx_kernel(float* dx, const float* dy, const float* x, const float* mean,
                                                     const float* rstd, const float* gamma, index_t n) {
  const index_t r = blockIdx.x;
  const float *xr = x + r * n, *dyr = dy + r * n;
  float* dxr = dx + r * n;
  const float mu = mean[r], rs = rstd[r];
  float g_sum = 0, gx_sum = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float g = dyr[i] * gamma[i];
    g_sum += g;
    gx_sum += g * (xr[i] - mu) * rs;
  }
  const float g_mean = block_sum(g_sum) / float(n), gx_mean = block_sum(gx_sum) / float(n);
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float xhat = (xr[i] - mu) * rs;
    dxr[i] += rs * (dyr[i] * gamma[i] - g_mean - xhat * gx_mean);
  }
}

// Stage 1 of dγ, dβ. Block (32, 8) at (column tile bx, row chunk by): for its 32 columns,
// sums dy⊙xhat and dy over the chunk's rows into partial_dgamma/dbeta[by, column].
static __global__ void layer_norm_param_partials_kernel(float* partial_dgamma, float* partial_dbeta, const float* dy,
                                                        const float* x, const float* mean, const float* rstd,
                                                        index_t rows, index_t n) {
  __shared__ float sg[8][33], sb[8][33];  // +1 column: no shared-memory bank conflicts
  const index_t col = index_t(blockIdx.x) * 32 + threadIdx.x;
  const index_t row_begin = index_t(blockIdx.y) * kLayerNormRowsPerChunk;
  const index_t row_end = row_begin + kLayerNormRowsPerChunk < rows ? row_begin + kLayerNormRowsPerChunk : rows;
  float g = 0, b = 0;
  if (col < n)
    for (index_t r = row_begin + threadIdx.y; r < row_end; r += blockDim.y) {
      const float d = dy[r * n + col];
      g += d * (x[r * n + col] - mean[r]) * rstd[r];
      b += d;
    }
  sg[threadIdx.y][threadIdx.x] = g;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && col < n) {
    for (int k = 1; k < int(blockDim.y); ++k) {
      g += sg[k][threadIdx.x];
      b += sb[k][threadIdx.x];
    }
    partial_dgamma[index_t(blockIdx.y) * n + col] = g;
    partial_dbeta[index_t(blockIdx.y) * n + col] = b;
  }
}

// Stage 2: dγ[c] += Σ_chunks partial_dgamma[k, c] (chunks in order); likewise dβ. Null outputs are skipped.
static __global__ void layer_norm_param_finish_kernel(float* dgamma, float* dbeta, const float* partial_dgamma,
                                                      const float* partial_dbeta, index_t chunks, index_t n) {
  for (index_t c = global_thread_index(); c < n; c += grid_threads()) {
    float g = 0, b = 0;
    for (index_t k = 0; k < chunks; ++k) {
      g += partial_dgamma[k * n + c];
      b += partial_dbeta[k * n + c];
    }
    if (dgamma) dgamma[c] += g;
    if (dbeta) dbeta[c] += b;
  }
}
}  // namespace detail

// x, y: [rows, n] contiguous (y may alias x); gamma, beta: [n]; mean, rstd: [rows], saved for backward.
inline void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* gamma,
                               const float* beta, index_t rows, index_t n, double eps, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n > 0 && rows >= 0, shape_error, "cuda::layer_norm_forward: rows ", rows, ", n ", n);
  if (rows == 0) return;
  detail::layer_norm_forward_kernel<<<unsigned(rows), row_block_size(n), 0, stream>>>(y, mean, rstd, x, gamma, beta, n,
                                                                                      eps);
  ELECTRA_CUDA_CHECK_LAUNCH(layer_norm_forward_kernel);
}

// dx (if non-null), dgamma, dbeta (if non-null) are accumulated into. The column sums use a
// scratch of 2·ceil(rows/256)·n floats from `allocator` (stream-ordered reuse, allocator.cuh).
inline void layer_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                const float* mean, const float* rstd, const float* gamma, index_t rows, index_t n,
                                cudaStream_t stream = nullptr, CachingAllocator& allocator = default_allocator()) {
  ELECTRA_CHECK(n > 0 && rows >= 0, shape_error, "cuda::layer_norm_backward: rows ", rows, ", n ", n);
  if (rows == 0) return;
  if (dx) {
    detail::layer_norm_backward_dx_kernel<<<unsigned(rows), row_block_size(n), 0, stream>>>(dx, dy, x, mean, rstd,
                                                                                            gamma, n);
    ELECTRA_CUDA_CHECK_LAUNCH(layer_norm_backward_dx_kernel);
  }
  if (!dgamma && !dbeta) return;
  const index_t chunks = (rows + detail::kLayerNormRowsPerChunk - 1) / detail::kLayerNormRowsPerChunk;
  ELECTRA_CHECK(chunks <= 65535, shape_error, "cuda::layer_norm_backward: ", rows, " rows exceed the grid's ",
                65535 * detail::kLayerNormRowsPerChunk);
  DeviceArray<float> partial(2 * chunks * n, allocator);
  float *partial_dgamma = partial.data(), *partial_dbeta = partial.data() + chunks * n;
  const dim3 grid(unsigned((n + 31) / 32), unsigned(chunks)), block(32, 8);
  detail::layer_norm_param_partials_kernel<<<grid, block, 0, stream>>>(partial_dgamma, partial_dbeta, dy, x, mean, rstd,
                                                                       rows, n);
  ELECTRA_CUDA_CHECK_LAUNCH(layer_norm_param_partials_kernel);
  detail::layer_norm_param_finish_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(dgamma, dbeta, partial_dgamma,
                                                                                 partial_dbeta, chunks, n);
  ELECTRA_CUDA_CHECK_LAUNCH(layer_norm_param_finish_kernel);
}

}  // namespace electra::cuda
