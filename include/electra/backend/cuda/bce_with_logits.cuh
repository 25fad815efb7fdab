// Sigmoid binary cross-entropy on logits, averaged over masked positions, on the GPU: the
// semantics of ops/bce_with_logits.hpp (the replaced-token-detection loss).
//   l_i  = max(x_i, 0) − x_i·y_i + log(1 + exp(−|x_i|))
//   loss = Σ m_i l_i / (Σ m_i + ε)        (m_i = 1 when mask == nullptr; loss = 0 if Σ m = 0)
//   dx_i += dloss · m_i / (Σm + ε) · (σ(x_i) − y_i)
// logits, labels, mask, scale, dx: [n]. The forward saves scale_i = m_i / (Σm + ε) (a caller-
// owned [n] device array) for the backward and writes the loss to loss[0] in device memory.
// As on the CPU, l_i and the sums are computed in double. One block does the whole sum: n is
// B·T (16384 for batch 128 × length 128), and a single block keeps the order fixed.
#pragma once
#include "block_reduce.cuh"
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
static __global__ void __launch_bounds__(1024)
    bce_with_logits_forward_kernel(float* loss, float* scale, const float* logits, const float* labels,
                                   const float* mask, index_t n, double denominator_eps) {
  double msum = 0, total = 0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double m = mask ? double(mask[i]) : 1.0, x = logits[i], y = labels[i];
    msum += m;
    if (m != 0) total += m * ((x > 0 ? x : 0.0) - x * y + ::log1p(::exp(-::fabs(x))));
  }
  msum = block_sum(msum);
  total = block_sum(total);
  const double inv = msum > 0 ? 1.0 / (msum + denominator_eps) : 0.0;
  for (index_t i = threadIdx.x; i < n; i += blockDim.x) scale[i] = float((mask ? double(mask[i]) : 1.0) * inv);
  if (threadIdx.x == 0) loss[0] = float(total * inv);
}

// dx_i += (dloss · scale_i) · (σ(x_i) − y_i)
static __global__ void bce_with_logits_backward_kernel(float* dx, const float* logits, const float* labels,
                                                       const float* scale, index_t n, float dloss) {
  for (index_t i = global_thread_index(); i < n; i += grid_threads())
    dx[i] += (dloss * scale[i]) * (1.f / (1.f + expf(-logits[i])) - labels[i]);
}
}  // namespace detail

inline void bce_with_logits_forward(float* loss, float* scale, const float* logits, const float* labels,
                                    const float* mask, index_t n, double denominator_eps,
                                    cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n >= 0, shape_error, "cuda::bce_with_logits_forward: n ", n);
  detail::bce_with_logits_forward_kernel<<<1, 1024, 0, stream>>>(loss, scale, logits, labels, mask, n, denominator_eps);
  ELECTRA_CUDA_CHECK_LAUNCH(bce_with_logits_forward_kernel);
}

// dloss: the loss's incoming gradient (1 · rtd_weight = 50 in pretraining).
inline void bce_with_logits_backward(float* dx, const float* logits, const float* labels, const float* scale, index_t n,
                                     float dloss, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(n >= 0, shape_error, "cuda::bce_with_logits_backward: n ", n);
  if (n == 0) return;
  detail::bce_with_logits_backward_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(dx, logits, labels, scale, n, dloss);
  ELECTRA_CUDA_CHECK_LAUNCH(bce_with_logits_backward_kernel);
}

}  // namespace electra::cuda
