// Cross-entropy over class logits at given rows, averaged over weighted slots, on the GPU:
// the semantics of ops/cross_entropy.hpp (the masked-LM loss).
//   row_i = rows[i] (rows == nullptr: row_i = i);  x_i = logits[row_i, :]
//   nll_i = −log softmax(x_i)[t_i]
//   loss  = Σ_i w_i · nll_i / (Σ_i w_i + ε)    w_i = 0 where t_i == ignore_index, else weights[i]
//                                              (1 when weights == nullptr); loss = 0 if Σ w = 0
//   dlogits[row_i, :] += dloss · w_i / (Σw + ε) · (softmax(x_i) − onehot(t_i))
// logits [R, C] (row stride C), rows / targets / weights [N]. The row indices must be
// distinct (the backward writes each row without atomics).
// Saved for the backward (caller-owned device arrays): logsumexp [N] and row_scale [N]
// (= w_i / (Σw + ε), 0 for ignored slots); the loss goes to loss[0] (device memory), so
// nothing waits for the host. As on the CPU, softmax sums are in float and the weighted
// loss sum in double. A target outside [0, C) (the CPU throws; the host should check)
// makes the loss NaN instead of reading outside the row.
#pragma once
#include <cmath>
#include <cstdint>

#include "block_reduce.cuh"
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
// One block per slot i: logsumexp[i] and log softmax(x_i)[t_i], the latter parked in
// row_scale[i] until cross_entropy_reduce_kernel replaces it by the slot's scale.
static __global__ void cross_entropy_rows_kernel(float* logsumexp, float* row_scale, const float* logits,
                                                 const std::int32_t* rows, const std::int32_t* targets, index_t C,
                                                 std::int32_t ignore_index) {
  const index_t i = blockIdx.x;
  const float* x = logits + (rows ? index_t(rows[i]) : i) * C;
  float m = -INFINITY;
  for (index_t c = threadIdx.x; c < C; c += blockDim.x) m = x[c] > m ? x[c] : m;
  m = block_max(m, -INFINITY);
  float s = 0;
  for (index_t c = threadIdx.x; c < C; c += blockDim.x) s += expf(x[c] - m);
  const float lse = m + logf(block_sum(s));
  if (threadIdx.x == 0) {
    const std::int32_t t = targets[i];
    logsumexp[i] = lse;
    row_scale[i] = t == ignore_index ? 0.f : (t >= 0 && t < C ? x[t] - lse : NAN);
  }
}

// One block for all N slots: loss[0] = Σ w_i·nll_i / (Σw + ε); row_scale[i] = w_i / (Σw + ε).
static __global__ void __launch_bounds__(1024)
    cross_entropy_reduce_kernel(float* loss, float* row_scale, const std::int32_t* targets, const float* weights,
                                index_t N, std::int32_t ignore_index, double denominator_eps) {
  double wsum = 0, total = 0;
  for (index_t i = threadIdx.x; i < N; i += blockDim.x) {
    const double w = targets[i] == ignore_index ? 0.0 : (weights ? double(weights[i]) : 1.0);
    wsum += w;
    if (w != 0) total -= w * double(row_scale[i]);  // row_scale holds log softmax(x_i)[t_i] here
  }
  wsum = block_sum(wsum);
  total = block_sum(total);  // every thread has read its row_scale entries before it is overwritten
  const double inv = wsum > 0 ? 1.0 / (wsum + denominator_eps) : 0.0;
  for (index_t i = threadIdx.x; i < N; i += blockDim.x) {
    const float w = targets[i] == ignore_index ? 0.f : (weights ? weights[i] : 1.f);
    row_scale[i] = float(double(w) * inv);
  }
  if (threadIdx.x == 0) loss[0] = float(total * inv);
}

// One block per slot i: dlogits[row_i, :] += s · softmax(x_i), then dlogits[row_i, t_i] −= s.
static __global__ void cross_entropy_backward_kernel(float* dlogits, const float* logits, const float* logsumexp,
                                                     const float* row_scale, const std::int32_t* rows,
                                                     const std::int32_t* targets, index_t C, float dloss) {
  const index_t i = blockIdx.x;
  const float s = dloss * row_scale[i];
  if (s == 0.f) return;
  const index_t row = rows ? index_t(rows[i]) : i;
  const float* x = logits + row * C;
  float* d = dlogits + row * C;
  const float lse = logsumexp[i];
  const std::int32_t t = targets[i];
  for (index_t c = threadIdx.x; c < C; c += blockDim.x) {
    d[c] += s * expf(x[c] - lse);
    if (c == t) d[c] -= s;  // the thread that owns column t, after its +=, as the CPU
  }
}
}  // namespace detail

inline void cross_entropy_forward(float* loss, float* logsumexp, float* row_scale, const float* logits,
                                  const std::int32_t* rows, const std::int32_t* targets, const float* weights,
                                  index_t N, index_t C, std::int32_t ignore_index, double denominator_eps,
                                  cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(N >= 0 && C > 0, shape_error, "cuda::cross_entropy_forward: N ", N, ", C ", C);
  if (N > 0) {
    detail::cross_entropy_rows_kernel<<<unsigned(N), row_block_size(C), 0, stream>>>(logsumexp, row_scale, logits, rows,
                                                                                     targets, C, ignore_index);
    ELECTRA_CUDA_CHECK_LAUNCH(cross_entropy_rows_kernel);
  }
  detail::cross_entropy_reduce_kernel<<<1, 1024, 0, stream>>>(loss, row_scale, targets, weights, N, ignore_index,
                                                              denominator_eps);
  ELECTRA_CUDA_CHECK_LAUNCH(cross_entropy_reduce_kernel);
}

// dloss: the loss's incoming gradient (1 · mlm_weight in pretraining).
inline void cross_entropy_backward(float* dlogits, const float* logits, const float* logsumexp, const float* row_scale,
                                   const std::int32_t* rows, const std::int32_t* targets, index_t N, index_t C,
                                   float dloss, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(N >= 0 && C > 0, shape_error, "cuda::cross_entropy_backward: N ", N, ", C ", C);
  if (N == 0) return;
  detail::cross_entropy_backward_kernel<<<unsigned(N), row_block_size(C), 0, stream>>>(
      dlogits, logits, logsumexp, row_scale, rows, targets, C, dloss);
  ELECTRA_CUDA_CHECK_LAUNCH(cross_entropy_backward_kernel);
}

}  // namespace electra::cuda
