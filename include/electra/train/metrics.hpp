// The pretraining step's metrics, as google-research/electra's metric_fn computes them
// (run_pretraining.py: metric_fn, _get_discriminator_output), for one batch:
//   mlm_accuracy     = Σ w·[argmax gen logits = target] / Σ w     (w = masked_lm_weights)
//   sampled_accuracy = Σ w·[sampled id = target] / Σ w
//   disc pred        = [logit > 0]  (TF: round((sign(x) + 1) / 2), half to even, so 0 -> 0)
//   disc_accuracy    = Σ m·[pred = label] / Σ m                   (m = input_mask)
//   disc_precision   = Σ m·pred·[pred = label] / Σ m·pred         (of tokens called fake, the fake share)
//   disc_recall      = Σ m·label·[pred = label] / Σ m·label       (of fake tokens, the share found)
//   disc_auc         = ROC AUC of the logits vs the labels over the non-pad tokens
// Deviations, both on purpose:
//  * every ratio whose denominator is 0 is reported as 0, not NaN (an all-real batch has no
//    fake tokens when the generator is perfect; a NaN would poison running averages);
//  * disc_auc is the exact rank statistic (Mann-Whitney U / (P·N), ties count 1/2), where
//    tf.metrics.auc interpolates over 200 thresholds of sigmoid(logit) and includes pads as
//    (0, 0) pairs. We rank the logits themselves: sigmoid is monotone, and ranking logits avoids
//    ties that float32 sigmoid saturation would create. Tokens with a NaN score are skipped.
// Losses are not computed here; the caller fills them in from the loss ops.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace electra::train {

struct PretrainMetrics {
  double mlm_accuracy = 0, sampled_accuracy = 0;
  double disc_accuracy = 0, disc_precision = 0, disc_recall = 0, disc_auc = 0;
  double replaced_fraction = 0;  // share of real tokens the generator replaced; 1 − this is the
                                 // accuracy of always answering "original"
  double mlm_loss = 0, disc_loss = 0, total_loss = 0;  // filled in by the caller
};

namespace detail {
inline double safe_ratio(double num, double den) { return den != 0.0 ? num / den : 0.0; }

inline void check_same_numel(const char* what, const Shape& a, const Shape& b) {
  ELECTRA_CHECK(a.numel() == b.numel(), shape_error, what, ": shapes ", a.to_string(), " and ", b.to_string(),
                " hold different numbers of elements");
}
inline void check_same_shape(const char* what, const Shape& a, const Shape& b) {
  ELECTRA_CHECK(a == b, shape_error, what, ": shape ", a.to_string(), " differs from ", b.to_string());
}
}  // namespace detail

// logits [..., V] (e.g. [B·N, V]) -> ids [...]; ties go to the lowest index, like tf.argmax.
template <class T>
Tensor<std::int32_t> argmax_ids(const Tensor<T>& logits) {
  ELECTRA_CHECK(logits.rank() >= 2, shape_error, "argmax_ids: logits must be [M, V], got shape ",
                logits.shape().to_string());
  const index_t V = logits.size(-1), M = V ? logits.numel() / V : 0;
  Shape s;
  for (int a = 0; a + 1 < logits.rank(); ++a) s.push_back(logits.size(a));
  const Tensor<T> x = logits.contiguous();
  Tensor<std::int32_t> ids = Tensor<std::int32_t>::zeros(s);
  for (index_t r = 0; r < M; ++r) {
    const T* row = x.data() + r * V;
    index_t best = 0;
    for (index_t j = 1; j < V; ++j)
      if (row[j] > row[best]) best = j;
    ids.data()[r] = std::int32_t(best);
  }
  return ids;
}

// tf.metrics.accuracy with weights, on one batch. preds, labels, weights: any shapes with the
// same element count (TF reshapes all three to [-1]), e.g. [B·N], [B, N], [B, N].
template <class W>
double weighted_accuracy(const Tensor<std::int32_t>& preds, const Tensor<std::int32_t>& labels,
                         const Tensor<W>& weights) {
  detail::check_same_numel("weighted_accuracy (predictions vs labels)", preds.shape(), labels.shape());
  detail::check_same_numel("weighted_accuracy (predictions vs weights)", preds.shape(), weights.shape());
  double hit = 0, total = 0;
  for (index_t i = 0; i < preds.numel(); ++i) {
    const double w = double(weights.flat(i));
    total += w;
    if (preds.flat(i) == labels.flat(i)) hit += w;
  }
  return detail::safe_ratio(hit, total);
}

// masked_lm_accuracy. gen: [B·N, V] generator logits, or already-argmaxed int32 ids [B·N] /
// [B, N]; target_ids, weights: [B, N] (masked_lm_ids, masked_lm_weights).
template <class T, class W>
double mlm_accuracy(const Tensor<T>& gen, const Tensor<std::int32_t>& target_ids, const Tensor<W>& weights) {
  if constexpr (std::is_same_v<T, std::int32_t>)
    return weighted_accuracy(gen, target_ids, weights);
  else
    return weighted_accuracy(argmax_ids(gen), target_ids, weights);
}

// sampled_masked_lm_accuracy. sampled: [B·N] or [B, N]; target_ids, weights: [B, N].
template <class W>
double sampled_accuracy(const Tensor<std::int32_t>& sampled, const Tensor<std::int32_t>& target_ids,
                        const Tensor<W>& weights) {
  return weighted_accuracy(sampled, target_ids, weights);
}

// disc_logits [B, L] -> preds [B, L]: 1 iff logit > 0 (a logit of exactly 0 predicts 0, as in TF).
template <class T>
Tensor<std::int32_t> disc_predictions(const Tensor<T>& disc_logits) {
  Tensor<std::int32_t> p(disc_logits.shape());
  for (index_t i = 0; i < p.numel(); ++i) p.data()[i] = disc_logits.flat(i) > T(0) ? 1 : 0;
  return p;
}

namespace detail {
enum class DiscWeight { mask, mask_pred, mask_label };
// Σ w·[pred = label] / Σ w with w chosen by `kind`; logits, labels, mask: [B, L].
template <class T, class Lb>
double disc_ratio(const Tensor<T>& logits, const Tensor<Lb>& labels, const Tensor<std::int32_t>& mask,
                  DiscWeight kind, const char* what) {
  check_same_shape(what, logits.shape(), labels.shape());
  check_same_shape(what, logits.shape(), mask.shape());
  double hit = 0, total = 0;
  for (index_t i = 0; i < logits.numel(); ++i) {
    const int pred = logits.flat(i) > T(0) ? 1 : 0, label = labels.flat(i) != Lb(0) ? 1 : 0;
    double w = mask.flat(i) != 0 ? 1.0 : 0.0;
    if (kind == DiscWeight::mask_pred) w *= pred;
    if (kind == DiscWeight::mask_label) w *= label;
    total += w;
    if (pred == label) hit += w;
  }
  return safe_ratio(hit, total);
}
}  // namespace detail

// disc_logits, labels, input_mask: [B, L]. labels may be float (FakeInputs) or int32.
template <class T, class Lb>
double disc_accuracy(const Tensor<T>& disc_logits, const Tensor<Lb>& labels, const Tensor<std::int32_t>& input_mask) {
  return detail::disc_ratio(disc_logits, labels, input_mask, detail::DiscWeight::mask, "disc_accuracy");
}
template <class T, class Lb>
double disc_precision(const Tensor<T>& disc_logits, const Tensor<Lb>& labels, const Tensor<std::int32_t>& input_mask) {
  return detail::disc_ratio(disc_logits, labels, input_mask, detail::DiscWeight::mask_pred, "disc_precision");
}
template <class T, class Lb>
double disc_recall(const Tensor<T>& disc_logits, const Tensor<Lb>& labels, const Tensor<std::int32_t>& input_mask) {
  return detail::disc_ratio(disc_logits, labels, input_mask, detail::DiscWeight::mask_label, "disc_recall");
}

// Exact ROC AUC of `scores` for the binary `labels` (nonzero = positive) over the elements
// with mask != 0; scores, labels, mask: one shape, e.g. [B, L]. Mann-Whitney:
//   AUC = (Σ_{positives} rank − P(P+1)/2) / (P·N), tied scores sharing their mean rank,
// so a tie between a positive and a negative counts 1/2. 0 when P = 0 or N = 0.
template <class S, class Lb, class M>
double roc_auc(const Tensor<S>& scores, const Tensor<Lb>& labels, const Tensor<M>& mask) {
  detail::check_same_shape("roc_auc (scores vs labels)", scores.shape(), labels.shape());
  detail::check_same_shape("roc_auc (scores vs mask)", scores.shape(), mask.shape());
  thread_local std::vector<std::pair<double, bool>> items;  // (score, is positive); reused across calls
  items.clear();
  items.reserve(std::size_t(scores.numel()));
  for (index_t i = 0; i < scores.numel(); ++i) {
    const double s = double(scores.flat(i));
    if (mask.flat(i) != M(0) && !std::isnan(s)) items.emplace_back(s, labels.flat(i) != Lb(0));
  }
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double pos = 0, rank_sum = 0;
  for (std::size_t i = 0; i < items.size();) {
    std::size_t j = i;
    double tied_pos = 0;
    for (; j < items.size() && items[j].first == items[i].first; ++j) tied_pos += items[j].second;
    const double mean_rank = 0.5 * double(i + 1 + j);  // ranks i+1 .. j, 1-based
    rank_sum += tied_pos * mean_rank;
    pos += tied_pos;
    i = j;
  }
  const double neg = double(items.size()) - pos;
  return detail::safe_ratio(rank_sum - pos * (pos + 1) / 2, pos * neg);
}

// All six metrics for one step. gen: [B·N, V] generator logits or [B·N]/[B, N] int32 predicted
// ids; sampled, target_ids, weights: [B, N] (sampled may be [B·N]); disc_logits, labels,
// input_mask: [B, L]. Losses stay 0 for the caller to fill in.
template <class T, class W, class D, class Lb>
PretrainMetrics pretrain_metrics(const Tensor<T>& gen, const Tensor<std::int32_t>& sampled,
                                 const Tensor<std::int32_t>& target_ids, const Tensor<W>& weights,
                                 const Tensor<D>& disc_logits, const Tensor<Lb>& labels,
                                 const Tensor<std::int32_t>& input_mask) {
  PretrainMetrics m;
  m.mlm_accuracy = mlm_accuracy(gen, target_ids, weights);
  m.sampled_accuracy = sampled_accuracy(sampled, target_ids, weights);
  m.disc_accuracy = disc_accuracy(disc_logits, labels, input_mask);
  m.disc_precision = disc_precision(disc_logits, labels, input_mask);
  m.disc_recall = disc_recall(disc_logits, labels, input_mask);
  m.disc_auc = roc_auc(disc_logits, labels, input_mask);
  return m;
}

}  // namespace electra::train
