// One ELECTRA pretraining step on the GPU, forward and backward, mirroring
// model/pretraining.hpp's pretraining_forward + loss.backward() (official run_pretraining.py):
//   1. masking                  on the host (model::mask_batch, the CPU's code and Rng draws)
//   2. generator                embeddings(masked ids) → encoder → rows at the masked positions →
//                               dense → gelu → LayerNorm → · word_embeddingsᵀ + bias   [B·N, V]
//                               mlm = Σ w·nll / (Σ w + 1e-6)
//   3. sampling                 Gumbel-max with the CPU's key and draws (or fixed samples)
//   4. discriminator            embeddings(fake ids) → encoder → dense → gelu → dense   [B·T]
//                               rtd = Σ_real BCE / (n_real + 1e-6)
//   5. loss = mlm_weight·mlm + rtd_weight·rtd, and its gradient into DeviceParameters::grads()
//      (accumulated: zero them before a step, as the CPU trainer zeroes its Vars)
// The Rng is consumed exactly as the CPU step consumes it, so both backends draw the same
// masks, dropout masks and Gumbel noise from one seed. Parameter names are
// ElectraModel::parameters()' ("discriminator.electra...", "generator.electra...").
// GEMMs run in the context's ComputeMode (matmul.cuh: fp32, tf32, or bf16 operands); everything
// else is fp32. Not here yet: the metrics beyond the losses (accuracies, AUC).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../../model/pretraining.hpp"
#include "bce_with_logits.cuh"
#include "cross_entropy.cuh"
#include "embeddings.cuh"
#include "sampling.cuh"

namespace electra::cuda {

// generator_predictions + generator_lm_head (model/heads.hpp GeneratorHead); the output layer
// is the shared word-embedding table.
struct DeviceGeneratorHead {
  DeviceLinear dense;  // H_g -> E
  DeviceLayerNorm norm;
  DeviceTensorRef output_bias, word;  // [V], [V, E]
  index_t hidden = 0, embed = 0, vocab = 0;

  struct Saved {
    const float* h = nullptr;  // [M, H_g]
    DeviceArray<float> dense_out, gelu_out, normed, logits;
    DeviceLayerNorm::Saved norm;
  };

  DeviceGeneratorHead() = default;
  DeviceGeneratorHead(const DeviceParameters& p, const model::EncoderDims& g, const DeviceTensorRef& word_embeddings)
      : dense(p, "generator.generator_predictions.dense", g.hidden, g.embed),
        norm(p, "generator.generator_predictions.LayerNorm", g.embed, g.layer_norm_eps),
        output_bias(parameter_ref(p, "generator.generator_lm_head.bias", {g.vocab})),
        word(word_embeddings),
        hidden(g.hidden),
        embed(g.embed),
        vocab(g.vocab) {}

  // h [M, H_g] -> s.logits [M, V]
  void forward(const DeviceContext& c, Saved& s, const float* h, index_t M) const {
    s.h = h;
    s.dense_out = dense.forward(c, h, M);
    s.gelu_out = c.floats(M * embed);
    gelu_forward(s.gelu_out.data(), s.dense_out.data(), M * embed, c.stream);
    s.normed = norm.forward(c, s.norm, s.gelu_out.data(), M);
    s.logits = c.floats(M * vocab);
    linear_forward(*c.gemm, c.mode, s.logits.data(), s.normed.data(), word.value, output_bias.value, M, embed, vocab,
                   c.stream, *c.allocator);
  }
  // dlogits [M, V] -> dh [M, H_g] (+=)
  void backward(const DeviceContext& c, const Saved& s, float* dh, const float* dlogits, index_t M) const {
    DeviceArray<float> dnormed = c.zeros(M * embed), dgelu = c.zeros(M * embed), ddense = c.zeros(M * embed);
    linear_backward(*c.gemm, c.mode, dnormed.data(), word.grad, output_bias.grad, dlogits, s.normed.data(), word.value,
                    M, embed, vocab, c.stream, *c.allocator);
    norm.backward(c, s.norm, dgelu.data(), dnormed.data(), s.gelu_out.data(), M);
    gelu_backward(ddense.data(), dgelu.data(), s.dense_out.data(), M * embed, c.stream);
    dense.backward(c, dh, ddense.data(), s.h, M);
  }
};

// discriminator_predictions (model/heads.hpp DiscriminatorHead).
struct DeviceDiscriminatorHead {
  DeviceLinear dense, dense_prediction;  // H -> H, H -> 1
  index_t hidden = 0;

  struct Saved {
    const float* h = nullptr;
    DeviceArray<float> dense_out, gelu_out, logits;  // logits [R]
  };

  DeviceDiscriminatorHead() = default;
  // prefix: "discriminator." in ElectraModel::parameters(), "" in discriminator_parameters() (HF's names)
  DeviceDiscriminatorHead(const DeviceParameters& p, const model::EncoderDims& d,
                          const std::string& prefix = "discriminator.")
      : dense(p, prefix + "discriminator_predictions.dense", d.hidden, d.hidden),
        dense_prediction(p, prefix + "discriminator_predictions.dense_prediction", d.hidden, 1),
        hidden(d.hidden) {}

  void forward(const DeviceContext& c, Saved& s, const float* h, index_t R) const {
    s.h = h;
    s.dense_out = dense.forward(c, h, R);
    s.gelu_out = c.floats(R * hidden);
    gelu_forward(s.gelu_out.data(), s.dense_out.data(), R * hidden, c.stream);
    s.logits = dense_prediction.forward(c, s.gelu_out.data(), R);
  }
  void backward(const DeviceContext& c, const Saved& s, float* dh, const float* dlogits, index_t R) const {
    DeviceArray<float> dgelu = c.zeros(R * hidden), ddense = c.zeros(R * hidden);
    dense_prediction.backward(c, dgelu.data(), dlogits, s.gelu_out.data(), R);
    gelu_backward(ddense.data(), dgelu.data(), s.dense_out.data(), R * hidden, c.stream);
    dense.backward(c, dh, ddense.data(), s.h, R);
  }
};

// A batch and its masking on the device. Built on the host, where every id is checked.
struct PretrainingBatch {
  index_t B = 0, T = 0, N = 0;
  DeviceArray<std::int32_t> input_ids, token_types, masked_ids, rows, targets;  // rows[b·N+k] = b·T + position
  DeviceArray<float> key_mask, weights;                                         // [B, T], [B·N]
  DeviceArray<std::int32_t> positions;                                          // [B, N]

  PretrainingBatch() = default;
  PretrainingBatch(const model::Batch& batch, const model::MaskedBatch<float>& masked, index_t vocab,
                   index_t type_vocab, cudaStream_t stream = nullptr,
                   CachingAllocator& allocator = default_allocator()) {
    ELECTRA_CHECK(batch.input_ids.rank() == 2 && batch.input_mask.shape() == batch.input_ids.shape(), shape_error,
                  "cuda pretraining batch: ids ", batch.input_ids.shape().to_string(), " and mask ",
                  batch.input_mask.shape().to_string(), " must both be [B,T]");
    ELECTRA_CHECK(masked.input_ids.shape() == batch.input_ids.shape() && masked.positions.rank() == 2 &&
                      masked.positions.size(0) == batch.input_ids.size(0) &&
                      masked.target_ids.shape() == masked.positions.shape() &&
                      masked.weights.shape() == masked.positions.shape(),
                  shape_error, "cuda pretraining batch: masked ids ", masked.input_ids.shape().to_string(),
                  ", positions ", masked.positions.shape().to_string(), ", targets ",
                  masked.target_ids.shape().to_string(), " and weights ", masked.weights.shape().to_string(),
                  " do not fit the batch ", batch.input_ids.shape().to_string(), " (expected [B,T] and three [B,N])");
    B = batch.input_ids.size(0), T = batch.input_ids.size(1), N = masked.positions.size(1);
    check_ids("token id", batch.input_ids, vocab);
    check_ids("masked token id", masked.input_ids, vocab);
    if (batch.token_types.defined()) {
      ELECTRA_CHECK(batch.token_types.shape() == batch.input_ids.shape(), shape_error,
                    "cuda pretraining batch: token types ", batch.token_types.shape().to_string(),
                    " do not match the ids");
      check_ids("token type", batch.token_types, type_vocab);
      token_types = to_device(batch.token_types, stream, allocator);
    }
    Tensor<std::int32_t> row_index({B * N});
    for (index_t b = 0; b < B; ++b)
      for (index_t k = 0; k < N; ++k) {
        const std::int32_t p = masked.positions.at(b, k);
        ELECTRA_CHECK(p >= 0 && p < T, index_error, "cuda pretraining batch: position ", p, " in row ", b,
                      " is outside the sequence of length ", T);
        row_index.at(b * N + k) = std::int32_t(b * T + p);
      }
    input_ids = to_device(batch.input_ids, stream, allocator);
    masked_ids = to_device(masked.input_ids, stream, allocator);
    positions = to_device(masked.positions, stream, allocator);
    rows = to_device(row_index, stream, allocator);
    targets = to_device(masked.target_ids, stream, allocator);
    weights = to_device(masked.weights, stream, allocator);
    key_mask = to_device(model::key_mask_from<float>(batch.input_mask), stream, allocator);
  }

  static void check_ids(const char* what, const Tensor<std::int32_t>& ids, index_t limit) {
    check_ids_below("cuda pretraining batch", what, ids, limit);
  }
};

// The weights of the two losses in what backward differentiates: the options' mlm_weight and
// rtd_weight, or a micro-batch's share of them (model::loss_share; train::Pretrainer).
struct LossScales {
  double mlm = 1.0, rtd = 50.0;
};

struct PretrainingStepResult {
  float loss = 0, mlm_loss = 0, rtd_loss = 0;  // rtd_loss is 0 for the MLM-only objective
  double share_loss = 0;                       // scales.mlm · mlm + scales.rtd · rtd (what was differentiated)
  model::MaskedBatch<float> masked;
  Tensor<std::int32_t> predicted;  // [B·N] the generator's argmax at each masked slot
  Tensor<std::int32_t> sampled;    // [B·N] (ELECTRA objective)
  Tensor<float> disc_logits;       // [B, T] (ELECTRA objective)
  Tensor<float> labels;            // [B, T] replaced-token labels (ELECTRA objective)
};

class PretrainingStep {
 public:
  // Keeps pointers into `params`, which must outlive the step.
  PretrainingStep(const model::ElectraDims& dims, const DeviceParameters& params, const DeviceContext& context,
                  const model::PretrainingOptions& options = {})
      : dims_((dims.validate(), dims)),
        c_(context),
        o_(options),
        embeddings_(params, "discriminator.electra.embeddings", dims.discriminator),
        generator_(params, "generator.electra", dims.generator),
        generator_head_(params, dims.generator, embeddings_.word),
        discriminator_(params, "discriminator.electra", dims.discriminator),
        discriminator_head_(params, dims.discriminator) {
    ELECTRA_CHECK(c_.gemm && c_.allocator, value_error, "cuda::PretrainingStep: needs a GemmContext and an allocator");
  }
  PretrainingStep(const model::ElectraDims&, const DeviceParameters&&, const DeviceContext&,
                  const model::PretrainingOptions& = {}) = delete;

  // Whether a step gives the named parameter (ElectraModel::parameters()' names) a gradient: all
  // of them, except the discriminator's own tensors under the MLM-only objective.
  bool gives_gradient(const std::string& name) const {
    return o_.electra_objective || name.rfind("discriminator.", 0) != 0 ||
           name.rfind("discriminator.electra.embeddings.", 0) == 0;
  }

  // Masks the batch with `rng` (as model::pretraining_step does), then forward and backward.
  PretrainingStepResult run(const model::Batch& batch, Rng& rng, bool training = true) {
    model::MaskedBatch<float> masked = model::mask_batch<float>(batch, rng, o_);
    return run(batch, std::move(masked), Tensor<std::int32_t>(), rng, training);
  }

  // For a given masking; `sampled` ([B·N]) fixes the replacements, else they are drawn.
  // `scales` weigh the losses in the backward pass (default: the options' weights).
  PretrainingStepResult run(const model::Batch& batch, model::MaskedBatch<float> masked, Tensor<std::int32_t> sampled,
                            Rng& rng, bool training) {
    return run(batch, std::move(masked), std::move(sampled), rng, training, LossScales{o_.mlm_weight, o_.rtd_weight});
  }
  PretrainingStepResult run(const model::Batch& batch, model::MaskedBatch<float> masked, Tensor<std::int32_t> sampled,
                            Rng& rng, bool training, LossScales scales) {
    return run_step(batch, std::move(masked), std::move(sampled), rng, training, scales, true);
  }

  // Held-out evaluation: model::pretraining_step(model, batch, rng, false) on the device, forward
  // only (the parameters' gradients are not touched).
  PretrainingStepResult evaluate(const model::Batch& batch, Rng& rng) {
    model::MaskedBatch<float> masked = model::mask_batch<float>(batch, rng, o_);
    return run_step(batch, std::move(masked), Tensor<std::int32_t>(), rng, false,
                    LossScales{o_.mlm_weight, o_.rtd_weight}, false);
  }

 private:
  PretrainingStepResult run_step(const model::Batch& batch, model::MaskedBatch<float> masked,
                                 Tensor<std::int32_t> sampled, Rng& rng, bool training, LossScales scales,
                                 bool with_backward) {
    const model::EncoderDims &d = dims_.discriminator, &g = dims_.generator;
    const PretrainingBatch in(batch, masked, d.vocab, d.type_vocab, c_.stream, *c_.allocator);
    const index_t B = in.B, T = in.T, R = B * T, M = B * in.N;
    const std::int32_t* types = in.token_types.empty() ? nullptr : in.token_types.data();
    PretrainingStepResult out;

    // 2. the generator at the masked positions, and the MLM loss
    DeviceEmbeddings::Saved gen_embedded;
    embeddings_.forward(c_, gen_embedded, in.masked_ids.data(), types, B, T, rng, training);
    DeviceEncoder::Saved gen_encoded;
    generator_.forward(c_, gen_encoded, gen_embedded.y.data(), in.key_mask.data(), B, T, rng, training);
    DeviceArray<float> gen_rows = c_.floats(M * g.hidden);  // hidden states at the masked positions
    embedding_forward(gen_rows.data(), gen_encoded.output(), in.rows.data(), M, R, g.hidden, c_.stream);
    DeviceGeneratorHead::Saved head;
    generator_head_.forward(c_, head, gen_rows.data(), M);
    DeviceArray<float> losses = c_.floats(2), lse = c_.floats(M), row_scale = c_.floats(M);
    cross_entropy_forward(losses.data(), lse.data(), row_scale.data(), head.logits.data(), nullptr, in.targets.data(),
                          in.weights.data(), M, g.vocab, ops::kIgnoreIndex, model::kLossDenominatorEps, c_.stream);
    DeviceArray<std::int32_t> predicted(M, *c_.allocator), samples;
    argmax_rows(predicted.data(), head.logits.data(), M, g.vocab, c_.stream);

    // 3–4. sampling, the corrupted input, the discriminator and the RTD loss
    DeviceArray<float> bce_scale, disc_dlogits, labels;
    DeviceEmbeddings::Saved disc_embedded;
    DeviceEncoder::Saved disc_encoded;
    DeviceDiscriminatorHead::Saved disc_head;
    DeviceArray<std::int32_t> fake_ids;
    if (o_.electra_objective) {
      samples = DeviceArray<std::int32_t>(M, *c_.allocator);
      if (sampled.defined()) {
        ELECTRA_CHECK(sampled.numel() == M, shape_error, "cuda pretraining: ", sampled.numel(), " samples for ", M,
                      " masked slots");
        PretrainingBatch::check_ids("sampled token id", sampled, g.vocab);
        upload(samples, sampled.contiguous().reshape({M}), c_.stream);
      } else {
        gumbel_sample(samples.data(), head.logits.data(), M, g.vocab, rng.next_key(), o_.temperature, c_.stream);
      }
      fake_ids = DeviceArray<std::int32_t>(R, *c_.allocator);
      labels = c_.floats(R);
      replace_with_samples(fake_ids.data(), labels.data(), in.input_ids.data(), in.positions.data(), samples.data(), B,
                           T, in.N, c_.stream);
      embeddings_.forward(c_, disc_embedded, fake_ids.data(), types, B, T, rng, training);
      discriminator_.forward(c_, disc_encoded, disc_embedded.y.data(), in.key_mask.data(), B, T, rng, training);
      discriminator_head_.forward(c_, disc_head, disc_encoded.output(), R);
      bce_scale = c_.floats(R);
      bce_with_logits_forward(losses.data() + 1, bce_scale.data(), disc_head.logits.data(), labels.data(),
                              in.key_mask.data(), R, model::kLossDenominatorEps, c_.stream);
    }

    // 5. backward: the discriminator's graph first (it was recorded last), then the generator's
    if (with_backward && o_.electra_objective) {
      disc_dlogits = c_.zeros(R);
      bce_with_logits_backward(disc_dlogits.data(), disc_head.logits.data(), labels.data(), bce_scale.data(), R,
                               float(scales.rtd), c_.stream);
      DeviceArray<float> dhidden = c_.zeros(R * d.hidden), dembedded = c_.zeros(R * d.embed);
      discriminator_head_.backward(c_, disc_head, dhidden.data(), disc_dlogits.data(), R);
      discriminator_.backward(c_, disc_encoded, dembedded.data(), dhidden.data(), B, T);
      embeddings_.backward(c_, disc_embedded, dembedded.data(), B, T);
    }
    if (with_backward) {
      DeviceArray<float> dlogits = c_.zeros(M * g.vocab), drows = c_.zeros(M * g.hidden),
                         dhidden = c_.zeros(R * g.hidden), dembedded = c_.zeros(R * g.embed);
      cross_entropy_backward(dlogits.data(), head.logits.data(), lse.data(), row_scale.data(), nullptr,
                             in.targets.data(), M, g.vocab, float(scales.mlm), c_.stream);
      generator_head_.backward(c_, head, drows.data(), dlogits.data(), M);
      embedding_backward(dhidden.data(), drows.data(), in.rows.data(), M, R, g.hidden, -1, c_.stream);  // scatter back
      generator_.backward(c_, gen_encoded, dembedded.data(), dhidden.data(), B, T);
      embeddings_.backward(c_, gen_embedded, dembedded.data(), B, T);
    }

    // What the host needs back (each download waits for the stream: the step is done).
    const Tensor<float> l = to_host(losses, Shape{2}, c_.stream);
    out.predicted = to_host(predicted, Shape{M}, c_.stream);
    if (o_.electra_objective) {
      out.sampled = to_host(samples, Shape{M}, c_.stream);
      out.disc_logits = to_host(disc_head.logits, Shape{B, T}, c_.stream);
      out.labels = to_host(labels, Shape{B, T}, c_.stream);
    }
    out.mlm_loss = l.data()[0];
    out.rtd_loss = o_.electra_objective ? l.data()[1] : 0.f;
    // The CPU's float arithmetic: add(scale(mlm, w1), scale(rtd, w2)).
    out.loss = o_.electra_objective ? out.mlm_loss * float(o_.mlm_weight) + out.rtd_loss * float(o_.rtd_weight)
                                    : out.mlm_loss * float(o_.mlm_weight);
    out.share_loss = o_.electra_objective ? double(out.mlm_loss * float(scales.mlm) + out.rtd_loss * float(scales.rtd))
                                          : double(out.mlm_loss * float(scales.mlm));  // in float, as the CPU adds
    out.masked = std::move(masked);
    return out;
  }

  model::ElectraDims dims_;
  DeviceContext c_;
  model::PretrainingOptions o_;
  DeviceEmbeddings embeddings_;
  DeviceEncoder generator_;
  DeviceGeneratorHead generator_head_;
  DeviceEncoder discriminator_;
  DeviceDiscriminatorHead discriminator_head_;
};

}  // namespace electra::cuda
