// Warp and block reductions for the row kernels (softmax, layer norm, losses, norms).
// block_sum / block_max: every thread of the block passes its partial and every thread gets
// the block's total. Requirements: blockDim.x is a multiple of 32 and at most 1024, and all
// threads of the block call it (it contains __syncthreads). The order of additions is fixed
// by the block size, so results are deterministic run to run.
#pragma once

namespace electra::cuda {

template <class T>
__device__ inline T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <class T>
__device__ inline T warp_max(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    const T o = __shfl_xor_sync(0xffffffffu, v, offset);
    v = o > v ? o : v;
  }
  return v;
}

namespace detail {
struct WarpSum {
  template <class T>
  __device__ T operator()(T v) const {
    return warp_sum(v);
  }
};
struct WarpMax {
  template <class T>
  __device__ T operator()(T v) const {
    return warp_max(v);
  }
};

// Reduces within warps, then the warps' results in warp 0, then broadcasts.
template <class T, class WarpOp>
__device__ inline T block_reduce(T v, WarpOp warp_op, T identity) {
  __shared__ T partial[32];
  __shared__ T total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_op(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < warps ? partial[lane] : identity;
    w = warp_op(w);
    if (lane == 0) total = w;
  }
  __syncthreads();
  const T result = total;
  __syncthreads();  // `partial` and `total` may be reused by the next call
  return result;
}
}  // namespace detail

template <class T>
__device__ inline T block_sum(T v) {
  return detail::block_reduce(v, detail::WarpSum{}, T(0));
}

template <class T>
__device__ inline T block_max(T v, T lowest) {
  return detail::block_reduce(v, detail::WarpMax{}, lowest);
}

}  // namespace electra::cuda
