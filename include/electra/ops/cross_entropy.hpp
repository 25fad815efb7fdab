// Cross-entropy over class logits, averaged over weighted rows:
//   nll_i = −log softmax(logits_i)[t_i]
//   loss  = Σ_i w_i · nll_i / (Σ_i w_i + ε)  rows with t_i == ignore_index have w_i = 0;
//                                            w_i = 1 when no weights are given; loss = 0 if Σ w = 0
//   dlogits_i += dloss · w_i / (Σw + ε) · (softmax(logits_i) − onehot(t_i))
// ε (denominator_eps) is 0 by default; the official MLM loss uses 1e-6 (run_pretraining.py).
// logits [N,C], targets [N] (int32), weights [N] (optional).
#pragma once
#include <cmath>
#include <cstdint>

#include "../autograd/var.hpp"
#include "../backend/cpu/softmax.hpp"

namespace electra::ops {

inline constexpr std::int32_t kIgnoreIndex = -100;  // PyTorch's default

namespace detail {
template <class T>
struct CrossEntropyNode : OpNode<T> {
  Var<T> logits;
  Tensor<T> log_probs, row_scale;  // row_scale_i = w_i / Σw (0 for ignored rows)
  Tensor<std::int32_t> targets;
  const char* name() const override { return "cross_entropy"; }
  void backward(const Tensor<T>& dloss) override {
    if (!logits.requires_grad()) return;
    const index_t N = log_probs.shape()[0], C = log_probs.shape()[1];
    const T g = dloss.flat(0);
    T* dx = logits.impl()->grad_buffer().data();
    cpu::parallel_rows(N, C, [&](index_t i) {
      const T s = g * row_scale.data()[i];
      if (s == T(0)) return;
      const T* lp = log_probs.data() + i * C;
      T* d = dx + i * C;
      for (index_t c = 0; c < C; ++c) d[c] += s * std::exp(lp[c]);
      d[targets.flat(i)] -= s;
    });
  }
};
}  // namespace detail

template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<std::int32_t>& targets, const Tensor<T>& weights = {},
                     std::int32_t ignore_index = kIgnoreIndex, double denominator_eps = 0.0) {
  ELECTRA_CHECK(logits.shape().rank() == 2, shape_error, "cross_entropy: logits must be [N,C], got ",
                logits.shape().to_string());
  const index_t N = logits.shape()[0], C = logits.shape()[1];
  ELECTRA_CHECK(targets.shape() == Shape{N}, shape_error, "cross_entropy: targets ", targets.shape().to_string(),
                " do not match logits ", logits.shape().to_string());
  ELECTRA_CHECK(!weights.defined() || weights.shape() == Shape{N}, shape_error, "cross_entropy: weights ",
                weights.shape().to_string(), " do not match logits ", logits.shape().to_string());
  const Tensor<T> xv = logits.value().contiguous();
  Tensor<T> log_probs(logits.shape()), row_scale(Shape{N});
  cpu::log_softmax_forward(log_probs.data(), xv.data(), N, C);
  double wsum = 0, loss = 0;
  for (index_t i = 0; i < N; ++i) {
    const std::int32_t t = targets.flat(i);
    const double w = t == ignore_index ? 0.0 : (weights.defined() ? double(weights.flat(i)) : 1.0);
    ELECTRA_CHECK(t == ignore_index || (t >= 0 && t < C), index_error, "cross_entropy: target ", t, " at row ", i,
                  " is outside [0, ", C, ")");
    row_scale.data()[i] = T(w);
    if (w != 0) loss -= w * double(log_probs.data()[i * C + t]);
    wsum += w;
  }
  const double inv = wsum > 0 ? 1.0 / (wsum + denominator_eps) : 0.0;
  for (index_t i = 0; i < N; ++i) row_scale.data()[i] = T(double(row_scale.data()[i]) * inv);
  return record_op(
      Tensor<T>::full(Shape{}, T(loss * inv)),
      [&] {
        auto* n = new detail::CrossEntropyNode<T>();
        n->logits = logits;
        n->log_probs = log_probs;
        n->row_scale = row_scale;
        n->targets = targets;
        return n;
      },
      logits);
}

}  // namespace electra::ops
