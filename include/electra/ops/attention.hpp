// Multi-head scaled dot-product attention with an additive key-padding mask (BERT/ELECTRA).
// q, k, v: [B,T,H] (already projected); NH heads of size D = H/NH; key_mask: [B,T], 1 for
// real tokens and 0 for padding (undefined = no padding).
//   Q,K,V = split heads → [B,NH,T,D]
//   S = Q·Kᵀ/√D + (1 − mask_key)·(−10000)          [B,NH,T,T]   (official modeling.py)
//   P = softmax(S),  P̃ = dropout(P),  C = P̃·V      ctx = merge heads → [B,T,H]
// backward:
//   dP̃ = dC·Vᵀ,  dV += P̃ᵀ·dC,  dP = dropout_mask(dP̃),  dS = P ⊙ (dP − Σ dP⊙P)
//   dQ += dS·K/√D,  dK += dSᵀ·Q/√D
#pragma once
#include <cmath>

#include "../backend/cpu/gemm.hpp"
#include "../backend/cpu/softmax.hpp"
#include "dropout.hpp"

namespace electra::ops {

inline constexpr double kAttentionMaskValue = -10000.0;

namespace detail {
// [B,T,H] → [B,NH,T,D] contiguous copy.
template <class T>
Tensor<T> split_heads(const Tensor<T>& x, index_t heads) {
  const index_t B = x.shape()[0], T_ = x.shape()[1], H = x.shape()[2];
  Tensor<T> out({B, heads, T_, H / heads});
  assign(out, x.reshape({B, T_, heads, H / heads}).permute({0, 2, 1, 3}));
  return out;
}
// grad[B,T,H] += x[B,NH,T,D] with heads merged back.
template <class T>
void merge_heads_accumulate(const Tensor<T>& grad, const Tensor<T>& x) {
  const index_t B = x.shape()[0], NH = x.shape()[1], T_ = x.shape()[2], D = x.shape()[3];
  accumulate(grad.reshape({B, T_, NH, D}).permute({0, 2, 1, 3}), x);
}

template <class T>
struct AttentionNode : OpNode<T> {
  Var<T> q, k, v;
  Tensor<T> qh, kh, vh, probs;  // [B,NH,T,D] x3, [B,NH,T,T] (before dropout)
  T p = 0;
  std::uint64_t key = 0;
  bool dropped = false;
  const char* name() const override { return "attention"; }

  void backward(const Tensor<T>& dctx) override {
    const index_t B = qh.shape()[0], NH = qh.shape()[1], T_ = qh.shape()[2], D = qh.shape()[3];
    const index_t BH = B * NH, TT = T_ * T_, TD = T_ * D;
    const T scale = T(1) / std::sqrt(T(D));
    Tensor<T> dc({B, NH, T_, D});
    assign(dc, dctx.reshape({B, T_, NH, D}).permute({0, 2, 1, 3}));
    Tensor<T> pd = probs;  // P̃
    if (dropped) {
      pd = Tensor<T>(probs.shape());
      apply_dropout_mask<false>(pd.data(), probs.data(), pd.numel(), p, key);
    }
    if (v.requires_grad()) {  // dV = P̃ᵀ·dC
      Tensor<T> dvh({B, NH, T_, D});
      cpu::gemm_strided_batched(true, false, T_, D, T_, T(1), pd.data(), T_, TT, dc.data(), D, TD, T(0),
                                dvh.data(), D, TD, BH);
      merge_heads_accumulate(v.impl()->grad_buffer(), dvh);
    }
    if (!q.requires_grad() && !k.requires_grad()) return;
    Tensor<T> dp({B, NH, T_, T_});  // dP̃ = dC·Vᵀ
    cpu::gemm_strided_batched(false, true, T_, T_, D, T(1), dc.data(), D, TD, vh.data(), D, TD, T(0), dp.data(),
                              T_, TT, BH);
    if (dropped) apply_dropout_mask<false>(dp.data(), dp.data(), dp.numel(), p, key);
    Tensor<T> ds = Tensor<T>::zeros({B, NH, T_, T_});
    cpu::softmax_backward(ds.data(), probs.data(), dp.data(), BH * T_, T_);
    if (q.requires_grad()) {  // dQ = dS·K/√D
      Tensor<T> dqh({B, NH, T_, D});
      cpu::gemm_strided_batched(false, false, T_, D, T_, scale, ds.data(), T_, TT, kh.data(), D, TD, T(0),
                                dqh.data(), D, TD, BH);
      merge_heads_accumulate(q.impl()->grad_buffer(), dqh);
    }
    if (k.requires_grad()) {  // dK = dSᵀ·Q/√D
      Tensor<T> dkh({B, NH, T_, D});
      cpu::gemm_strided_batched(true, false, T_, D, T_, scale, ds.data(), T_, TT, qh.data(), D, TD, T(0),
                                dkh.data(), D, TD, BH);
      merge_heads_accumulate(k.impl()->grad_buffer(), dkh);
    }
  }
};
}  // namespace detail

template <class T>
Var<T> attention(const Var<T>& q, const Var<T>& k, const Var<T>& v, index_t heads, const Tensor<T>& key_mask,
                 T dropout_p, Rng& rng, bool training) {
  const Shape& s = q.shape();
  ELECTRA_CHECK(s.rank() == 3 && k.shape() == s && v.shape() == s, shape_error,
                "attention: q, k, v must share one [B,T,H] shape, got ", s.to_string(), ", ", k.shape().to_string(),
                ", ", v.shape().to_string());
  ELECTRA_CHECK(heads >= 1 && s[2] % heads == 0, shape_error, "attention: hidden size ", s[2],
                " is not divisible by ", heads, " heads");
  const index_t B = s[0], T_ = s[1], H = s[2], D = H / heads, BH = B * heads, TT = T_ * T_, TD = T_ * D;
  ELECTRA_CHECK(!key_mask.defined() || key_mask.shape() == (Shape{B, T_}), shape_error, "attention: key mask ",
                key_mask.shape().to_string(), " does not match [B,T] = [", B, ",", T_, "]");
  ELECTRA_CHECK(dropout_p >= T(0) && dropout_p < T(1), value_error, "attention: dropout must be in [0, 1), got ",
                dropout_p);

  Tensor<T> qh = detail::split_heads(q.value(), heads), kh = detail::split_heads(k.value(), heads),
            vh = detail::split_heads(v.value(), heads);
  Tensor<T> probs({B, heads, T_, T_});
  cpu::gemm_strided_batched(false, true, T_, T_, D, T(1) / std::sqrt(T(D)), qh.data(), D, TD, kh.data(), D, TD,
                            T(0), probs.data(), T_, TT, BH);
  if (key_mask.defined()) {  // S += (1 − mask)·(−10000), broadcast over heads and queries
    accumulate(probs, (T(1) - key_mask.reshape({B, 1, 1, T_})) * T(kAttentionMaskValue));
  }
  cpu::softmax_forward(probs.data(), probs.data(), BH * T_, T_);

  const bool dropped = training && dropout_p > T(0);
  const std::uint64_t key = dropped ? rng.next_key() : 0;
  Tensor<T> pd = probs;
  if (dropped) {
    pd = Tensor<T>(probs.shape());
    detail::apply_dropout_mask<false>(pd.data(), probs.data(), pd.numel(), dropout_p, key);
  }
  Tensor<T> ctxh({B, heads, T_, D});
  cpu::gemm_strided_batched(false, false, T_, D, T_, T(1), pd.data(), T_, TT, vh.data(), D, TD, T(0), ctxh.data(),
                            D, TD, BH);
  Tensor<T> ctx({B, T_, H});
  assign(ctx.reshape({B, T_, heads, D}).permute({0, 2, 1, 3}), ctxh);
  return record_op(
      std::move(ctx),
      [&] {
        auto* n = new detail::AttentionNode<T>();
        n->q = q;
        n->k = k;
        n->v = v;
        n->qh = qh;
        n->kh = kh;
        n->vh = vh;
        n->probs = probs;
        n->p = dropout_p;
        n->key = key;
        n->dropped = dropped;
        return n;
      },
      q, k, v);
}

}  // namespace electra::ops
