// Multi-head scaled dot-product attention on the GPU, as ops/attention.hpp: batched GEMMs
// (matmul.cuh, in the run's ComputeMode) around one fused mask + softmax row kernel, with the CPU's dropout mask.
// q, k, v, ctx: [B,T,H] contiguous; NH heads of D = H/NH; key_mask: [B,T] floats (1 real, 0 pad)
// or null.
//   Q,K,V = split heads → [B,NH,T,D]
//   S = Q·Kᵀ/√D,  P = softmax(S + (1 − mask_key)·(−10000)),  P̃ = dropout(P),  C = P̃·V
//   ctx = merge heads(C) → [B,T,H]
// backward (accumulates into dq, dk, dv):
//   dP̃ = dC·Vᵀ,  dV += P̃ᵀ·dC,  dP = dropout_mask(dP̃),  dS = P ⊙ (dP − Σ dP⊙P)
//   dQ += dS·K/√D,  dK += dSᵀ·Q/√D
// The forward keeps Q, K, V (split) and P in an AttentionState for the backward, as the CPU
// node does; P̃ is recomputed from the dropout key.
#pragma once
#include <cmath>
#include <cstdint>

#include "block_reduce.cuh"
#include "dropout.cuh"
#include "matmul.cuh"
#include "softmax.cuh"

namespace electra::cuda {

inline constexpr float kAttentionMaskValue = -10000.0f;  // ops::kAttentionMaskValue

namespace detail {
// out[b,h,t,d] = x[b,t,h·D+d]
static __global__ void split_heads_kernel(float* out, const float* x, index_t B, index_t T, index_t NH, index_t D) {
  const index_t total = B * T * NH * D;
  for (index_t i = global_thread_index(); i < total; i += grid_threads()) {
    const index_t d = i % D, t = (i / D) % T, h = (i / (D * T)) % NH, b = i / (D * T * NH);
    out[i] = x[(b * T + t) * NH * D + h * D + d];
  }
}

// out[b,t,h·D+d] (+)= x[b,h,t,d]
template <bool Accumulate>
static __global__ void merge_heads_kernel(float* out, const float* x, index_t B, index_t T, index_t NH, index_t D) {
  const index_t total = B * T * NH * D;
  for (index_t i = global_thread_index(); i < total; i += grid_threads()) {
    const index_t d = i % D, h = (i / D) % NH, t = (i / (D * NH)) % T, b = i / (D * NH * T);
    const float v = x[((b * NH + h) * T + t) * D + d];
    if constexpr (Accumulate)
      out[i] += v;
    else
      out[i] = v;
  }
}

// One block per row r of [B·NH·T, T] scores, in place:
//   p[r,:] = softmax(s[r,:] + (1 − mask[b,:])·(−10000)),  b = r / (NH·T)
static __global__ void masked_softmax_kernel(float* p, const float* key_mask, index_t rows_per_batch, index_t n) {
  const index_t r = blockIdx.x;
  float* row = p + r * n;
  const float* mask = key_mask ? key_mask + (r / rows_per_batch) * n : nullptr;
  float m = -INFINITY;
  for (index_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float s = mask ? row[j] + (1.0f - mask[j]) * kAttentionMaskValue : row[j];
    row[j] = s;
    m = s > m ? s : m;
  }
  m = block_max(m, -INFINITY);  // syncs: every masked score is written before it is read below
  float sum = 0;
  for (index_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float e = expf(row[j] - m);
    row[j] = e;
    sum += e;
  }
  const float inv = 1.f / block_sum(sum);
  for (index_t j = threadIdx.x; j < n; j += blockDim.x) row[j] *= inv;
}

inline void split_heads(float* out, const float* x, index_t B, index_t T, index_t NH, index_t D, cudaStream_t stream) {
  split_heads_kernel<<<grid_for(B * T * NH * D), kBlockSize, 0, stream>>>(out, x, B, T, NH, D);
  ELECTRA_CUDA_CHECK_LAUNCH(split_heads_kernel);
}
template <bool Accumulate>
void merge_heads(float* out, const float* x, index_t B, index_t T, index_t NH, index_t D, cudaStream_t stream) {
  merge_heads_kernel<Accumulate><<<grid_for(B * T * NH * D), kBlockSize, 0, stream>>>(out, x, B, T, NH, D);
  ELECTRA_CUDA_CHECK_LAUNCH(merge_heads_kernel);
}
}  // namespace detail

// What the backward pass needs from the forward.
struct AttentionState {
  index_t B = 0, T = 0, H = 0, heads = 1;
  float dropout_p = 0;
  std::uint64_t key = 0;  // the dropout key; meaningful when `dropped`
  bool dropped = false;
  DeviceArray<float> qh, kh, vh, probs;  // [B,NH,T,D] x3, [B,NH,T,T] before dropout
};

// ctx [B,T,H] = attention(q, k, v). `dropped` = training with p > 0; the key is drawn by the
// caller (rng.next_key(), at the point where the CPU op draws it).
inline void attention_forward(GemmContext& g, ComputeMode mode, AttentionState& st, float* ctx, const float* q,
                              const float* k, const float* v, const float* key_mask, index_t B, index_t T, index_t H,
                              index_t heads, float dropout_p, bool dropped, std::uint64_t key,
                              cudaStream_t stream = nullptr, CachingAllocator& allocator = default_allocator()) {
  ELECTRA_CHECK(B >= 1 && T >= 1 && heads >= 1 && H % heads == 0, shape_error, "cuda::attention_forward: [B,T,H] = [",
                B, ",", T, ",", H, "] with ", heads, " heads (H must be divisible by the heads)");
  ELECTRA_CHECK(dropout_p >= 0.f && dropout_p < 1.f, value_error,
                "cuda::attention_forward: dropout must be in [0, 1), got ", dropout_p);
  const index_t D = H / heads, BH = B * heads, TT = T * T, TD = T * D;
  st.B = B, st.T = T, st.H = H, st.heads = heads, st.dropout_p = dropout_p;
  st.dropped = dropped && dropout_p > 0.f;
  st.key = st.dropped ? key : 0;
  st.qh = DeviceArray<float>(B * T * H, allocator);
  st.kh = DeviceArray<float>(B * T * H, allocator);
  st.vh = DeviceArray<float>(B * T * H, allocator);
  st.probs = DeviceArray<float>(BH * TT, allocator);
  detail::split_heads(st.qh.data(), q, B, T, heads, D, stream);
  detail::split_heads(st.kh.data(), k, B, T, heads, D, stream);
  detail::split_heads(st.vh.data(), v, B, T, heads, D, stream);
  matmul(g, mode, false, true, T, T, D, 1.0f / std::sqrt(float(D)), st.qh.data(), D, TD, st.kh.data(), D, TD, 0.0f,
         st.probs.data(), T, TT, BH, stream, allocator);
  detail::masked_softmax_kernel<<<unsigned(BH * T), row_block_size(T), 0, stream>>>(st.probs.data(), key_mask,
                                                                                    heads * T, T);
  ELECTRA_CUDA_CHECK_LAUNCH(masked_softmax_kernel);
  const float* pd = st.probs.data();
  DeviceArray<float> dropped_probs;
  if (st.dropped) {
    dropped_probs = DeviceArray<float>(BH * TT, allocator);
    apply_dropout_mask<false>(dropped_probs.data(), st.probs.data(), BH * TT, dropout_p, key, stream);
    pd = dropped_probs.data();
  }
  DeviceArray<float> ctxh(B * T * H, allocator);
  matmul(g, mode, false, false, T, D, T, 1.0f, pd, T, TT, st.vh.data(), D, TD, 0.0f, ctxh.data(), D, TD, BH, stream,
         allocator);
  detail::merge_heads<false>(ctx, ctxh.data(), B, T, heads, D, stream);
}

// dq, dk, dv [B,T,H] (null: not needed) += the gradients for dctx [B,T,H].
inline void attention_backward(GemmContext& g, ComputeMode mode, const AttentionState& st, float* dq, float* dk,
                               float* dv, const float* dctx, cudaStream_t stream = nullptr,
                               CachingAllocator& allocator = default_allocator()) {
  const index_t B = st.B, T = st.T, NH = st.heads, D = st.H / st.heads, BH = B * NH, TT = T * T, TD = T * D;
  ELECTRA_CHECK(!st.probs.empty(), value_error, "cuda::attention_backward: the state holds no forward pass");
  const float scale = 1.0f / std::sqrt(float(D));
  DeviceArray<float> dc(B * T * st.H, allocator);
  detail::split_heads(dc.data(), dctx, B, T, NH, D, stream);
  const float* pd = st.probs.data();
  DeviceArray<float> dropped_probs;
  if (st.dropped) {
    dropped_probs = DeviceArray<float>(BH * TT, allocator);
    apply_dropout_mask<false>(dropped_probs.data(), st.probs.data(), BH * TT, st.dropout_p, st.key, stream);
    pd = dropped_probs.data();
  }
  DeviceArray<float> head_grad(B * T * st.H, allocator);  // one head-split gradient at a time
  if (dv) {                                               // dV = P̃ᵀ·dC
    matmul(g, mode, true, false, T, D, T, 1.0f, pd, T, TT, dc.data(), D, TD, 0.0f, head_grad.data(), D, TD, BH, stream,
           allocator);
    detail::merge_heads<true>(dv, head_grad.data(), B, T, NH, D, stream);
  }
  if (!dq && !dk) return;
  DeviceArray<float> dp(BH * TT, allocator);  // dP̃ = dC·Vᵀ, then dP
  matmul(g, mode, false, true, T, T, D, 1.0f, dc.data(), D, TD, st.vh.data(), D, TD, 0.0f, dp.data(), T, TT, BH, stream,
         allocator);
  if (st.dropped) apply_dropout_mask<false>(dp.data(), dp.data(), BH * TT, st.dropout_p, st.key, stream);
  DeviceArray<float> ds(BH * TT, allocator);
  ds.zero(stream);
  softmax_backward(ds.data(), st.probs.data(), dp.data(), BH * T, T, stream);
  if (dq) {  // dQ = dS·K/√D
    matmul(g, mode, false, false, T, D, T, scale, ds.data(), T, TT, st.kh.data(), D, TD, 0.0f, head_grad.data(), D, TD,
           BH, stream, allocator);
    detail::merge_heads<true>(dq, head_grad.data(), B, T, NH, D, stream);
  }
  if (dk) {  // dK = dSᵀ·Q/√D
    matmul(g, mode, true, false, T, D, T, scale, ds.data(), T, TT, st.qh.data(), D, TD, 0.0f, head_grad.data(), D, TD,
           BH, stream, allocator);
    detail::merge_heads<true>(dk, head_grad.data(), B, T, NH, D, stream);
  }
}

}  // namespace electra::cuda
