// Launch geometry shared by the kernels: 256-thread blocks, grid-stride loops, and a grid
// capped so that huge arrays reuse threads instead of needing 2^31 blocks.
// Kernels defined in these headers are `static __global__`: every .cu file that includes a
// header gets its own copy (nvcc ignores `inline` on kernels), so a program may include the
// backend from several translation units (the electra program does: cuda_engine.cu and
// cuda_task_engine.cu).
#pragma once
#include <algorithm>

#include "../../core/config.hpp"

namespace electra::cuda {

inline constexpr int kBlockSize = 256;
inline constexpr index_t kMaxGridBlocks = index_t(1) << 16;

// Blocks for a grid-stride loop over n items, one item per thread per pass (at least 1).
inline unsigned grid_for(index_t n, int block = kBlockSize) {
  const index_t blocks = (n + block - 1) / block;
  return unsigned(std::clamp<index_t>(blocks, 1, kMaxGridBlocks));
}

// Threads for a row kernel (one block per row of n): a multiple of 32 covering n, at most 256.
inline int row_block_size(index_t n) { return int(std::clamp<index_t>((n + 31) / 32 * 32, 32, 256)); }

// Index of this thread in a 1-D grid and the grid's total thread count, 64-bit.
__device__ inline index_t global_thread_index() { return index_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline index_t grid_threads() { return index_t(gridDim.x) * blockDim.x; }

}  // namespace electra::cuda
