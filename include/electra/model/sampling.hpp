// Sampling the generator and building the discriminator's corrupted input, as
// google-research/electra does it (pretrain/pretrain_helpers.py: sample_from_softmax,
// scatter_update; run_pretraining.py: _get_fake_data).
//   gumbel_sample:  id = argmax_j( x_j / T − log(−log(u_j + 1e-9) + 1e-9) ),  u_j ~ U[0,1)
//                   (Gumbel-max; TF takes argmax of softmax(·) of the same values, and softmax
//                   is monotone, so the plain argmax is the same choice without the exps.)
//   replace_with_samples: start from the original ids, write each slot's sample at its position;
//                   position 0 is never written; a position named by several slots gets
//                   floor(Σ samples / count) (scatter_nd sums, then floordiv by the count);
//                   label[t] = 1 iff t was written and the new id differs from the original.
// These are plain tensors: nothing here is recorded on the autograd tape (tf.stop_gradient).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "../backend/cpu/parallel.hpp"
#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"
#include "../expr/assign.hpp"

namespace electra::model {

// logits: [..., V] (e.g. [B·N, V] or [B, N, V]) -> ids [...] (the last axis dropped).
// One key per call and u_j = uniform_at(key, row·V + j), so the draw does not depend on the
// thread count. The arithmetic is in T (float32 for float logits, like TF). Ties go to the
// lowest index, like tf.argmax.
template <class T>
Tensor<std::int32_t> gumbel_sample(const Tensor<T>& logits, Rng& rng, double temperature = 1.0) {
  static_assert(std::is_floating_point_v<T>, "gumbel_sample needs floating-point logits");
  ELECTRA_CHECK(logits.rank() >= 2, shape_error, "gumbel_sample: logits must be [M, V] or [B, N, V], got shape ",
                logits.shape().to_string());
  ELECTRA_CHECK(temperature > 0.0 && std::isfinite(temperature), value_error,
                "gumbel_sample: temperature must be positive and finite, got ", temperature);
  const index_t V = logits.size(-1);
  ELECTRA_CHECK(V >= 1, shape_error, "gumbel_sample: empty vocabulary axis in shape ", logits.shape().to_string());
  const index_t M = logits.numel() / V;
  Shape out_shape;
  for (int a = 0; a + 1 < logits.rank(); ++a) out_shape.push_back(logits.size(a));

  const Tensor<T> x = logits.contiguous().reshape({M, V});
  Tensor<std::int32_t> ids(out_shape);
  const std::uint64_t key = rng.next_key();
  const T temp = T(temperature), eps = T(1e-9);
  Tensor<T> scores({M, V});
  cpu::parallel_rows(M, V, [&](index_t r) {
    T* u = scores.data() + r * V;
    for (index_t j = 0; j < V; ++j) u[j] = uniform_at<T>(key, std::uint64_t(r * V + j));
  });
  // Same operation order as TF: (logits / temperature) + (−log(−log(u + ε) + ε)); one SIMD pass.
  assign(scores, x / temp + -log(-log(scores + eps) + eps));
  cpu::parallel_rows(M, V, [&](index_t r) {
    const T* row = scores.data() + r * V;
    T best = -std::numeric_limits<T>::infinity();
    std::int32_t arg = 0;
    for (index_t j = 0; j < V; ++j)
      if (row[j] > best) {
        best = row[j];
        arg = std::int32_t(j);
      }
    ids.data()[r] = arg;
  });
  return ids;
}

// The discriminator's input and its replaced-token labels; labels are in the loss's float type.
template <class T = float>
struct FakeInputs {
  Tensor<std::int32_t> input_ids;  // [B, L] original ids with the samples written in
  Tensor<T> labels;                // [B, L] 1 = replaced (differs from the original), else 0
};

namespace detail {
// Python/TF floordiv for a positive divisor (rounds toward −∞, unlike C++ `/`).
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
}  // namespace detail

// original_ids: [B, L] unmasked ids; positions: [B, N] masked_lm_positions; sampled: [B, N] or
// [B·N] generator samples -> FakeInputs ([B, L] ids and labels).
template <class T = float>
FakeInputs<T> replace_with_samples(const Tensor<std::int32_t>& original_ids, const Tensor<std::int32_t>& positions,
                                   const Tensor<std::int32_t>& sampled) {
  ELECTRA_CHECK(original_ids.rank() == 2, shape_error, "replace_with_samples: original ids must be [B, L], got shape ",
                original_ids.shape().to_string());
  ELECTRA_CHECK(positions.rank() == 2 && positions.size(0) == original_ids.size(0), shape_error,
                "replace_with_samples: positions must be [B, N] with B = ", original_ids.size(0), ", got shape ",
                positions.shape().to_string());
  ELECTRA_CHECK(sampled.numel() == positions.numel() && (sampled.rank() == 1 || sampled.shape() == positions.shape()),
                shape_error, "replace_with_samples: sampled ids must be [B, N] or [B*N] for positions ",
                positions.shape().to_string(), ", got shape ", sampled.shape().to_string());
  const index_t B = original_ids.size(0), L = original_ids.size(1), N = positions.size(1);
  const Tensor<std::int32_t> orig = original_ids.contiguous(), pos = positions.contiguous(),
                             smp = sampled.contiguous();

  FakeInputs<T> out{orig.clone(), Tensor<T>::zeros({B, L})};
  // Per-thread scratch rows, reused across calls (a warmed-up step allocates nothing here).
  thread_local std::vector<std::int64_t> sum;  // int64: no overflow however many duplicates
  thread_local std::vector<std::int32_t> count;
  sum.resize(static_cast<std::size_t>(L));
  count.resize(static_cast<std::size_t>(L));
  for (index_t b = 0; b < B; ++b) {
    std::fill(sum.begin(), sum.end(), 0);
    std::fill(count.begin(), count.end(), 0);
    for (index_t k = 0; k < N; ++k) {
      const std::int32_t p = pos.data()[b * N + k];
      ELECTRA_CHECK(p >= 0 && p < L, index_error, "replace_with_samples: position ", p, " at [", b, ", ", k,
                    "] is outside [0, ", L, ")");
      sum[std::size_t(p)] += smp.data()[b * N + k];
      ++count[std::size_t(p)];
    }
    const std::int32_t* o = orig.data() + b * L;
    std::int32_t* ids = out.input_ids.data() + b * L;
    T* lab = out.labels.data() + b * L;
    for (index_t t = 1; t < L; ++t) {  // t = 0 is skipped: scatter_update's not_first_token
      if (count[std::size_t(t)] == 0) continue;
      ids[t] = std::int32_t(detail::floor_div(sum[std::size_t(t)], count[std::size_t(t)]));
      lab[t] = ids[t] != o[t] ? T(1) : T(0);
    }
  }
  return out;
}

}  // namespace electra::model
