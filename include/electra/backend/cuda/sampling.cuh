// The generator's sampling and the discriminator's corrupted input on the GPU, as
// model/sampling.hpp (google-research/electra: sample_from_softmax, scatter_update):
//   gumbel_sample:  id[r] = argmax_j( x[r,j]/T − log(−log(u + 1e-9) + 1e-9) ),
//                   u = uniform_at<float>(key, r·V + j): the CPU's draws, element for element.
//                   Ties go to the lowest index (tf.argmax); a row with no score above −∞ gives 0.
//   argmax_rows:    the same reduction over the plain logits (the generator's MLM prediction).
//   replace_with_samples: ids = original with each slot's sample at its position; position 0
//                   is never written; a position named by several slots gets floor(Σ samples /
//                   count); label[t] = 1 iff t was written and its id changed.
// Positions are trusted here: they come from the host's masking (model/masking.hpp), which
// checks them; a position outside [0, L) is ignored rather than written out of bounds.
#pragma once
#include <cmath>
#include <cstdint>

#include "../../core/rng.hpp"
#include "block_reduce.cuh"
#include "error.cuh"
#include "launch.cuh"

namespace electra::cuda {

namespace detail {
// (value, index) pairs: a beats b if larger, or equal with a lower index.
__device__ inline void argmax_merge(float& v, std::int32_t& i, float ov, std::int32_t oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

// One block per row r of logits [M, V]: ids[r] = argmax_j score(r, j), where the score is the
// logit itself (plain argmax, the MLM accuracy's prediction) or, with Gumbel, the noisy one.
template <bool Gumbel>
static __global__ void row_argmax_kernel(std::int32_t* ids, const float* logits, index_t V, float temperature,
                                         std::uint64_t key) {
  const index_t r = blockIdx.x;
  const float* x = logits + r * V;
  const float eps = 1e-9f;
  float best = -INFINITY;
  std::int32_t arg = 0;
  for (index_t j = threadIdx.x; j < V; j += blockDim.x) {
    float score = x[j];
    if constexpr (Gumbel) {
      const float u = uniform_at<float>(key, std::uint64_t(r * V + j));
      score = x[j] / temperature + -logf(-logf(u + eps) + eps);  // the CPU expression's order
    }
    argmax_merge(best, arg, score, std::int32_t(j));
  }
  for (int offset = 16; offset > 0; offset >>= 1)
    argmax_merge(best, arg, __shfl_xor_sync(0xffffffffu, best, offset), __shfl_xor_sync(0xffffffffu, arg, offset));
  __shared__ float warp_best[32];
  __shared__ std::int32_t warp_arg[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  if (lane == 0) {
    warp_best[warp] = best;
    warp_arg[warp] = arg;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < warps; ++w) argmax_merge(best, arg, warp_best[w], warp_arg[w]);
    ids[r] = arg;
  }
}

// One block per sequence b; thread t handles position t of [B, L].
static __global__ void replace_with_samples_kernel(std::int32_t* fake_ids, float* labels, const std::int32_t* original,
                                                   const std::int32_t* positions, const std::int32_t* sampled,
                                                   index_t L, index_t N) {
  const index_t b = blockIdx.x;
  const std::int32_t *pos = positions + b * N, *smp = sampled + b * N, *orig = original + b * L;
  for (index_t t = threadIdx.x; t < L; t += blockDim.x) {
    std::int64_t sum = 0;
    std::int32_t count = 0;
    for (index_t k = 0; k < N; ++k)
      if (pos[k] == t) {
        sum += smp[k];
        ++count;
      }
    std::int32_t id = orig[t];
    float label = 0.f;
    if (t > 0 && count > 0) {  // floor division, as Python's // (the divisor is positive)
      const std::int64_t q = sum / count;
      id = std::int32_t((sum % count != 0 && sum < 0) ? q - 1 : q);
      label = id != orig[t] ? 1.f : 0.f;
    }
    fake_ids[b * L + t] = id;
    labels[b * L + t] = label;
  }
}
}  // namespace detail

// logits: [M, V] contiguous -> ids: [M]. `key` is the one the CPU's gumbel_sample would draw
// (rng.next_key()), so both sample the same ids from the same logits.
inline void gumbel_sample(std::int32_t* ids, const float* logits, index_t M, index_t V, std::uint64_t key,
                          double temperature = 1.0, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(M >= 0 && V >= 1, shape_error, "cuda::gumbel_sample: logits [", M, ", ", V, "]");
  ELECTRA_CHECK(temperature > 0.0 && std::isfinite(temperature), value_error,
                "cuda::gumbel_sample: temperature must be positive and finite, got ", temperature);
  if (M == 0) return;
  detail::row_argmax_kernel<true><<<unsigned(M), kBlockSize, 0, stream>>>(ids, logits, V, float(temperature), key);
  ELECTRA_CUDA_CHECK_LAUNCH(row_argmax_kernel);
}

// logits: [M, V] -> ids: [M], the highest logit of each row (ties: the lowest index), as
// train::argmax_ids on the CPU.
inline void argmax_rows(std::int32_t* ids, const float* logits, index_t M, index_t V, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(M >= 0 && V >= 1, shape_error, "cuda::argmax_rows: logits [", M, ", ", V, "]");
  if (M == 0) return;
  detail::row_argmax_kernel<false><<<unsigned(M), kBlockSize, 0, stream>>>(ids, logits, V, 1.f, 0);
  ELECTRA_CUDA_CHECK_LAUNCH(row_argmax_kernel);
}

// original: [B, L]; positions, sampled: [B, N] -> fake_ids: [B, L], labels: [B, L] (0/1 floats).
inline void replace_with_samples(std::int32_t* fake_ids, float* labels, const std::int32_t* original,
                                 const std::int32_t* positions, const std::int32_t* sampled, index_t B, index_t L,
                                 index_t N, cudaStream_t stream = nullptr) {
  ELECTRA_CHECK(B >= 0 && L >= 1 && N >= 0, shape_error, "cuda::replace_with_samples: B ", B, ", L ", L, ", N ", N);
  if (B == 0) return;
  detail::replace_with_samples_kernel<<<unsigned(B), row_block_size(L), 0, stream>>>(fake_ids, labels, original,
                                                                                     positions, sampled, L, N);
  ELECTRA_CUDA_CHECK_LAUNCH(replace_with_samples_kernel);
}

}  // namespace electra::cuda
