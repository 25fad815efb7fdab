// Inverted dropout: y_i = x_i · keep_i / (1 − p), keep_i = [u_i ≥ p], u_i = dropout_uniform(key, i)
// (core/dropout_mask.hpp)
//   dx_i += dy_i · keep_i / (1 − p)
// The mask is a pure function of (key, i): the same for any thread count, and recomputed
// in backward instead of stored. At eval (training = false) or p = 0 it is the identity.
#pragma once
#include <algorithm>
#include <cstdint>

#include "../autograd/var.hpp"
#include "../backend/cpu/parallel.hpp"
#include "../core/dropout_mask.hpp"
#include "../core/rng.hpp"

namespace electra::ops {

namespace detail {
// The mask's definition is core/dropout_mask.hpp (shared with the CUDA kernel). Here one hash
// serves the pair (t, t + 2048) of a chunk, and both halves of a chunk stay contiguous, so the
// loop vectorises.
// Elements [base, base + len) of one chunk, len ≤ 4096. Values and restrict pointers, not
// captures by reference: a store through dst could otherwise alias p and the scale, and the
// loop would not vectorise (measured 7.3 ns per element scalar against 1.3 vectorised).
template <bool Accumulate, class T>
void dropout_chunk(T* __restrict dst, const T* __restrict src, index_t chunk, index_t len, T p, T keep_scale,
                   std::uint64_t key) {
  const index_t base = chunk * kDropoutChunk;
  const index_t pairs = std::max<index_t>(0, len - kDropoutHalf), singles = std::min(len, kDropoutHalf);
  auto out = [&](index_t i, std::uint64_t bits) {
    const T v = dropout_bits_to_uniform(bits) >= p ? src[i] * keep_scale : T(0);
    if constexpr (Accumulate)
      dst[i] += v;
    else
      dst[i] = v;
  };
  for (index_t t = 0; t < pairs; ++t) {
    const std::uint64_t h = dropout_hash(key, chunk, t);
    out(base + t, h >> 40);
    out(base + kDropoutHalf + t, (h >> 8) & 0xffffffu);
  }
  for (index_t t = pairs; t < singles; ++t) out(base + t, dropout_hash(key, chunk, t) >> 40);
}

// dst[i] (+)= src[i] · keep_i / (1 − p) for i in [0, n); dst, src contiguous, either the same
// array (in place: each element is read, then written at the same index) or not overlapping.
template <bool Accumulate, class T>
void apply_dropout_mask(T* dst, const T* src, index_t n, T p, std::uint64_t key) {
  const T keep_scale = T(1) / (T(1) - p);
  cpu::parallel_rows((n + kDropoutChunk - 1) / kDropoutChunk, kDropoutChunk, [=](index_t c) {
    dropout_chunk<Accumulate>(dst, src, c, std::min(kDropoutChunk, n - c * kDropoutChunk), p, keep_scale, key);
  });
}

template <class T>
struct DropoutNode : OpNode<T> {
  Var<T> x;
  T p;
  std::uint64_t key;
  const char* name() const override { return "dropout"; }
  void backward(const Tensor<T>& dy_in) override {
    if (!x.requires_grad()) return;
    const Tensor<T> dy = dy_in.contiguous();
    apply_dropout_mask<true>(x.impl()->grad_buffer().data(), dy.data(), dy.numel(), p, key);
  }
};
}  // namespace detail

template <class T>
Var<T> dropout(const Var<T>& x, T p, Rng& rng, bool training) {
  ELECTRA_CHECK(p >= T(0) && p < T(1), value_error, "dropout: p must be in [0, 1), got ", p);
  if (!training || p == T(0)) return x;
  const std::uint64_t key = rng.next_key();
  const Tensor<T> xv = x.value().contiguous();
  Tensor<T> y(x.shape());
  detail::apply_dropout_mask<false>(y.data(), xv.data(), y.numel(), p, key);
  return record_op(
      std::move(y),
      [&] {
        auto* n = new detail::DropoutNode<T>();
        n->x = x;
        n->p = p;
        n->key = key;
        return n;
      },
      x);
}

}  // namespace electra::ops
