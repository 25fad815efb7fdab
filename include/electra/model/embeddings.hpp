// The embedding block shared by generator and discriminator (official modeling.py
// embedding_lookup + embedding_postprocessor; HuggingFace ElectraEmbeddings):
//   e = word[ids] + position[0..T) + token_type[types]      [B,T,E]
//   y = dropout(LayerNorm(e))
// Row 0 of the word table is the padding row: it receives no gradient (HF padding_idx).
#pragma once
#include <cstdint>

#include "../nn/layers.hpp"
#include "../ops/arithmetic.hpp"
#include "../ops/dropout.hpp"
#include "../ops/embedding.hpp"
#include "../ops/shape_ops.hpp"
#include "config.hpp"

namespace electra::model {

inline constexpr std::int32_t kPadId = 0;

template <class T>
struct Embeddings {
  Var<T> word;        // [V, E]
  Var<T> position;    // [max_pos, E]
  Var<T> token_type;  // [type_vocab, E]
  nn::LayerNorm<T> norm;
  double dropout = 0.1;

  Embeddings() = default;
  Embeddings(const EncoderDims& d, Rng& rng)
      : word(nn::make_parameter(nn::truncated_normal<T>({d.vocab, d.embed}, rng))),
        position(nn::make_parameter(nn::truncated_normal<T>({d.max_pos, d.embed}, rng))),
        token_type(nn::make_parameter(nn::truncated_normal<T>({d.type_vocab, d.embed}, rng))),
        norm(d.embed, d.layer_norm_eps),
        dropout(d.hidden_dropout) {}

  // ids, token_types: [B,T] (token_types may be undefined: all type 0) -> [B,T,E]
  Var<T> operator()(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& token_types, Rng& rng,
                    bool training) const {
    ELECTRA_CHECK(ids.rank() == 2, shape_error, "embeddings: token ids must be [B,T], got ", ids.shape().to_string());
    const index_t T_ = ids.shape()[1];
    ELECTRA_CHECK(T_ <= position.shape()[0], shape_error, "embeddings: sequence length ", T_,
                  " exceeds the model's ", position.shape()[0], " positions");
    Var<T> e = ops::add(ops::embedding(word, ids, kPadId), ops::slice(position, 0, 0, T_));
    const Tensor<std::int32_t> types = token_types.defined() ? token_types : zero_types(ids.shape());
    ELECTRA_CHECK(types.shape() == ids.shape(), shape_error, "embeddings: token types ", types.shape().to_string(),
                  " do not match token ids ", ids.shape().to_string());
    e = ops::add(e, ops::embedding(token_type, types));
    return ops::dropout(norm(e), T(dropout), rng, training);
  }

  void collect(const std::string& prefix, nn::ParameterList<T>& out) const {
    out.push_back({prefix + ".word_embeddings.weight", word});
    out.push_back({prefix + ".position_embeddings.weight", position});
    out.push_back({prefix + ".token_type_embeddings.weight", token_type});
    norm.collect(prefix + ".LayerNorm", out);
  }

 private:
  static Tensor<std::int32_t> zero_types(const Shape& s) { return Tensor<std::int32_t>::zeros(s); }
};

}  // namespace electra::model
