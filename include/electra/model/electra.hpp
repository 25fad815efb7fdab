// An ELECTRA model: generator and discriminator encoders over one shared embedding block,
// with their pretraining heads (official run_pretraining.py; HuggingFace layout).
//   ElectraModel<T>         runtime sizes (ElectraDims); all model code lives here
//   Electra<D, G, T>        the compile-time face: Electra<config::Small> model(rng);
//
// Parameter lists, each in a stable order:
//   discriminator_parameters()  exactly HuggingFace ElectraForPreTraining's names
//   generator_parameters()      exactly ElectraForMaskedLM's (the tied lm_head weight omitted)
//   parameters()                every tensor once: "discriminator.<name>", and the generator's
//                               own tensors as "generator.<name>" (the shared embeddings appear
//                               once, under the discriminator) — what optimizers and
//                               checkpoints use.
#pragma once
#include <cstdint>

#include "embeddings.hpp"
#include "encoder.hpp"
#include "heads.hpp"

namespace electra::model {

// input_mask [B,T] (1 real, 0 pad) as the attention key mask in T.
template <class T>
Tensor<T> key_mask_from(const Tensor<std::int32_t>& input_mask) {
  Tensor<T> m(input_mask.shape());
  for (index_t i = 0; i < m.numel(); ++i) m.data()[i] = input_mask.flat(i) ? T(1) : T(0);
  return m;
}

template <class T>
class ElectraModel {
 public:
  ElectraDims dims;
  Embeddings<T> embeddings;
  Encoder<T> generator, discriminator;
  GeneratorHead<T> generator_head;
  DiscriminatorHead<T> discriminator_head;

  ElectraModel(const ElectraDims& d, Rng& rng) : dims((d.validate(), d)) {
    embeddings = Embeddings<T>(d.discriminator, rng);
    generator = Encoder<T>(d.generator, rng);
    generator_head = GeneratorHead<T>(d.generator, rng);
    discriminator = Encoder<T>(d.discriminator, rng);
    discriminator_head = DiscriminatorHead<T>(d.discriminator, rng);
  }

  // The discriminator's last hidden states. ids, token_types, input_mask: [B,T] -> [B,T,H]
  Var<T> discriminator_hidden(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& token_types,
                              const Tensor<std::int32_t>& input_mask, Rng& rng, bool training) const {
    check_batch(ids, input_mask);
    return discriminator(embeddings(ids, token_types, rng, training), key_mask_from<T>(input_mask), rng, training);
  }

  // Replaced-token-detection logits, one per token: [B,T]
  Var<T> discriminate(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& token_types,
                      const Tensor<std::int32_t>& input_mask, Rng& rng, bool training) const {
    return discriminator_head(discriminator_hidden(ids, token_types, input_mask, rng, training));
  }

  // Generator logits at the given positions only. positions [B,N] -> [B·N, V]
  Var<T> generate(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& token_types,
                  const Tensor<std::int32_t>& input_mask, const Tensor<std::int32_t>& positions, Rng& rng,
                  bool training) const {
    check_batch(ids, input_mask);
    const index_t B = ids.shape()[0], T_ = ids.shape()[1];
    ELECTRA_CHECK(positions.rank() == 2 && positions.shape()[0] == B, shape_error, "generator: positions ",
                  positions.shape().to_string(), " do not match the batch ", ids.shape().to_string());
    const Var<T> hidden =
        generator(embeddings(ids, token_types, rng, training), key_mask_from<T>(input_mask), rng, training);
    Tensor<std::int32_t> rows({positions.numel()});
    for (index_t b = 0; b < B; ++b)
      for (index_t k = 0; k < positions.shape()[1]; ++k) {
        const std::int32_t p = positions.at(b, k);
        ELECTRA_CHECK(p >= 0 && p < T_, index_error, "generator: position ", p, " in row ", b,
                      " is outside the sequence of length ", T_);
        rows.at(b * positions.shape()[1] + k) = std::int32_t(b * T_ + p);
      }
    const Var<T> flat = ops::reshape(hidden, {B * T_, dims.generator.hidden});
    return generator_head(ops::gather_rows(flat, rows), embeddings.word);
  }

  nn::ParameterList<T> discriminator_parameters() const {
    nn::ParameterList<T> out;
    embeddings.collect("electra.embeddings", out);
    discriminator.collect("electra", out);
    discriminator_head.collect(out);
    return out;
  }

  nn::ParameterList<T> generator_parameters() const {
    nn::ParameterList<T> out;
    embeddings.collect("electra.embeddings", out);
    for (auto& p : generator_own_parameters()) out.push_back(std::move(p));
    return out;
  }

  nn::ParameterList<T> parameters() const {
    nn::ParameterList<T> out;
    for (auto& p : discriminator_parameters()) out.push_back({"discriminator." + p.name, p.var});
    for (auto& p : generator_own_parameters()) out.push_back({"generator." + p.name, p.var});
    return out;
  }

 private:
  // The generator's tensors without the shared embedding block.
  nn::ParameterList<T> generator_own_parameters() const {
    nn::ParameterList<T> out;
    generator.collect("electra", out);
    generator_head.collect(out);
    return out;
  }

  static void check_batch(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& input_mask) {
    ELECTRA_CHECK(ids.rank() == 2 && input_mask.shape() == ids.shape(), shape_error, "input mask ",
                  input_mask.shape().to_string(), " does not match token ids ", ids.shape().to_string(),
                  " (both must be [B,T])");
  }
};

template <config::EncoderConfig D, config::EncoderConfig G = config::generator_of<D>, class T = float>
class Electra : public ElectraModel<T> {
 public:
  using discriminator_config = D;
  using generator_config = G;
  explicit Electra(Rng& rng) : ElectraModel<T>(electra_dims_of<D, G>(), rng) {}
};

}  // namespace electra::model
