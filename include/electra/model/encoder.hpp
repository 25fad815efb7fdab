// The BERT encoder (post-LayerNorm), one per ELECTRA network:
//   x = embeddings_project(e)        only when E ≠ H (Glorot-uniform, as the official code)
//   per layer:
//     a = LayerNorm(x + dropout(W_o · attention(W_q x, W_k x, W_v x, mask)))
//     x = LayerNorm(a + dropout(W_2 · gelu(W_1 a)))
// Names follow HuggingFace: electra.embeddings_project, electra.encoder.layer.N.{attention.
// self.{query,key,value}, attention.output.{dense,LayerNorm}, intermediate.dense,
// output.{dense,LayerNorm}}.
#pragma once
#include <string>
#include <vector>

#include "../nn/layers.hpp"
#include "../ops/arithmetic.hpp"
#include "../ops/attention.hpp"
#include "../ops/dropout.hpp"
#include "../ops/gelu.hpp"
#include "config.hpp"

namespace electra::model {

template <class T>
struct EncoderLayer {
  nn::Linear<T> query, key, value, attention_output, intermediate, output;
  nn::LayerNorm<T> attention_norm, output_norm;
  index_t heads = 1;
  double dropout = 0.1, attention_dropout = 0.1;

  EncoderLayer() = default;
  EncoderLayer(const EncoderDims& d, Rng& rng)
      : query(d.hidden, d.hidden, rng),
        key(d.hidden, d.hidden, rng),
        value(d.hidden, d.hidden, rng),
        attention_output(d.hidden, d.hidden, rng),
        intermediate(d.hidden, d.ffn, rng),
        output(d.ffn, d.hidden, rng),
        attention_norm(d.hidden, d.layer_norm_eps),
        output_norm(d.hidden, d.layer_norm_eps),
        heads(d.heads),
        dropout(d.hidden_dropout),
        attention_dropout(d.attention_dropout) {}

  // x [B,T,H], key_mask [B,T] (1 real, 0 pad) -> [B,T,H]
  Var<T> operator()(const Var<T>& x, const Tensor<T>& key_mask, Rng& rng, bool training) const {
    const Var<T> context =
        ops::attention(query(x), key(x), value(x), heads, key_mask, T(attention_dropout), rng, training);
    const Var<T> a = attention_norm(ops::add(x, ops::dropout(attention_output(context), T(dropout), rng, training)));
    const Var<T> f = output(ops::gelu(intermediate(a)));
    return output_norm(ops::add(a, ops::dropout(f, T(dropout), rng, training)));
  }

  void collect(const std::string& prefix, nn::ParameterList<T>& out) const {
    query.collect(prefix + ".attention.self.query", out);
    key.collect(prefix + ".attention.self.key", out);
    value.collect(prefix + ".attention.self.value", out);
    attention_output.collect(prefix + ".attention.output.dense", out);
    attention_norm.collect(prefix + ".attention.output.LayerNorm", out);
    intermediate.collect(prefix + ".intermediate.dense", out);
    output.collect(prefix + ".output.dense", out);
    output_norm.collect(prefix + ".output.LayerNorm", out);
  }
};

template <class T>
struct Encoder {
  EncoderDims dims;
  bool has_projection = false;
  nn::Linear<T> embeddings_project;  // E -> H when E ≠ H
  std::vector<EncoderLayer<T>> layers;

  Encoder() = default;
  Encoder(const EncoderDims& d, Rng& rng) : dims(d), has_projection(d.embed != d.hidden) {
    if (has_projection) embeddings_project = nn::Linear<T>(d.embed, d.hidden, rng, nn::Init::glorot_uniform);
    for (index_t i = 0; i < d.layers; ++i) layers.emplace_back(d, rng);
  }

  // embedded [B,T,E], key_mask [B,T] -> [B,T,H]
  Var<T> operator()(const Var<T>& embedded, const Tensor<T>& key_mask, Rng& rng, bool training) const {
    Var<T> x = has_projection ? embeddings_project(embedded) : embedded;
    for (const auto& layer : layers) x = layer(x, key_mask, rng, training);
    return x;
  }

  // `model` is "electra" in HuggingFace's layout.
  void collect(const std::string& model, nn::ParameterList<T>& out) const {
    if (has_projection) embeddings_project.collect(model + ".embeddings_project", out);
    for (std::size_t i = 0; i < layers.size(); ++i) layers[i].collect(model + ".encoder.layer." + std::to_string(i), out);
  }
};

}  // namespace electra::model
