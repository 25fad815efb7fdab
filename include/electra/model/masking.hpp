// Dynamic masking for the generator's masked-LM task, as google-research/electra does it
// (pretrain/pretrain_helpers.py: mask, _get_candidates_mask, scatter_update). Per example b:
//   candidates   = positions with input_mask = 1 and id ∉ {[SEP], [CLS], [MASK], [PAD]}
//   n            = Σ_t input_mask[b, t]                     ([CLS]/[SEP] included)
//   num          = max(1, min(N, round(n · p)))             round half to even, in float32 (tf.round)
//   weights[k]   = [k < num]
//   positions[k] = N draws with replacement, uniform over the candidates (tf.random.categorical),
//                  times weights[k]: weight-0 slots point at position 0
//   target[k]    = ids[b, positions[k]] · weights[k]
//   the slot's position becomes [MASK] iff u_k < 0.85 (u_k ~ U[0,1) in float32); the other
//   15% keep their token (ELECTRA has no random-token replacement). Writes to position 0 are
//   ignored (scatter_update's not_first_token), so weight-0 slots never change the input.
// Deviation: an example with no candidate at all (e.g. "[CLS] [SEP]") makes TF divide 0 by 0
// and sample from NaN logits; here it simply gets all N weights, positions and targets 0.
// Every random number is uniform_at(key, b·N + k), so the result is a pure function of the
// Rng state, whatever the thread count.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"

namespace electra::model {

// BERT uncased vocabulary ids (vocab.txt: [PAD]=0, [CLS]=101, [SEP]=102, [MASK]=103).
struct SpecialTokens {
  std::int32_t pad = 0, cls = 101, sep = 102, mask = 103;
};

// configure_pretraining.py: max_predictions_per_seq = int((mask_prob + 0.005) · max_seq_length),
// e.g. 19 for L = 128, p = 0.15 (the +0.005 guards int() against a product that lands just
// below an integer, e.g. 0.29 · 100 = 28.999999999999996).
inline index_t max_predictions_per_seq(index_t max_len, double p = 0.15) {
  ELECTRA_CHECK(max_len >= 1, value_error, "max_predictions_per_seq: max_len must be >= 1, got ", max_len);
  ELECTRA_CHECK(p > 0.0 && p <= 1.0, value_error, "max_predictions_per_seq: p must be in (0, 1], got ", p);
  return index_t((p + 0.005) * double(max_len));  // Python int() truncates
}

// The masked batch; `weights` is in the float type the losses use (float by default).
template <class T = float>
struct MaskedBatch {
  Tensor<std::int32_t> input_ids;   // [B, L] original ids with [MASK] written in
  Tensor<std::int32_t> positions;   // [B, N] masked_lm_positions (0 in weight-0 slots)
  Tensor<std::int32_t> target_ids;  // [B, N] masked_lm_ids (0 in weight-0 slots)
  Tensor<T> weights;                // [B, N] masked_lm_weights: 1 for the first num slots, else 0
};

namespace detail {
// tf.round: round half to even. Exact for floats (x − floor(x) is exact).
inline float round_half_even(float x) {
  const float r = std::floor(x), d = x - r;
  if (d > 0.5f) return r + 1.0f;
  if (d < 0.5f) return r;
  return std::fmod(r, 2.0f) == 0.0f ? r : r + 1.0f;
}
}  // namespace detail

// num_to_predict for one example with n non-pad tokens: max(1, min(N, round(n · p))).
// TF computes n · p in float32 (num_tokens is cast to float32, mask_prob becomes a float32
// constant), so we do too: 190 · 0.15f = 28.5000019 -> 29, where a double product 28.5 -> 28.
inline index_t num_to_predict(index_t n, double p, index_t N) {
  const float prod = float(n) * float(p);
  const auto r = index_t(detail::round_half_even(prod));
  return std::max<index_t>(1, std::min<index_t>(N, r));
}

// ids, input_mask: [B, L] (input_mask 1 = real token, 0 = pad) -> MaskedBatch with [B, L] and
// [B, N] tensors. p ∈ (0, 1] is mask_prob, N >= 1 is max_predictions_per_seq. Draws two keys.
template <class T = float>
MaskedBatch<T> mask_tokens(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& input_mask,
                           const SpecialTokens& special, double p, index_t N, Rng& rng) {
  ELECTRA_CHECK(p > 0.0 && p <= 1.0, value_error, "mask_tokens: mask probability p must be in (0, 1], got ", p);
  ELECTRA_CHECK(N >= 1, value_error, "mask_tokens: max predictions per sequence N must be >= 1, got ", N);
  ELECTRA_CHECK(ids.rank() == 2, shape_error, "mask_tokens: input ids must be [B, L], got shape ",
                ids.shape().to_string());
  ELECTRA_CHECK(input_mask.shape() == ids.shape(), shape_error, "mask_tokens: input_mask shape ",
                input_mask.shape().to_string(), " differs from input ids shape ", ids.shape().to_string());
  const index_t B = ids.size(0), L = ids.size(1);
  const Tensor<std::int32_t> src = ids.contiguous(), valid = input_mask.contiguous();

  MaskedBatch<T> out{src.clone(), Tensor<std::int32_t>::zeros({B, N}), Tensor<std::int32_t>::zeros({B, N}),
                     Tensor<T>::zeros({B, N})};
  // Both keys are drawn on every call so the Rng advances the same way whatever the data.
  const std::uint64_t key_pos = rng.next_key(), key_keep = rng.next_key();

  thread_local std::vector<std::int32_t> candidates;  // reused across calls: no allocation once warm
  candidates.reserve(std::size_t(L));
  for (index_t b = 0; b < B; ++b) {
    const std::int32_t* row = src.data() + b * L;
    const std::int32_t* m = valid.data() + b * L;
    index_t n = 0;
    candidates.clear();
    for (index_t t = 0; t < L; ++t) {
      ELECTRA_CHECK(m[t] == 0 || m[t] == 1, value_error, "mask_tokens: input_mask must hold 0 or 1, got ",
                    m[t], " at [", b, ", ", t, "]");
      n += m[t];
      const std::int32_t id = row[t];
      if (m[t] && id != special.sep && id != special.cls && id != special.mask && id != special.pad)
        candidates.push_back(std::int32_t(t));
    }
    if (candidates.empty()) continue;  // the documented deviation: nothing to predict
    const index_t num = num_to_predict(n, p, N);
    const auto C = index_t(candidates.size());

    std::int32_t* out_row = out.input_ids.data() + b * L;
    for (index_t k = 0; k < num; ++k) {  // slots k >= num keep position 0, target 0, weight 0
      const std::uint64_t slot = std::uint64_t(b * N + k);
      // Uniform categorical over the candidates; 53-bit u makes the floor bias negligible.
      const index_t c = std::min(C - 1, index_t(uniform_at<double>(key_pos, slot) * double(C)));
      const std::int32_t pos = candidates[std::size_t(c)];
      out.positions.data()[b * N + k] = pos;
      out.target_ids.data()[b * N + k] = row[pos];
      out.weights.data()[b * N + k] = T(1);
      // tf.less(tf.random.uniform(float32), 0.85); writing [MASK] twice is the same as once,
      // which is what scatter_update's sum-then-floordiv does for duplicates.
      if (uniform_at<float>(key_keep, slot) < 0.85f && pos != 0) out_row[pos] = special.mask;
    }
  }
  return out;
}

}  // namespace electra::model
