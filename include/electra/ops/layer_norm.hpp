// Layer norm over the last axis: y = γ ⊙ (x − mean)/sqrt(var + eps) + β
// (formulas and backward in backend/cpu/layer_norm.hpp). eps defaults to 1e-12 as in
// BERT/ELECTRA (HuggingFace layer_norm_eps, the official code's LayerNorm).
#pragma once
#include "../autograd/var.hpp"
#include "../backend/cpu/layer_norm.hpp"

namespace electra::ops {

inline constexpr double kLayerNormEps = 1e-12;

namespace detail {
template <class T>
struct LayerNormNode : OpNode<T> {
  Var<T> x, gamma, beta;
  Tensor<T> xv, mean, rstd;
  const char* name() const override { return "layer_norm"; }
  void backward(const Tensor<T>& dy_in) override {
    const Tensor<T> dy = dy_in.contiguous();
    const index_t n = gamma.shape()[0], rows = xv.numel() / std::max<index_t>(n, 1);
    cpu::layer_norm_backward(x.requires_grad() ? x.impl()->grad_buffer().data() : nullptr,
                             gamma.requires_grad() ? gamma.impl()->grad_buffer().data() : nullptr,
                             beta.requires_grad() ? beta.impl()->grad_buffer().data() : nullptr, dy.data(),
                             xv.data(), mean.data(), rstd.data(), gamma.value().data(), rows, n);
  }
};
}  // namespace detail

template <class T>
Var<T> layer_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta, double eps = kLayerNormEps) {
  const index_t n = x.shape().back();
  ELECTRA_CHECK(gamma.shape() == Shape{n} && beta.shape() == Shape{n}, shape_error, "layer_norm: input ",
                x.shape().to_string(), " needs gamma and beta of shape [", n, "], got ", gamma.shape().to_string(),
                " and ", beta.shape().to_string());
  ELECTRA_CHECK(eps >= 0, value_error, "layer_norm: eps must be >= 0, got ", eps);
  const index_t rows = x.shape().numel() / std::max<index_t>(n, 1);
  const Tensor<T> xv = x.value().contiguous();
  Tensor<T> y(x.shape()), mean(Shape{rows}), rstd(Shape{rows});
  cpu::layer_norm_forward(y.data(), mean.data(), rstd.data(), xv.data(), gamma.value().contiguous().data(),
                          beta.value().contiguous().data(), rows, n, eps);
  return record_op(
      std::move(y),
      [&] {
        auto* node = new detail::LayerNormNode<T>();
        node->x = x;
        node->gamma = gamma;
        node->beta = beta;
        node->xv = xv;
        node->mean = mean;
        node->rstd = rstd;
        return node;
      },
      x, gamma, beta);
}

}  // namespace electra::ops
