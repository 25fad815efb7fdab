// FLOPs counting for pre-training and running transformer encoders, reproducing the ELECTRA
// paper's numbers digit for digit.
// Source: google-research/electra, flops_computation.py (commit 62e478a6).
//
// Counting conventions (those of the official script, kept even where they are rough):
//  - One "FLOP" is one mathematical operation: an add, a multiply, an exp, a tanh all count 1.
//    A matrix multiply [m, k] x [k, n] counts 2·m·k·n (multiply and add, no fused-FMA discount).
//  - Element-wise costs per activation: dropout 4 (random number, compare, mask, rescale),
//    layer norm 5 (mean, variance, normalise, scale, shift), GELU 8, softmax 5.
//  - Embedding lookups are dense: a one-hot [v] row times the [v, e] table, 2·e·v per token
//    (unless sparse_embed_lookup). Position and token-type lookups likewise cost 2·e·(s + 2).
//  - Every term below is a per-token count; blocks and embeddings are multiplied by s.
//  - Backward costs the same as forward, so training = 2 × forward (not 3 ×).
//  - Quirk kept for parity: attn_output_layer_norm is LAYER_NORM_FLOPS · attn_mul, missing the
//    factor h that output_layer_norm has (an under-count of 5·(h − 1) per token per block).
//  - The MLM output head runs on output_frac of the tokens (0.15625 by default); the ELECTRA
//    discriminator's binary head runs on all s tokens.
//  - Integer-valued counts are exact (Python ints): we keep them in doubles and refuse any
//    integer total of 2^53 or more, where a double would stop being exact.
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"

namespace electra::flops {

inline constexpr double DROPOUT_FLOPS = 4;     // random number, >=, apply mask, 1/(1-p) rescale
inline constexpr double LAYER_NORM_FLOPS = 5;  // mean, variance (square, sum), shift, scale
inline constexpr double ACTIVATION_FLOPS = 8;  // GELU, tanh form
inline constexpr double SOFTMAX_FLOPS = 5;     // max-subtract, exp, sum, divide

namespace detail {
inline constexpr double kExactLimit = 9007199254740992.0;  // 2^53
// An integer count, checked to be below 2^53 so that it equals the script's Python int.
inline double exact(double n, const char* what) {
  ELECTRA_CHECK(n < kExactLimit, value_error, "flops: ", what, " = ", n,
                " reaches 2^53; integer counts would no longer be exact");
  return n;
}
inline std::int64_t positive(std::int64_t n, const char* what) {
  ELECTRA_CHECK(n >= 1, value_error, "flops: ", what, " must be >= 1, got ", n);
  return n;
}
}  // namespace detail

// The optional arguments of TransformerHparams(h, l, ...), in its order and with its defaults.
// Use designated initialisers: TransformerHparams(256, 12, {.s = 128, .e = 128}).
struct TransformerOptions {
  std::int64_t s = 512;                     // sequence length
  std::int64_t v = 30522;                   // vocabulary size
  std::optional<std::int64_t> e{};          // embedding size; default h
  std::optional<std::int64_t> i{};          // FFN intermediate size; default 4·h
  std::optional<std::int64_t> heads{};      // attention heads; default max(h / 64, 1)
  std::optional<std::int64_t> head_size{};  // per-head size; needs heads; default h / heads
  double output_frac = 0.15625;             // fraction of tokens fed to the output softmax
  bool sparse_embed_lookup = false;         // true: input lookup is a gather, not a matmul
  bool decoder = false;                     // decoder: extra attention over encoder states
};

class TransformerHparams {
 public:
  // Mirrors TransformerHparams.__init__. Besides what the script requires, rejects sizes < 1,
  // output_frac outside [0, 1], and explicit heads (without head_size) that do not divide h.
  TransformerHparams(std::int64_t h, std::int64_t l, const TransformerOptions& o = {})
      : h_(detail::positive(h, "hidden size h")), l_(detail::positive(l, "number of layers l")),
        s_(detail::positive(o.s, "sequence length s")), v_(detail::positive(o.v, "vocab size v")),
        e_(detail::positive(o.e.value_or(h), "embedding size e")),
        i_(detail::positive(o.i.value_or(4 * h), "intermediate size i")),
        heads_(detail::positive(o.heads.value_or(h / 64 > 1 ? h / 64 : 1), "heads")),
        output_frac_(o.output_frac), sparse_embed_lookup_(o.sparse_embed_lookup), decoder_(o.decoder) {
    ELECTRA_CHECK(!o.head_size || o.heads, value_error, "flops: head_size ", o.head_size.value_or(0),
                  " given without heads");
    ELECTRA_CHECK(o.head_size || !o.heads || h % heads_ == 0, value_error, "flops: hidden size h ", h,
                  " is not divisible by heads ", heads_);
    ELECTRA_CHECK(output_frac_ >= 0.0 && output_frac_ <= 1.0, value_error,
                  "flops: output_frac must lie in [0, 1], got ", output_frac_);
    kqv_ = o.head_size ? detail::positive(*o.head_size, "head_size") * heads_ : h;
  }

  std::int64_t h() const { return h_; }
  std::int64_t l() const { return l_; }
  std::int64_t s() const { return s_; }
  std::int64_t v() const { return v_; }
  std::int64_t e() const { return e_; }
  std::int64_t i() const { return i_; }
  std::int64_t kqv() const { return kqv_; }  // width of each of the k, q, v projections
  std::int64_t heads() const { return heads_; }
  double output_frac() const { return output_frac_; }
  bool sparse_embed_lookup() const { return sparse_embed_lookup_; }
  bool decoder() const { return decoder_; }

  // Forward FLOPs of one transformer block over all s tokens (an integer).
  double get_block_flops() const {
    const double h = double(h_), s = double(s_), i = double(i_), kqv = double(kqv_), n = double(heads_);
    const double m = decoder_ ? 2 : 1;  // attn_mul: a decoder block has two attention layers
    const double per_token =
        3 * 2 * h * kqv * m                // kqv: three [h] x [h, kqv] projections
        + 3 * kqv * m                      // kqv_bias
        + 2 * kqv * s * m                  // attention_scores: q · k against s keys, all heads
        + SOFTMAX_FLOPS * s * n * m        // attn_softmax over s scores per head
        + DROPOUT_FLOPS * s * n * m        // attention_dropout on the probabilities
        + s * n * m                        // attention_scale: scores / sqrt(head size)
        + 2 * h * s * m                    // attention_weighted_avg_values: probs x [s, kqv]
        + 2 * h * h * m                    // attn_output: [h] x [h, h] (uses h, not kqv)
        + h * m                            // attn_output_bias
        + DROPOUT_FLOPS * h * m            // attn_output_dropout
        + h * m                            // attn_output_residual
        + LAYER_NORM_FLOPS * m             // attn_output_layer_norm: official under-count, no h
        + 2 * h * i                        // intermediate: [h] x [h, i]
        + ACTIVATION_FLOPS * i             // intermediate_act (GELU)
        + i                                // intermediate_bias
        + 2 * h * i                        // output: [i] x [i, h]
        + h                                // output_bias
        + DROPOUT_FLOPS * h                // output_dropout
        + h                                // output_residual
        + LAYER_NORM_FLOPS * h;            // output_layer_norm
    return detail::exact(per_token * s, "block FLOPs");
  }

  // Forward FLOPs of the input embedding (output = false, an integer) or of the MLM output head
  // (output = true: a real number, scaled by output_frac), over all s tokens.
  double get_embedding_flops(bool output = false) const {
    const double h = double(h_), s = double(s_), e = double(e_), v = double(v_);
    double per_token = 0;
    if (output || !sparse_embed_lookup_) per_token += 2 * e * v;  // main_multiply: [v] x [v, e]
    if (!output)
      per_token += 2 * e * (s + 2)           // tok_type_and_position: dense [s] and [2] tables
                   + 2 * e                   // add_tok_type_and_position
                   + LAYER_NORM_FLOPS * e    // emb_layer_norm
                   + DROPOUT_FLOPS * e;      // emb_dropout
    if (e_ != h_ || output) {
      per_token += 2 * h * e                 // hidden_kernel: e -> h in, h -> e out
                   + (output ? e : h);       // hidden_bias
      if (output) {
        per_token += ACTIVATION_FLOPS * e    // hidden_activation
                     + LAYER_NORM_FLOPS * e  // hidden_layernorm
                     + SOFTMAX_FLOPS * v     // output_softmax over the vocabulary
                     + 2 * v;                // output_target_word
        // The script computes output_frac * sum * s in that order; we keep its rounding.
        return output_frac_ * detail::exact(per_token, "output head FLOPs per token") * s;
      }
    }
    return detail::exact(per_token * s, "embedding FLOPs");
  }

  // Forward FLOPs of a binary classifier on every token: dense h -> h, GELU, logit (an integer).
  double get_binary_classification_flops() const {
    const double h = double(h_);
    const double per_token = 2 * h * h       // hidden
                             + h             // hidden_bias
                             + ACTIVATION_FLOPS * h  // hidden_act
                             + 2 * h;        // logits
    return detail::exact(per_token * double(s_), "classifier FLOPs");
  }

  // Pre-training FLOPs: 2 (forward + equal backward) · batch_size · train_steps · forward FLOPs
  // of one sequence. The head is the MLM softmax, or the binary head when discriminator.
  // Where the script returns a Python int, this is float() of it (correctly rounded).
  double get_train_flops(double batch_size, double train_steps, bool discriminator = false) const {
    ELECTRA_CHECK(std::isfinite(batch_size) && batch_size > 0, value_error,
                  "flops: batch_size must be positive, got ", batch_size);
    ELECTRA_CHECK(std::isfinite(train_steps) && train_steps > 0, value_error,
                  "flops: train_steps must be positive, got ", train_steps);
    const double examples = detail::exact(2 * batch_size * train_steps, "2 * batch_size * train_steps");
    const double body = detail::exact(double(l_) * get_block_flops() + get_embedding_flops(false),
                                      "encoder FLOPs");
    const double head = discriminator ? get_binary_classification_flops() : get_embedding_flops(true);
    const double forward = discriminator ? detail::exact(body + head, "forward FLOPs") : body + head;
    return examples * forward;  // one rounding, as float(exact int product) or the float product
  }

  // Forward FLOPs of one sequence for a token-level classification task (an integer).
  double get_infer_flops() const {
    return detail::exact(double(l_) * get_block_flops() + get_embedding_flops(false) +
                             get_binary_classification_flops(),
                         "inference FLOPs");
  }

 private:
  std::int64_t h_, l_, s_, v_, e_, i_, heads_, kqv_ = 0;
  double output_frac_;
  bool sparse_embed_lookup_, decoder_;
};

// ELECTRA pre-training: discriminator (binary head, embedding size e, default h_d) plus generator
// (MLM head; shares the discriminator's embedding size when tied_embeddings, else its own h_g).
inline double get_electra_train_flops(std::int64_t h_d, std::int64_t l_d, std::int64_t h_g, std::int64_t l_g,
                                      double batch_size, double train_steps, bool tied_embeddings,
                                      std::optional<std::int64_t> e = std::nullopt, std::int64_t s = 512,
                                      double output_frac = 0.15625) {
  const std::int64_t emb = e.value_or(h_d);
  const double disc = TransformerHparams(h_d, l_d, {.s = s, .e = emb, .output_frac = output_frac})
                          .get_train_flops(batch_size, train_steps, true);
  const double gen = TransformerHparams(h_g, l_g,
                                         {.s = s, .e = tied_embeddings ? std::optional(emb) : std::nullopt,
                                          .output_frac = output_frac})
                         .get_train_flops(batch_size, train_steps);
  return disc + gen;
}

// Prints a double exactly as Python 3's repr()/print() of a float does: the shortest digits that
// round-trip, in scientific notation ("1e+16", "1e-05") when the decimal exponent is >= 16 or
// < -4, else positional with ".0" appended to integral values.
inline std::string format_python_float(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string_view sci(buf, std::size_t(res.ptr - buf));  // "[-]d[.ddd]e(+|-)xx"
  std::string out;
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos))
    if (c != '.') digits += c;
  const int exp10 = std::atoi(std::string(sci.substr(epos + 1)).c_str());
  const int n = int(digits.size());
  if (exp10 < -4 || exp10 >= 16) {
    out += digits.substr(0, 1);
    if (n > 1) out += '.' + digits.substr(1);
    const int a = std::abs(exp10);
    out += exp10 < 0 ? "e-" : "e+";
    out += (a < 10 ? "0" : "") + std::to_string(a);
  } else if (exp10 < 0) {
    out += "0." + std::string(std::size_t(-exp10 - 1), '0') + digits;
  } else if (n <= exp10 + 1) {
    out += digits + std::string(std::size_t(exp10 + 1 - n), '0') + ".0";
  } else {
    out += digits.substr(0, std::size_t(exp10 + 1)) + '.' + digits.substr(std::size_t(exp10 + 1));
  }
  return out;
}

struct NamedModel {
  std::string name;    // key in the script's MODEL_FLOPS
  double train_flops;  // total pre-training FLOPs, as the script computes them (all Python floats)
};

// The script's MODEL_FLOPS table, in its order. elmo and xlnet were measured with TensorFlow's
// profiler, not counted by this method; the script only scales them to the full training run.
inline std::vector<NamedModel> named_models() {
  using th = TransformerHparams;
  const th t5_encoder(1024, 24, {.v = 32000, .i = 65536, .heads = 128, .head_size = 128, .output_frac = 0.0});
  const th t5_decoder(1024, 24,
                      {.v = 32000, .i = 65536, .heads = 128, .head_size = 128, .output_frac = 1.0, .decoder = true});
  return {
      // 768648884 LM1B words, 10 epochs, batch 20 of length 128, 568093262680 FLOPs per example.
      {"elmo", (2.0 * 10 * 768648884) * 568093262680.0 / (20.0 * 128)},
      // 15064773691518 FLOPs per forward pass on 32 examples; 500k steps of batch 8192.
      {"xlnet", (2.0 * 500000 * 8192) * 15064773691518.0 / 32.0},
      {"gpt", th(768, 12, {.v = 40000, .output_frac = 1.0}).get_train_flops(128, 960800)},
      {"bert_small", th(256, 12, {.s = 128, .e = 128}).get_train_flops(128, 1.45e6)},
      {"bert_base", th(768, 12).get_train_flops(256, 1e6)},
      {"bert_large", th(1024, 24).get_train_flops(256, 1e6)},
      {"electra_small", get_electra_train_flops(256, 12, 64, 12, 128, 1e6, true, 128, 128)},
      {"electra_base", get_electra_train_flops(768, 12, 256, 12, 256, 766000, true)},
      {"electra_400k", get_electra_train_flops(1024, 24, 256, 24, 2048, 400000, true)},
      {"electra_1.75M", get_electra_train_flops(1024, 24, 256, 24, 2048, 1750000, true)},
      {"roberta", th(1024, 24, {.v = 50265}).get_train_flops(8000, 500000)},
      {"albert", th(4096, 12, {.v = 30000, .e = 128}).get_train_flops(4096, 1.5e6)},
      {"t5_11b", t5_encoder.get_train_flops(2048, 1e6) + t5_decoder.get_train_flops(2048, 1e6)},
  };
}

// What the script's main() prints: one "name total" line per model.
inline std::string model_flops_report() {
  std::string out;
  for (const auto& m : named_models()) out += m.name + ' ' + format_python_float(m.train_flops) + '\n';
  return out;
}

}  // namespace electra::flops
