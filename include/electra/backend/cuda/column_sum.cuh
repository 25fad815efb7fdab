// Column sums on the GPU, deterministic (no atomics), accumulated into the output:
//   out[c] += Σ_r x[r, c]          x: [rows, n] contiguous; out: [n]
// The bias gradient of a linear layer (db += Σ_rows dy). Two stages, as layer_norm.cuh's
// dγ/dβ: partial sums per chunk of 256 rows, then the chunks in order.
#pragma once
#include "buffer.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
inline constexpr int kColumnSumRowsPerChunk = 256;

// Block (32, 8) at (column tile bx, row chunk by): partial[by, c] = Σ_{r in chunk} x[r, c].
static __global__ void column_sum_partials_kernel(float* partial, const float* x, index_t rows, index_t n) {
  __shared__ float s[8][33];
  const index_t col = index_t(blockIdx.x) * 32 + threadIdx.x;
  const index_t row_begin = index_t(blockIdx.y) * kColumnSumRowsPerChunk;
  const index_t row_end = row_begin + kColumnSumRowsPerChunk < rows ? row_begin + kColumnSumRowsPerChunk : rows;
  float v = 0;
  if (col < n)
    for (index_t r = row_begin + threadIdx.y; r < row_end; r += blockDim.y) v += x[r * n + col];
  s[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  if (threadIdx.y == 0 && col < n) {
    for (int k = 1; k < int(blockDim.y); ++k) v += s[k][threadIdx.x];
    partial[index_t(blockIdx.y) * n + col] = v;
  }
}

static __global__ void column_sum_finish_kernel(float* out, const float* partial, index_t chunks, index_t n) {
  for (index_t c = global_thread_index(); c < n; c += grid_threads()) {
    float v = 0;
    for (index_t k = 0; k < chunks; ++k) v += partial[k * n + c];
    out[c] += v;
  }
}
}  // namespace detail

// out[c] += Σ_r x[r, c]. Scratch: ceil(rows/256)·n floats from `allocator`.
inline void column_sum_accumulate(float* out, const float* x, index_t rows, index_t n, cudaStream_t stream = nullptr,
                                  CachingAllocator& allocator = default_allocator()) {
  ELECTRA_CHECK(n >= 0 && rows >= 0, shape_error, "cuda::column_sum_accumulate: rows ", rows, ", n ", n);
  if (rows == 0 || n == 0) return;
  const index_t chunks = (rows + detail::kColumnSumRowsPerChunk - 1) / detail::kColumnSumRowsPerChunk;
  ELECTRA_CHECK(chunks <= 65535, shape_error, "cuda::column_sum_accumulate: ", rows, " rows exceed the grid's ",
                65535 * detail::kColumnSumRowsPerChunk);
  DeviceArray<float> partial(chunks * n, allocator);
  const dim3 grid(unsigned((n + 31) / 32), unsigned(chunks)), block(32, 8);
  detail::column_sum_partials_kernel<<<grid, block, 0, stream>>>(partial.data(), x, rows, n);
  ELECTRA_CUDA_CHECK_LAUNCH(column_sum_partials_kernel);
  detail::column_sum_finish_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(out, partial.data(), chunks, n);
  ELECTRA_CUDA_CHECK_LAUNCH(column_sum_finish_kernel);
}

}  // namespace electra::cuda
