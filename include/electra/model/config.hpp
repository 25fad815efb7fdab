// Model configurations, fixed at compile time. A config is a struct of static constexpr
// sizes; `generator_of<D, Num, Den>` derives ELECTRA's generator from a discriminator the way
// the official get_generator_config() does (run_pretraining.py):
//   hidden = round(hidden_d · Num/Den), heads = max(1, hidden / 64), ffn = 4 · hidden,
//   same layers, same embedding size and vocabulary.
// The model code itself runs on `EncoderDims`, the runtime copy of a config, so adding a
// config costs no compile time; the concept below checks every config at compile time.
#pragma once
#include <string>

#include "../core/config.hpp"
#include "../core/error.hpp"

namespace electra::config {

template <class C>
concept EncoderConfig = requires {
  { C::vocab } -> std::convertible_to<index_t>;
  { C::max_pos } -> std::convertible_to<index_t>;
  { C::type_vocab } -> std::convertible_to<index_t>;
  { C::layers } -> std::convertible_to<index_t>;
  { C::hidden } -> std::convertible_to<index_t>;
  { C::embed } -> std::convertible_to<index_t>;
  { C::heads } -> std::convertible_to<index_t>;
  { C::ffn } -> std::convertible_to<index_t>;
} && C::vocab > 0 && C::layers > 0 && C::hidden > 0 && C::embed > 0 && C::heads > 0 && C::ffn > 0 &&
                        C::max_pos > 0 && C::type_vocab > 0 && C::hidden % C::heads == 0;

// Discriminators (paper Table 6; vocab 30522 = BERT uncased). `generator_num/den` is the
// generator's hidden-size fraction used by the official configs.
struct Tiny {  // for tests and demos
  static constexpr const char* name = "tiny";
  static constexpr index_t vocab = 30522, max_pos = 512, type_vocab = 2;
  static constexpr index_t layers = 2, hidden = 64, embed = 32, heads = 1, ffn = 256;
  static constexpr int generator_num = 1, generator_den = 4;
};
// Mini (ours): near the compute-optimal size for the 1e14–1e15 FLOPs that 2 CPU cores give in
// 10 minutes to 2 hours (Chinchilla's N ≈ √(C/120) non-embedding parameters: 0.9M to 2.9M;
// Mini has 0.8M, Tiny 0.1M); head size 64 and embedding = hidden / 2 as Small.
struct Mini {
  static constexpr const char* name = "mini";
  static constexpr index_t vocab = 30522, max_pos = 512, type_vocab = 2;
  static constexpr index_t layers = 4, hidden = 128, embed = 64, heads = 2, ffn = 512;
  static constexpr int generator_num = 1, generator_den = 4;
};
struct Small {
  static constexpr const char* name = "small";
  static constexpr index_t vocab = 30522, max_pos = 512, type_vocab = 2;
  static constexpr index_t layers = 12, hidden = 256, embed = 128, heads = 4, ffn = 1024;
  static constexpr int generator_num = 1, generator_den = 4;
};
struct Base {
  static constexpr const char* name = "base";
  static constexpr index_t vocab = 30522, max_pos = 512, type_vocab = 2;
  static constexpr index_t layers = 12, hidden = 768, embed = 768, heads = 12, ffn = 3072;
  static constexpr int generator_num = 1, generator_den = 3;
};
struct Large {
  static constexpr const char* name = "large";
  static constexpr index_t vocab = 30522, max_pos = 512, type_vocab = 2;
  static constexpr index_t layers = 24, hidden = 1024, embed = 1024, heads = 16, ffn = 4096;
  static constexpr int generator_num = 1, generator_den = 4;
};

// round(x · num / den) for non-negative integers, half away from zero like Python's int(round())
// on these exact fractions (no ties occur for the official sizes).
constexpr index_t scaled_round(index_t x, int num, int den) { return (2 * x * num + den) / (2 * den); }

template <EncoderConfig D, int Num = D::generator_num, int Den = D::generator_den>
struct generator_of {
  static constexpr const char* name = "generator";
  static constexpr index_t vocab = D::vocab, max_pos = D::max_pos, type_vocab = D::type_vocab;
  static constexpr index_t layers = D::layers, embed = D::embed;
  static constexpr index_t hidden = scaled_round(D::hidden, Num, Den);
  static constexpr index_t heads = hidden / 64 > 1 ? hidden / 64 : 1;
  static constexpr index_t ffn = 4 * hidden;
  static_assert(hidden > 0, "generator hidden size rounds to 0");
};

static_assert(EncoderConfig<Tiny> && EncoderConfig<Small> && EncoderConfig<Base> && EncoderConfig<Large>);
static_assert(generator_of<Small>::hidden == 64 && generator_of<Small>::heads == 1 && generator_of<Small>::ffn == 256);
static_assert(generator_of<Base>::hidden == 256 && generator_of<Base>::heads == 4);
static_assert(generator_of<Large>::hidden == 256 && generator_of<Large>::heads == 4);

}  // namespace electra::config

namespace electra::model {

// The runtime copy of an encoder config, plus the regularisation constants of BERT/ELECTRA.
struct EncoderDims {
  index_t vocab = 0, max_pos = 0, type_vocab = 0, layers = 0, hidden = 0, embed = 0, heads = 0, ffn = 0;
  double hidden_dropout = 0.1, attention_dropout = 0.1, layer_norm_eps = 1e-12;

  std::string to_string() const {
    return electra::detail::concat("vocab ", vocab, ", max positions ", max_pos, ", token types ", type_vocab,
                                   ", layers ", layers, ", hidden ", hidden, ", embedding ", embed, ", heads ", heads,
                                   ", ffn ", ffn);
  }
  void validate(const char* what) const {
    ELECTRA_CHECK(vocab > 0 && max_pos > 0 && type_vocab > 0 && layers > 0 && hidden > 0 && embed > 0 && heads > 0 &&
                      ffn > 0,
                  value_error, what, ": every size must be positive (", to_string(), ")");
    ELECTRA_CHECK(hidden % heads == 0, value_error, what, ": hidden ", hidden, " is not divisible by ", heads,
                  " heads");
  }
  friend bool operator==(const EncoderDims&, const EncoderDims&) = default;
};

template <config::EncoderConfig C>
constexpr EncoderDims dims_of() {
  EncoderDims d;
  d.vocab = C::vocab;
  d.max_pos = C::max_pos;
  d.type_vocab = C::type_vocab;
  d.layers = C::layers;
  d.hidden = C::hidden;
  d.embed = C::embed;
  d.heads = C::heads;
  d.ffn = C::ffn;
  return d;
}

// Discriminator and generator of one ELECTRA model. They share the embedding tables, so
// vocab, max_pos, type_vocab and embed must agree.
struct ElectraDims {
  EncoderDims discriminator, generator;
  void validate() const {
    discriminator.validate("discriminator");
    generator.validate("generator");
    ELECTRA_CHECK(discriminator.vocab == generator.vocab && discriminator.embed == generator.embed &&
                      discriminator.max_pos == generator.max_pos && discriminator.type_vocab == generator.type_vocab,
                  value_error, "generator and discriminator share embeddings, so vocab, embedding size, positions "
                  "and token types must agree (discriminator: ", discriminator.to_string(), "; generator: ",
                  generator.to_string(), ")");
  }
};

template <config::EncoderConfig D, config::EncoderConfig G = config::generator_of<D>>
constexpr ElectraDims electra_dims_of() {
  return {dims_of<D>(), dims_of<G>()};
}

// The generator of `discriminator` at hidden-size fraction `fraction`, at run time, as the
// official get_generator_config(): hidden = round(hidden_d · fraction), heads = max(1, hidden / 64),
// ffn = 4 · hidden; layers, embeddings and vocabulary as the discriminator's. A fraction of 1
// returns the discriminator's own sizes (heads and ffn included), which is the MLM baseline of
// the same size. Rounds half away from zero where Python rounds half to even (no tie occurs
// for the paper's fractions of power-of-two sizes).
inline EncoderDims generator_dims(const EncoderDims& discriminator, double fraction) {
  ELECTRA_CHECK(fraction > 0 && fraction <= 1, value_error, "generator size fraction must lie in (0, 1], got ",
                fraction);
  if (fraction == 1) return discriminator;
  EncoderDims g = discriminator;
  g.hidden = index_t(discriminator.hidden * fraction + 0.5);
  ELECTRA_CHECK(g.hidden >= 1, value_error, "a generator of ", fraction, " × hidden ", discriminator.hidden,
                " has no hidden units");
  g.heads = g.hidden / 64 > 1 ? g.hidden / 64 : 1;
  g.ffn = 4 * g.hidden;
  return g;
}

}  // namespace electra::model
