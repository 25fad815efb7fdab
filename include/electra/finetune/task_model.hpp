// A pretrained discriminator without its replaced-token head, plus one fine-tuning head
// (official finetune/classification/classification_tasks.py and qa/qa_tasks.py; HuggingFace
// names so that checkpoints move both ways):
//
//   encoder      "electra.embeddings.*", "electra.embeddings_project.*", "electra.encoder.*"
//   official     y = classifier(dropout(h[:,0]))                          [B,T,H] -> [B,K]
//                "classifier.{weight,bias}", Glorot-uniform (tf.layers.dense's default);
//                the official model has no pooler: get_pooled_output() is h[:, 0]
//   hf           y = out_proj(dropout(gelu(dense(dropout(h[:,0])))))      [B,T,H] -> [B,K]
//                HuggingFace's ElectraClassificationHead: "classifier.dense.*",
//                "classifier.out_proj.*", so HF fine-tuned checkpoints load
//   span         (start, end) = split(qa_outputs(h), last axis)           [B,T,H] -> 2 × [B,T]
//                "qa_outputs.{weight,bias}" as HF ElectraForQuestionAnswering
//
// Pooling (classification heads): h[:,0] as both references (`cls`, the default), or the mean
// of h over the unpadded positions (`mean`: pool[b] = Σ_t mask[b,t]·h[b,t] / Σ_t mask[b,t]),
// our addition for small pretrained encoders whose [CLS] state no pretraining loss shapes
// (docs/finetuning.md). It adds no parameters, so checkpoints are the same either way.
//
// K is the number of labels, or 1 for a regression task (STS-B).
#pragma once
#include <cstdint>
#include <string>

#include "../model/electra.hpp"
#include "../ops/dropout.hpp"
#include "../ops/matmul.hpp"

namespace electra::finetune {

enum class HeadKind { official, hf, span };
enum class Pooling { cls, mean };

inline HeadKind head_kind_from(const std::string& name) {
  if (name == "official") return HeadKind::official;
  if (name == "hf") return HeadKind::hf;
  if (name == "span") return HeadKind::span;
  ELECTRA_CHECK(false, value_error, "unknown head '", name, "' (official, hf or span)");
  return HeadKind::official;
}

inline Pooling pooling_from(const std::string& name) {
  if (name == "cls") return Pooling::cls;
  if (name == "mean") return Pooling::mean;
  ELECTRA_CHECK(false, value_error, "unknown pooling '", name, "' (cls or mean)");
  return Pooling::cls;
}

inline const char* pooling_name(Pooling p) { return p == Pooling::mean ? "mean" : "cls"; }

// What a classification or span head returns: logits [B,K], or start/end logits [B,T].
template <class T>
struct HeadOutput {
  Var<T> logits;      // classification / regression
  Var<T> start, end;  // span
};

template <class T>
class TaskModel {
 public:
  model::EncoderDims dims;
  HeadKind head_kind;
  Pooling pooling;
  index_t num_outputs;  // K (1 for regression); 2 for the span head
  model::Embeddings<T> embeddings;
  model::Encoder<T> encoder;
  nn::Linear<T> classifier;        // official: H -> K; hf: out_proj H -> K; span: H -> 2
  nn::Linear<T> classifier_dense;  // hf only: H -> H

  TaskModel(const model::EncoderDims& d, HeadKind kind, index_t k, Rng& rng, Pooling pool = Pooling::cls)
      : dims((d.validate("fine-tuning encoder"), d)),
        head_kind(kind),
        pooling(pool),
        num_outputs(kind == HeadKind::span ? 2 : k) {
    ELECTRA_CHECK(num_outputs >= 1, value_error, "a task head needs at least one output, got ", k);
    embeddings = model::Embeddings<T>(d, rng);
    encoder = model::Encoder<T>(d, rng);
    if (kind == HeadKind::hf) {
      // HF initialises every Linear with N(0, 0.02) (_init_weights); our truncated normal is the
      // official initializer at the same range.
      classifier_dense = nn::Linear<T>(d.hidden, d.hidden, rng);
      classifier = nn::Linear<T>(d.hidden, num_outputs, rng);
    } else if (kind == HeadKind::official) {
      classifier = nn::Linear<T>(d.hidden, num_outputs, rng, nn::Init::glorot_uniform);
    } else {
      classifier = nn::Linear<T>(d.hidden, 2, rng);  // HF qa_outputs: N(0, 0.02)
    }
  }

  // ids, token_types, input_mask: [B,T] -> [B,T,H]
  Var<T> hidden(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& token_types,
                const Tensor<std::int32_t>& input_mask, Rng& rng, bool training) const {
    ELECTRA_CHECK(ids.rank() == 2 && input_mask.shape() == ids.shape(), shape_error, "input mask ",
                  input_mask.shape().to_string(), " does not match token ids ", ids.shape().to_string(),
                  " (both must be [B,T])");
    return encoder(embeddings(ids, token_types, rng, training), model::key_mask_from<T>(input_mask), rng, training);
  }

  HeadOutput<T> operator()(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& token_types,
                           const Tensor<std::int32_t>& input_mask, Rng& rng, bool training) const {
    const Var<T> h = hidden(ids, token_types, input_mask, rng, training);
    HeadOutput<T> out;
    if (head_kind == HeadKind::span) {
      const index_t B = h.shape()[0], T_ = h.shape()[1];
      const Var<T> both = classifier(h);  // [B,T,2]
      out.start = ops::reshape(ops::slice(both, 2, 0, 1), {B, T_});
      out.end = ops::reshape(ops::slice(both, 2, 1, 1), {B, T_});
      return out;
    }
    Var<T> x = pooling == Pooling::mean ? mean_over_tokens(h, input_mask) : first_token(h);  // [B,H]
    const T p = T(dims.hidden_dropout);
    x = ops::dropout(x, p, rng, training);
    if (head_kind == HeadKind::hf) x = ops::dropout(ops::gelu(classifier_dense(x)), p, rng, training);
    out.logits = classifier(x);  // [B,K]
    return out;
  }

  // h[:, 0]: rows b·T of the flattened [B·T, H].   [B,T,H] -> [B,H]
  static Var<T> first_token(const Var<T>& h) {
    const index_t B = h.shape()[0], T_ = h.shape()[1], H = h.shape()[2];
    Tensor<std::int32_t> first({B});
    for (index_t b = 0; b < B; ++b) first.at(b) = std::int32_t(b * T_);
    return ops::gather_rows(ops::reshape(h, {B * T_, H}), first);
  }

  // pool[b] = Σ_t w[b,t]·h[b,t] with w = mask / Σ mask, as one batched product
  // w[B,1,T] · h[B,T,H] -> [B,1,H].   [B,T,H], mask [B,T] -> [B,H]
  static Var<T> mean_over_tokens(const Var<T>& h, const Tensor<std::int32_t>& input_mask) {
    const index_t B = h.shape()[0], T_ = h.shape()[1], H = h.shape()[2];
    Tensor<T> w({B, 1, T_});
    for (index_t b = 0; b < B; ++b) {
      index_t n = 0;
      for (index_t t = 0; t < T_; ++t) n += input_mask.at(b, t) != 0;
      ELECTRA_CHECK(n > 0, value_error, "mean pooling: example ", b, " of the batch has no unpadded token");
      for (index_t t = 0; t < T_; ++t) w.at(b, 0, t) = input_mask.at(b, t) != 0 ? T(1) / T(n) : T(0);
    }
    return ops::reshape(ops::matmul(Var<T>(std::move(w)), h), {B, H});
  }

  // The encoder's tensors in HuggingFace's names (what a pretrained discriminator provides).
  nn::ParameterList<T> encoder_parameters() const {
    nn::ParameterList<T> out;
    embeddings.collect("electra.embeddings", out);
    encoder.collect("electra", out);
    return out;
  }

  nn::ParameterList<T> head_parameters() const {
    nn::ParameterList<T> out;
    if (head_kind == HeadKind::hf) {
      classifier_dense.collect("classifier.dense", out);
      classifier.collect("classifier.out_proj", out);
    } else {
      classifier.collect(head_kind == HeadKind::span ? "qa_outputs" : "classifier", out);
    }
    return out;
  }

  nn::ParameterList<T> parameters() const {
    nn::ParameterList<T> out = encoder_parameters();
    for (auto& p : head_parameters()) out.push_back(std::move(p));
    return out;
  }
};

}  // namespace electra::finetune
