// Sigmoid binary cross-entropy on logits, averaged over weighted (masked) positions:
//   l_i  = max(x_i, 0) − x_i·y_i + log(1 + exp(−|x_i|))       (stable form of −y log σ − (1−y) log(1−σ))
//   loss = Σ m_i l_i / (Σ m_i + ε)    (m_i = 1 without a mask; loss = 0 if Σ m = 0)
//   dx_i += dloss · m_i / (Σm + ε) · (σ(x_i) − y_i)
// ε (denominator_eps) is 0 by default; the official discriminator loss uses 1e-6.
// logits, labels and mask share one shape.
#pragma once
#include <cmath>

#include "../autograd/var.hpp"

namespace electra::ops {

namespace detail {
template <class T>
struct BceNode : OpNode<T> {
  Var<T> logits;
  Tensor<T> labels, scale;  // scale_i = m_i / Σm
  const char* name() const override { return "bce_with_logits"; }
  void backward(const Tensor<T>& dloss) override {
    const T g = dloss.flat(0);
    const Tensor<T>& x = logits.value();
    accumulate_grad(logits, (g * scale) * (T(1) / (T(1) + exp(-x)) - labels));
  }
};
}  // namespace detail

template <class T>
Var<T> bce_with_logits(const Var<T>& logits, const Tensor<T>& labels, const Tensor<T>& mask = {},
                       double denominator_eps = 0.0) {
  ELECTRA_CHECK(labels.shape() == logits.shape(), shape_error, "bce_with_logits: labels ",
                labels.shape().to_string(), " do not match logits ", logits.shape().to_string());
  ELECTRA_CHECK(!mask.defined() || mask.shape() == logits.shape(), shape_error, "bce_with_logits: mask ",
                mask.shape().to_string(), " does not match logits ", logits.shape().to_string());
  const index_t n = logits.shape().numel();
  Tensor<T> scale = mask.defined() ? mask.contiguous().clone() : Tensor<T>::ones(logits.shape());
  double msum = 0, loss = 0;
  for (index_t i = 0; i < n; ++i) {
    const double m = scale.data()[i], x = logits.value().flat(i), y = labels.flat(i);
    msum += m;
    if (m != 0) loss += m * (std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x))));
  }
  const double inv = msum > 0 ? 1.0 / (msum + denominator_eps) : 0.0;
  for (index_t i = 0; i < n; ++i) scale.data()[i] = T(double(scale.data()[i]) * inv);
  return record_op(
      Tensor<T>::full(Shape{}, T(loss * inv)),
      [&] {
        auto* node = new detail::BceNode<T>();
        node->logits = logits;
        node->labels = labels;
        node->scale = scale;
        return node;
      },
      logits);
}

}  // namespace electra::ops
