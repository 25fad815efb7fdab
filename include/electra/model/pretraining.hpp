// One ELECTRA pretraining step, as the official run_pretraining.py computes it:
//   1. mask      15% of real tokens chosen with replacement; 85% of them become [MASK]
//   2. generator MLM logits at the masked positions only            [B·N, V]
//                mlm = Σ w·nll / (Σ w + 1e-6)
//   3. sample    Gumbel-max from the generator's logits (no gradient flows through it)
//   4. discriminator on the original ids with every masked position replaced by its sample
//                rtd = Σ_real-tokens BCE / (n_real + 1e-6); label 1 where the sample ≠ original
//   5. loss      = 1.0·mlm + 50·rtd
// With `electra_objective = false` it is the BERT-style MLM baseline: steps 1–2 only.
#pragma once
#include <cstdint>

#include "../ops/arithmetic.hpp"
#include "../ops/bce_with_logits.hpp"
#include "../ops/cross_entropy.hpp"
#include "../train/metrics.hpp"
#include "electra.hpp"
#include "masking.hpp"
#include "sampling.hpp"

namespace electra::model {

// The official denominators' epsilon (run_pretraining.py, _get_masked_lm_output and
// _get_discriminator_output).
inline constexpr double kLossDenominatorEps = 1e-6;

struct PretrainingOptions {
  double mask_prob = 0.15;
  index_t max_predictions = 0;  // N per sequence; 0 = int((mask_prob + 0.005) · T), 19 for T = 128
  double mlm_weight = 1.0;      // official gen_weight
  double rtd_weight = 50.0;     // official disc_weight
  double temperature = 1.0;     // Gumbel sampling temperature
  bool electra_objective = true;
  SpecialTokens special;
};

// A batch of token ids. input_mask: 1 on real tokens, 0 on padding. token_types may be
// undefined (all type 0).
struct Batch {
  Tensor<std::int32_t> input_ids, input_mask, token_types;  // [B,T]
};

template <class T>
struct PretrainingResult {
  Var<T> loss, mlm_loss, rtd_loss;  // rtd_loss is undefined for the MLM-only objective
  MaskedBatch<T> masked;
  Tensor<std::int32_t> sampled;  // [B·N] generator samples (ELECTRA objective)
  FakeInputs<T> fake;            // the discriminator's input and labels
  train::PretrainMetrics metrics;
};

// Steps 2–5 for a given masking. `sampled` ([B·N]) fixes the replacements; when it is
// undefined they are drawn from the generator. Tests hold masking and samples fixed this way.
template <class T>
PretrainingResult<T> pretraining_forward(const ElectraModel<T>& model, const Batch& batch, MaskedBatch<T> masked,
                                         Tensor<std::int32_t> sampled, Rng& rng, bool training,
                                         const PretrainingOptions& o) {
  PretrainingResult<T> r;
  const index_t slots = masked.positions.numel();
  const Var<T> gen_logits =
      model.generate(masked.input_ids, batch.token_types, batch.input_mask, masked.positions, rng, training);
  const Tensor<std::int32_t> targets = masked.target_ids.reshape({slots});
  const Tensor<T> weights = masked.weights.reshape({slots});
  r.mlm_loss = ops::cross_entropy(gen_logits, targets, weights, ops::kIgnoreIndex, kLossDenominatorEps);
  if (!o.electra_objective) {
    r.metrics.mlm_accuracy = train::mlm_accuracy(gen_logits.value(), masked.target_ids, masked.weights);
    r.metrics.mlm_loss = double(r.mlm_loss.item());
    r.loss = ops::scale(r.mlm_loss, T(o.mlm_weight));
    r.metrics.total_loss = double(r.loss.item());
    r.masked = std::move(masked);
    return r;
  }
  if (!sampled.defined()) sampled = gumbel_sample(gen_logits.value(), rng, o.temperature);
  ELECTRA_CHECK(sampled.numel() == slots, shape_error, "pretraining: ", sampled.numel(), " samples for ", slots,
                " masked slots");
  r.fake = replace_with_samples<T>(batch.input_ids, masked.positions, sampled);
  const Var<T> disc_logits = model.discriminate(r.fake.input_ids, batch.token_types, batch.input_mask, rng, training);
  r.rtd_loss =
      ops::bce_with_logits(disc_logits, r.fake.labels, key_mask_from<T>(batch.input_mask), kLossDenominatorEps);
  r.loss = ops::add(ops::scale(r.mlm_loss, T(o.mlm_weight)), ops::scale(r.rtd_loss, T(o.rtd_weight)));

  r.metrics = train::pretrain_metrics(gen_logits.value(), sampled, masked.target_ids, masked.weights,
                                      disc_logits.value(), r.fake.labels, batch.input_mask);
  double replaced = 0, real = 0;
  for (index_t i = 0; i < r.fake.labels.numel(); ++i) {
    replaced += double(r.fake.labels.flat(i)) * double(batch.input_mask.flat(i) != 0);
    real += double(batch.input_mask.flat(i) != 0);
  }
  r.metrics.replaced_fraction = real > 0 ? replaced / real : 0.0;
  r.metrics.mlm_loss = double(r.mlm_loss.item());
  r.metrics.disc_loss = double(r.rtd_loss.item());
  r.metrics.total_loss = double(r.loss.item());
  r.masked = std::move(masked);
  r.sampled = std::move(sampled);
  return r;
}

// Counts behind the official loss denominators: Σ masked_lm_weights and the number of real
// tokens, of one micro-batch or (summed) of a whole step's batch.
struct LossCounts {
  double masked = 0, real = 0;
};

template <class T>
LossCounts loss_counts(const MaskedBatch<T>& masked, const Batch& batch) {
  LossCounts c;
  for (index_t i = 0; i < masked.weights.numel(); ++i) c.masked += double(masked.weights.flat(i));
  for (index_t i = 0; i < batch.input_mask.numel(); ++i) c.real += batch.input_mask.flat(i) != 0;
  return c;
}

// A micro-batch's share of the loss of the whole batch it belongs to:
//   mlm_weight · mlm · (W_m + ε)/(W + ε) + rtd_weight · rtd · (N_m + ε)/(N + ε)
// mlm = Σ_m w·nll / (W_m + ε), so each term becomes Σ_m / (W + ε), and the shares of all
// micro-batches add up to the batch's loss. With local == global this is r.loss.
// The two factors, for whoever differentiates the losses (this file, a train::StepEngine):
struct LossShareScales {
  double mlm = 1.0, rtd = 0.0;
};
inline LossShareScales loss_share_scales(LossCounts local, LossCounts global, const PretrainingOptions& o) {
  const double eps = kLossDenominatorEps;
  return {o.mlm_weight * (local.masked + eps) / (global.masked + eps),
          o.rtd_weight * (local.real + eps) / (global.real + eps)};
}
template <class T>
Var<T> loss_share(const PretrainingResult<T>& r, LossCounts local, LossCounts global, const PretrainingOptions& o) {
  const LossShareScales k = loss_share_scales(local, global, o);
  Var<T> loss = ops::scale(r.mlm_loss, T(k.mlm));
  if (o.electra_objective) loss = ops::add(loss, ops::scale(r.rtd_loss, T(k.rtd)));
  return loss;
}

// Step 1: the official masking of a batch, N = max_predictions slots per sequence.
template <class T>
MaskedBatch<T> mask_batch(const Batch& batch, Rng& rng, const PretrainingOptions& o = {}) {
  ELECTRA_CHECK(batch.input_ids.rank() == 2, shape_error, "pretraining: token ids must be [B,T], got ",
                batch.input_ids.shape().to_string());
  const index_t N =
      o.max_predictions > 0 ? o.max_predictions : max_predictions_per_seq(batch.input_ids.shape()[1], o.mask_prob);
  return mask_tokens<T>(batch.input_ids, batch.input_mask, o.special, o.mask_prob, N, rng);
}

// The whole step's forward: masks the batch, then pretraining_forward. Call loss.backward()
// on the result.
template <class T>
PretrainingResult<T> pretraining_step(const ElectraModel<T>& model, const Batch& batch, Rng& rng, bool training,
                                      const PretrainingOptions& o = {}) {
  MaskedBatch<T> masked = mask_batch<T>(batch, rng, o);
  return pretraining_forward(model, batch, std::move(masked), Tensor<std::int32_t>(), rng, training, o);
}

}  // namespace electra::model
