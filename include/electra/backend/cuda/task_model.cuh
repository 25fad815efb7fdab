// Fine-tuning on the GPU, forward and backward, mirroring finetune/task_model.hpp and
// finetune/task_loss.hpp (the CPU tape) for the three heads:
//   h = encoder(embeddings(ids, types))                       [B·T, H]   names "electra.*"
//   official  logits = classifier(dropout(pool(h)))                        [B, K]
//   hf        logits = out_proj(dropout(gelu(dense(dropout(pool(h))))))    [B, K]
//   span      qa = qa_outputs(h)                                           [B·T, 2]
//   pool: h[:, 0] (cls) or the mean over unpadded positions (mean), one weighted_pool kernel
// and the losses: cross-entropy at the labels, mean squared error against the values, or
// (CE(start) + CE(end)) / 2 over each sequence with −10000 at padding.
// Dropout keys come from the Rng in the CPU model's order (embeddings, each layer, then the
// head's one or two), so one seed gives the same masks on both backends. Gradients accumulate
// into DeviceParameters::grads() (zero them before a step). GEMMs run in the context's
// ComputeMode; everything else is fp32.
#pragma once
#include <cstdint>
#include <string>

#include "../../finetune/task_engine.hpp"
#include "../../ops/cross_entropy.hpp"
#include "cross_entropy.cuh"
#include "embeddings.cuh"
#include "span_logits.cuh"
#include "squared_error.cuh"
#include "weighted_pool.cuh"

namespace electra::cuda {

// What the device model is: TaskEngineSpec without the parameters.
struct TaskModelShape {
  model::EncoderDims dims;
  finetune::HeadKind head = finetune::HeadKind::official;
  finetune::Pooling pooling = finetune::Pooling::cls;
  index_t outputs = 1;  // K; 2 for the span head
};

// A fine-tuning batch on the device, every id and target checked on the host first.
struct DeviceTaskBatch {
  index_t B = 0, T = 0;
  DeviceArray<std::int32_t> ids, types;
  DeviceArray<float> key_mask;                     // [B, T] 1 on tokens, 0 on padding
  DeviceArray<float> pool_weights;                 // [B, T] one-hot at 0 (cls) or mask / Σ mask (mean), as the CPU's
  DeviceArray<std::int32_t> labels, starts, ends;  // [B] by target kind
  DeviceArray<float> values;                       // [B]

  // targets == nullptr: inputs only (evaluation).
  DeviceTaskBatch(const finetune::SequenceBatch& in, const finetune::TaskTargets* targets, const TaskModelShape& m,
                  cudaStream_t stream, CachingAllocator& allocator) {
    const char* where = "cuda fine-tuning batch";
    ELECTRA_CHECK(in.ids.rank() == 2 && in.mask.shape() == in.ids.shape() &&
                      (!in.types.defined() || in.types.shape() == in.ids.shape()),
                  shape_error, where, ": ids ", in.ids.shape().to_string(), ", types ",
                  in.types.defined() ? in.types.shape().to_string() : std::string("none"), " and mask ",
                  in.mask.shape().to_string(), " must all be [B,T]");
    B = in.ids.size(0), T = in.ids.size(1);
    check_ids_below(where, "token id", in.ids, m.dims.vocab);
    ids = to_device(in.ids, stream, allocator);
    if (in.types.defined()) {
      check_ids_below(where, "token type", in.types, m.dims.type_vocab);
      types = to_device(in.types, stream, allocator);
    }
    key_mask = to_device(model::key_mask_from<float>(in.mask), stream, allocator);
    if (m.head != finetune::HeadKind::span) pool_weights = to_device(weights_of(in.mask, m.pooling), stream, allocator);
    if (targets) upload_targets(*targets, m, stream, allocator);
  }

  // TaskModel::first_token / mean_over_tokens as weights: [B, T]
  static Tensor<float> weights_of(const Tensor<std::int32_t>& mask, finetune::Pooling pooling) {
    const index_t B = mask.size(0), T = mask.size(1);
    Tensor<float> w = Tensor<float>::zeros({B, T});
    for (index_t b = 0; b < B; ++b) {
      if (pooling == finetune::Pooling::cls) {
        w.at(b, 0) = 1.f;
        continue;
      }
      index_t n = 0;
      for (index_t t = 0; t < T; ++t) n += mask.at(b, t) != 0;
      ELECTRA_CHECK(n > 0, value_error, "mean pooling: example ", b, " of the batch has no unpadded token");
      for (index_t t = 0; t < T; ++t) w.at(b, t) = mask.at(b, t) != 0 ? 1.f / float(n) : 0.f;
    }
    return w;
  }

 private:
  void upload_targets(const finetune::TaskTargets& t, const TaskModelShape& m, cudaStream_t stream,
                      CachingAllocator& allocator) {
    const char* where = "cuda fine-tuning batch";
    ELECTRA_CHECK(t.batch_size() == B, shape_error, where, ": ", t.batch_size(), " targets for ", B, " sequences");
    const bool span_head = m.head == finetune::HeadKind::span;
    ELECTRA_CHECK(span_head == (t.kind == finetune::TargetKind::span), value_error, where,
                  ": span targets go with the span head, labels and values with a classification head");
    switch (t.kind) {
      case finetune::TargetKind::classes: {
        ELECTRA_CHECK(t.labels.shape() == Shape{B}, shape_error, where, ": labels ", t.labels.shape().to_string(),
                      " must be [", B, "]");
        const Tensor<std::int32_t> c = t.labels.contiguous();
        for (index_t i = 0; i < B; ++i)  // ops::kIgnoreIndex gives a row no weight, as on the CPU
          ELECTRA_CHECK(c.data()[i] == ops::kIgnoreIndex || (c.data()[i] >= 0 && c.data()[i] < m.outputs), index_error,
                        where, ": label ", c.data()[i], " at flat index ", i, " is outside [0, ", m.outputs, ")");
        labels = to_device(c, stream, allocator);
        break;
      }
      case finetune::TargetKind::values: {
        ELECTRA_CHECK(m.outputs == 1, shape_error, where, ": regression needs one output, the head has ", m.outputs);
        Tensor<float> v({B});
        for (index_t i = 0; i < B; ++i) v.at(i) = float(t.values[std::size_t(i)]);
        values = to_device(v, stream, allocator);
        break;
      }
      case finetune::TargetKind::span:
        ELECTRA_CHECK(t.starts.shape() == Shape{B} && t.ends.shape() == Shape{B}, shape_error, where,
                      ": answer starts ", t.starts.shape().to_string(), " and ends ", t.ends.shape().to_string(),
                      " must both be [", B, "]");
        check_ids_below(where, "answer start", t.starts, T);
        check_ids_below(where, "answer end", t.ends, T);
        starts = to_device(t.starts, stream, allocator);
        ends = to_device(t.ends, stream, allocator);
        break;
    }
  }
};

class DeviceTaskModel {
 public:
  struct Saved {
    DeviceEmbeddings::Saved embedded;
    DeviceEncoder::Saved encoded;
    DeviceArray<float> pooled, pooled_dropped, dense_out, gelu_out, gelu_dropped;
    const float* pooled_input = nullptr;  // dropout(pool(h)): what the first head layer read
    const float* head_input = nullptr;    // what the last linear read
    DeviceArray<float> out;               // logits [B, K] or qa [B·T, 2]
    float p = 0;
    std::uint64_t pooled_key = 0, gelu_key = 0;
  };

  DeviceTaskModel(const TaskModelShape& m, const DeviceParameters& p)
      : m_((check(m), m)),
        embeddings_(p, "electra.embeddings", m.dims),
        encoder_(p, "electra", m.dims),
        dense_(m.head == finetune::HeadKind::hf ? DeviceLinear(p, "classifier.dense", m.dims.hidden, m.dims.hidden)
                                                : DeviceLinear()),
        classifier_(p, output_layer_name(m.head), m.dims.hidden, m.outputs) {}

  const TaskModelShape& shape() const { return m_; }

  // -> s.out
  void forward(const DeviceContext& c, Saved& s, const DeviceTaskBatch& in, Rng& rng, bool training) const {
    const index_t B = in.B, T = in.T, H = m_.dims.hidden;
    embeddings_.forward(c, s.embedded, in.ids.data(), in.types.empty() ? nullptr : in.types.data(), B, T, rng,
                        training);
    encoder_.forward(c, s.encoded, s.embedded.y.data(), in.key_mask.data(), B, T, rng, training);
    if (m_.head == finetune::HeadKind::span) {
      s.head_input = s.encoded.output();
      s.out = classifier_.forward(c, s.head_input, B * T);
      return;
    }
    s.pooled = c.floats(B * H);
    weighted_pool_forward(s.pooled.data(), s.encoded.output(), in.pool_weights.data(), B, T, H, c.stream);
    s.p = active_dropout(m_.dims.hidden_dropout, training);
    s.pooled_key = dropout_key(rng, m_.dims.hidden_dropout, training);
    const float* x = s.pooled_input = dropped(c, s.pooled_dropped, s.pooled, s.p, s.pooled_key);
    if (m_.head == finetune::HeadKind::hf) {
      s.dense_out = dense_.forward(c, x, B);
      s.gelu_out = c.floats(B * H);
      gelu_forward(s.gelu_out.data(), s.dense_out.data(), B * H, c.stream);
      s.gelu_key = dropout_key(rng, m_.dims.hidden_dropout, training);
      x = dropped(c, s.gelu_dropped, s.gelu_out, s.p, s.gelu_key);
    }
    s.head_input = x;
    s.out = classifier_.forward(c, x, B);
  }

  // dout [B, K] or [B·T, 2]; the parameters' gradients accumulate.
  void backward(const DeviceContext& c, const Saved& s, const DeviceTaskBatch& in, const float* dout) const {
    const index_t B = in.B, T = in.T, R = B * T, H = m_.dims.hidden;
    DeviceArray<float> dh = c.zeros(R * H), dembedded = c.zeros(R * m_.dims.embed);
    if (m_.head == finetune::HeadKind::span) {
      classifier_.backward(c, dh.data(), dout, s.head_input, R);
    } else {
      DeviceArray<float> dx = c.zeros(B * H);
      if (m_.head == finetune::HeadKind::hf) {
        DeviceArray<float> dgelu_dropped = c.zeros(B * H), dgelu = c.floats(B * H), ddense = c.zeros(B * H);
        classifier_.backward(c, dgelu_dropped.data(), dout, s.head_input, B);
        apply_dropout_mask<false>(dgelu.data(), dgelu_dropped.data(), B * H, s.p, s.gelu_key, c.stream);
        gelu_backward(ddense.data(), dgelu.data(), s.dense_out.data(), B * H, c.stream);
        dense_.backward(c, dx.data(), ddense.data(), s.pooled_input, B);
      } else {
        classifier_.backward(c, dx.data(), dout, s.head_input, B);
      }
      DeviceArray<float> dpooled = c.floats(B * H);
      apply_dropout_mask<false>(dpooled.data(), dx.data(), B * H, s.p, s.pooled_key, c.stream);  // p = 0: a copy
      weighted_pool_backward(dh.data(), dpooled.data(), in.pool_weights.data(), B, T, H, c.stream);
    }
    encoder_.backward(c, s.encoded, dembedded.data(), dh.data(), B, T);
    embeddings_.backward(c, s.embedded, dembedded.data(), B, T);
  }

 private:
  static void check(const TaskModelShape& m) {
    m.dims.validate("cuda fine-tuning encoder");
    ELECTRA_CHECK(m.outputs >= 1, value_error, "cuda fine-tuning: a task head needs at least one output, got ",
                  m.outputs);
    ELECTRA_CHECK(m.head != finetune::HeadKind::span || m.outputs == 2, value_error,
                  "cuda fine-tuning: the span head has 2 outputs, got ", m.outputs);
  }

  static std::string output_layer_name(finetune::HeadKind head) {
    switch (head) {
      case finetune::HeadKind::official:
        return "classifier";
      case finetune::HeadKind::hf:
        return "classifier.out_proj";
      case finetune::HeadKind::span:
        return "qa_outputs";
    }
    return "classifier";
  }

  // dropout(x) into `out` when active, else x itself (as ops::dropout returns its input).
  static const float* dropped(const DeviceContext& c, DeviceArray<float>& out, const DeviceArray<float>& x, float p,
                              std::uint64_t key) {
    if (p == 0.f) return x.data();
    out = c.floats(x.size());
    apply_dropout_mask<false>(out.data(), x.data(), x.size(), p, key, c.stream);
    return out.data();
  }

  TaskModelShape m_;
  DeviceEmbeddings embeddings_;
  DeviceEncoder encoder_;
  DeviceLinear dense_;       // hf only
  DeviceLinear classifier_;  // classifier, classifier.out_proj or qa_outputs
};

// One fine-tuning step's forward and backward, and evaluation, on a DeviceTaskModel.
class TaskStep {
 public:
  // Keeps pointers into `params`, which must outlive the step.
  TaskStep(const TaskModelShape& m, const DeviceParameters& params, const DeviceContext& context)
      : c_(context), model_(m, params) {
    ELECTRA_CHECK(c_.gemm && c_.allocator, value_error, "cuda::TaskStep: needs a GemmContext and an allocator");
  }
  TaskStep(const TaskModelShape&, const DeviceParameters&&, const DeviceContext&) = delete;

  // Forward in training mode and the backward of float(scale) · loss; returns that scaled loss
  // in float, as the CPU computes it (one wait for the stream, after the backward is queued).
  double run(const finetune::TaskBatch& batch, Rng& rng, double scale, bool training = true) {
    const TaskModelShape& m = model_.shape();
    const DeviceTaskBatch in(batch.inputs, &batch.targets, m, c_.stream, *c_.allocator);
    const index_t B = in.B, T = in.T, R = B * T, K = m.outputs;
    DeviceTaskModel::Saved s;
    model_.forward(c_, s, in, rng, training);
    DeviceArray<float> losses = c_.zeros(2);
    const float g = float(scale);
    switch (batch.targets.kind) {
      case finetune::TargetKind::classes: {
        DeviceArray<float> lse = c_.floats(B), row_scale = c_.floats(B), dlogits = c_.zeros(B * K);
        cross_entropy_forward(losses.data(), lse.data(), row_scale.data(), s.out.data(), nullptr, in.labels.data(),
                              nullptr, B, K, ops::kIgnoreIndex, 0.0, c_.stream);
        cross_entropy_backward(dlogits.data(), s.out.data(), lse.data(), row_scale.data(), nullptr, in.labels.data(), B,
                               K, g, c_.stream);
        model_.backward(c_, s, in, dlogits.data());
        break;
      }
      case finetune::TargetKind::values: {
        DeviceArray<float> dlogits = c_.zeros(B);
        squared_error_forward(losses.data(), s.out.data(), in.values.data(), B, c_.stream);
        squared_error_backward(dlogits.data(), s.out.data(), in.values.data(), B, g, c_.stream);
        model_.backward(c_, s, in, dlogits.data());
        break;
      }
      case finetune::TargetKind::span: {
        DeviceArray<float> start = c_.floats(R), end = c_.floats(R), lse = c_.floats(2 * B),
                           row_scale = c_.floats(2 * B), dstart = c_.zeros(R), dend = c_.zeros(R),
                           dqa = c_.zeros(R * 2);
        span_split(start.data(), end.data(), s.out.data(), in.key_mask.data(), R, c_.stream);
        const float half = g * 0.5f;  // scale(scale(add(start, end), 0.5), g) on the tape
        cross_entropy_forward(losses.data(), lse.data(), row_scale.data(), start.data(), nullptr, in.starts.data(),
                              nullptr, B, T, ops::kIgnoreIndex, 0.0, c_.stream);
        cross_entropy_forward(losses.data() + 1, lse.data() + B, row_scale.data() + B, end.data(), nullptr,
                              in.ends.data(), nullptr, B, T, ops::kIgnoreIndex, 0.0, c_.stream);
        cross_entropy_backward(dstart.data(), start.data(), lse.data(), row_scale.data(), nullptr, in.starts.data(), B,
                               T, half, c_.stream);
        cross_entropy_backward(dend.data(), end.data(), lse.data() + B, row_scale.data() + B, nullptr, in.ends.data(),
                               B, T, half, c_.stream);
        span_merge(dqa.data(), dstart.data(), dend.data(), R, c_.stream);
        model_.backward(c_, s, in, dqa.data());
        break;
      }
    }
    const Tensor<float> l = to_host(losses, Shape{2}, c_.stream);
    const float loss =
        batch.targets.kind == finetune::TargetKind::span ? (l.data()[0] + l.data()[1]) * 0.5f : l.data()[0];
    return double(loss * g);
  }

  // The head's output in evaluation mode: logits [B, K], or start and end [B, T] (no penalty, as TaskModel).
  finetune::HeadValues<float> predict(const finetune::SequenceBatch& inputs) {
    const TaskModelShape& m = model_.shape();
    const DeviceTaskBatch in(inputs, nullptr, m, c_.stream, *c_.allocator);
    DeviceTaskModel::Saved s;
    Rng unused(0);  // evaluation draws no keys
    model_.forward(c_, s, in, unused, false);
    finetune::HeadValues<float> v;
    if (m.head != finetune::HeadKind::span) {
      v.logits = to_host(s.out, Shape{in.B, m.outputs}, c_.stream);
      return v;
    }
    const Tensor<float> qa = to_host(s.out, Shape{in.B, in.T, 2}, c_.stream);
    v.start = Tensor<float>({in.B, in.T});
    v.end = Tensor<float>({in.B, in.T});
    for (index_t r = 0; r < in.B * in.T; ++r) {
      v.start.data()[r] = qa.data()[2 * r];
      v.end.data()[r] = qa.data()[2 * r + 1];
    }
    return v;
  }

 private:
  DeviceContext c_;
  DeviceTaskModel model_;
};

}  // namespace electra::cuda
