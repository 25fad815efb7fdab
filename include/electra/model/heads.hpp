// The two pretraining heads (official run_pretraining.py; HuggingFace names):
//   discriminator_predictions: logit = dense_prediction(gelu(dense(h)))     [B,T,H] -> [B,T]
//     dense: truncated normal; dense_prediction: Glorot-uniform (no initializer given there)
//   generator_predictions:     g = LayerNorm(gelu(dense(h)))                [M,H_g] -> [M,E]
//     logits = g · word_embeddingsᵀ + generator_lm_head.bias                [M,V]
// The generator's output layer is the transposed (shared) word-embedding table.
#pragma once
#include "../nn/layers.hpp"
#include "../ops/gelu.hpp"
#include "../ops/shape_ops.hpp"
#include "config.hpp"

namespace electra::model {

template <class T>
struct DiscriminatorHead {
  nn::Linear<T> dense, dense_prediction;

  DiscriminatorHead() = default;
  DiscriminatorHead(const EncoderDims& d, Rng& rng)
      : dense(d.hidden, d.hidden, rng), dense_prediction(d.hidden, 1, rng, nn::Init::glorot_uniform) {}

  // h [B,T,H] -> logits [B,T]
  Var<T> operator()(const Var<T>& h) const {
    const Var<T> logits = dense_prediction(ops::gelu(dense(h)));
    return ops::reshape(logits, {h.shape()[0], h.shape()[1]});
  }

  void collect(nn::ParameterList<T>& out) const {
    dense.collect("discriminator_predictions.dense", out);
    dense_prediction.collect("discriminator_predictions.dense_prediction", out);
  }
};

template <class T>
struct GeneratorHead {
  nn::Linear<T> dense;  // H_g -> E
  nn::LayerNorm<T> norm;
  Var<T> output_bias;   // [V]

  GeneratorHead() = default;
  GeneratorHead(const EncoderDims& d, Rng& rng)
      : dense(d.hidden, d.embed, rng),
        norm(d.embed, d.layer_norm_eps),
        output_bias(nn::make_parameter(Tensor<T>::zeros({d.vocab}))) {}

  // h [M,H_g], word_embeddings [V,E] -> logits [M,V]
  Var<T> operator()(const Var<T>& h, const Var<T>& word_embeddings) const {
    return ops::linear(norm(ops::gelu(dense(h))), word_embeddings, output_bias);
  }

  void collect(nn::ParameterList<T>& out) const {
    dense.collect("generator_predictions.dense", out);
    norm.collect("generator_predictions.LayerNorm", out);
    out.push_back({"generator_lm_head.bias", output_bias});
  }
};

}  // namespace electra::model
