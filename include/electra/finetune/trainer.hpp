// The fine-tuning optimisation, as the official run_finetuning.py sets it up
// (model/optimization.py create_optimizer):
//   lr(t) = lr · (1 − t/T) · min(1, t / (0.1 T))      linear warmup over 10 %, then linear decay
//   per-parameter lr · decay^(head − depth)          layer-wise decay (0.8; 0.9 for Large)
//   clip gradients to global norm 1.0, AdamW without bias correction
// Weight decay defaults to 0 as in the paper's Table 7 (the released configure_finetuning.py
// says 0.01; pass it to follow the code instead).
//
// Data parallel (several ranks, dist/communicator.hpp): every rank walks the same batches and
// computes the loss of its share of each (rows r, r + R, r + 2R, ...), scaled by
// share / batch so that the shares add up to the batch's mean loss; gradients are summed over
// ranks before clipping, so every rank applies the same update.
//
// Batches are padded to their longest sequence, not to max_seq_len: the padded keys get
// −10000 before the softmax, so their attention weight is exactly 0 in float32 either way,
// and the result is the same as the official fixed-length padding at a fraction of the work.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../core/rng.hpp"
#include "../dist/communicator.hpp"
#include "../dist/grad_sync.hpp"
#include "../io/json.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/layer_lr.hpp"
#include "../optim/schedule.hpp"
#include "../train/duration.hpp"
#include "task_batch.hpp"
#include "task_engine.hpp"
#include "task_loss.hpp"
#include "task_model.hpp"

namespace electra::finetune {

struct FinetuneOptions {
  double learning_rate = 3e-4;   // paper Table 7: Small 3e-4, Base 1e-4, Large 5e-5
  double layerwise_decay = 0.8;  // 0.9 for Large; 1 turns it off
  double warmup_proportion = 0.1;
  double weight_decay = 0.0;
  double clip_norm = 1.0;
  int batch_size = 32;
  double epochs = 3;  // 10 for RTE and STS-B
  std::size_t max_seq_len = 128;
  std::uint64_t seed = 0;

  void validate() const {
    ELECTRA_CHECK(std::isfinite(learning_rate) && learning_rate > 0, value_error, "fine-tuning: learning rate ",
                  learning_rate, " must be > 0");
    ELECTRA_CHECK(std::isfinite(layerwise_decay) && layerwise_decay > 0 && layerwise_decay <= 1, value_error,
                  "fine-tuning: layer-wise lr decay ", layerwise_decay, " must be in (0, 1]");
    ELECTRA_CHECK(batch_size > 0, value_error, "fine-tuning: batch size ", batch_size, " must be > 0");
    ELECTRA_CHECK(std::isfinite(epochs) && epochs > 0, value_error, "fine-tuning: epochs ", epochs, " must be > 0");
    ELECTRA_CHECK(max_seq_len >= 8, value_error, "fine-tuning: max sequence length ", max_seq_len,
                  " must be at least 8");
  }
};

// The examples of each epoch in a seeded random order (Fisher–Yates on our Rng), cut into
// batches; the last batch of an epoch may be short, as tf.data's would be without drop_remainder.
inline std::vector<std::vector<std::size_t>> epoch_batches(std::size_t n_examples, int batch_size, std::uint64_t seed,
                                                           std::uint64_t epoch) {
  std::vector<std::size_t> order(n_examples);
  for (std::size_t i = 0; i < n_examples; ++i) order[i] = i;
  Rng rng(mix64(seed ^ mix64(epoch + 0x5eed)));
  for (std::size_t i = n_examples; i > 1; --i) std::swap(order[i - 1], order[rng.next_u64() % i]);
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t s = 0; s < n_examples; s += std::size_t(batch_size))
    batches.emplace_back(order.begin() + std::ptrdiff_t(s),
                         order.begin() + std::ptrdiff_t(std::min(n_examples, s + std::size_t(batch_size))));
  return batches;
}

// Total optimizer steps for `epochs` passes over n examples (the official
// int(epochs · n / batch)), at least 1.
inline std::int64_t total_train_steps(std::size_t n_examples, int batch_size, double epochs) {
  return std::max<std::int64_t>(1, std::int64_t(epochs * double(n_examples) / double(batch_size)));
}

template <class T>
class FineTuner {
 public:
  FineTuner(TaskModel<T>& m, const FinetuneOptions& o, std::int64_t total_steps,
            dist::Communicator& comm = dist::single_process())
      : model_(m),
        options_((o.validate(), o)),
        params_(m.parameters()),
        optimizer_(params_, adam_options(o)),
        comm_(comm),
        sync_(params_, comm),
        total_steps_(total_steps),
        rng_(mix64(o.seed ^ 0xf1e7) + std::uint64_t(comm.rank())) {  // dropout differs per rank
    optimizer_.set_lr_scales(optim::layerwise_lr_scales(params_, o.layerwise_decay, int(m.dims.layers)));
  }

  double learning_rate() const {
    optim::LrSchedule s;
    s.base_lr = options_.learning_rate;
    s.total_steps = total_steps_;
    s.warmup_proportion = options_.warmup_proportion;
    return s.at(step_);
  }

  // Runs the forward, backward, clip and update on `engine` (one process only) instead of the
  // CPU tape; null goes back to the CPU. The engine starts from the model and optimizer as
  // they are now (TaskEngineSpec::of(model(), &optimizer())).
  void set_engine(TaskEngine<T>* engine) {
    ELECTRA_CHECK(!engine || comm_.size() == 1, value_error,
                  "fine-tuning: a device engine runs in one process, not under mpirun with ", comm_.size(), " ranks");
    engine_ = engine;
  }
  std::string device() const { return engine_ ? engine_->describe() : "cpu"; }

  // One update from a scalar loss built on the model in training mode (one process, CPU);
  // returns the gradient norm before clipping.
  double step(const Var<T>& loss) {
    check_finite(double(loss.item()));
    loss.backward();
    return update();
  }

  // The forward and backward of `share` · task_loss for a batch in training mode, dropout keyed
  // from rng(); the gradients accumulate (on the engine, if any). Returns that scaled loss.
  double forward_backward(const TaskBatch& b, double share) {
    if (engine_) return engine_->forward_backward(b, rng_, share);
    const Var<T> l = ops::scale(
        task_loss(model_(b.inputs.ids, b.inputs.types, b.inputs.mask, rng_, true), b.inputs, b.targets), T(share));
    const double value = double(l.item());
    l.backward();
    return value;
  }

  // The head's evaluation-mode output (on the engine, if any).
  HeadValues<T> predict(const SequenceBatch& b) const { return predict_heads(model_, engine_, b); }

  // Brings the engine's parameters back into the CPU model (nothing to do without one).
  void sync_to_host() {
    if (engine_) engine_->sync_to_host();
  }

  // After this rank's backward (or none, when its share of the batch was empty): sums the
  // gradients over ranks, clips, updates, clears. Every parameter takes part in the sum.
  double update() {
    if (engine_) {
      const double norm = engine_->clip_and_update(learning_rate(), options_.clip_norm);
      ++step_;
      return norm;
    }
    if (comm_.size() > 1)
      for (const auto& p : params_) p.var.impl()->grad_buffer();  // a zero gradient where this rank had none
    sync_.sum();
    const double norm = optim::clip_grad_global_norm(params_, options_.clip_norm);
    optimizer_.step(learning_rate());
    optimizer_.zero_grad();
    ++step_;
    return norm;
  }

  void check_finite(double loss) const {
    ELECTRA_CHECK(std::isfinite(loss), value_error, "fine-tuning step ", step_,
                  ": the loss is not finite; lower the learning rate or check the data");
  }

  std::int64_t steps_done() const { return step_; }
  std::int64_t total_steps() const { return total_steps_; }
  Rng& rng() { return rng_; }
  const TaskModel<T>& model() const { return model_; }
  const optim::AdamW<T>& optimizer() const { return optimizer_; }
  dist::Communicator& communicator() { return comm_; }

 private:
  static optim::AdamWOptions adam_options(const FinetuneOptions& o) {
    optim::AdamWOptions a;
    a.lr = o.learning_rate;
    a.weight_decay = o.weight_decay;
    return a;
  }

  TaskModel<T>& model_;
  FinetuneOptions options_;
  nn::ParameterList<T> params_;
  optim::AdamW<T> optimizer_;
  dist::Communicator& comm_;
  dist::GradientSync<T> sync_;
  std::int64_t total_steps_ = 1, step_ = 0;
  Rng rng_;
  TaskEngine<T>* engine_ = nullptr;
};

struct TrainLoopOptions {
  std::string label;            // the progress line's prefix, e.g. "cola seed 0"
  std::int64_t log_every = 50;  // a progress line and a log record every N steps (and at the end)
  std::FILE* progress = nullptr;
};

struct TrainLoopResult {
  std::string log_jsonl;  // {"step", "epoch", "loss" (mean since the last record), "lr", "grad_norm"} per line
  double seconds = 0;
};

// Runs `tuner` to its total steps over n examples in epoch_batches order. `batch_of(rows)`
// gives the TaskBatch of some example indices; each rank passes its share of every batch.
template <class T, class BatchOfRows>
TrainLoopResult train_epochs(FineTuner<T>& tuner, std::size_t n_examples, int batch_size, std::uint64_t seed,
                             BatchOfRows&& batch_of, const TrainLoopOptions& o) {
  using Clock = std::chrono::steady_clock;
  TrainLoopResult r;
  const auto t0 = Clock::now();
  const std::int64_t total = tuner.total_steps();
  double loss_sum = 0;
  std::int64_t loss_n = 0;
  for (std::uint64_t epoch = 0; tuner.steps_done() < total; ++epoch) {
    for (const auto& rows : epoch_batches(n_examples, batch_size, seed, epoch)) {
      if (tuner.steps_done() >= total) break;
      const double lr = tuner.learning_rate();
      dist::Communicator& comm = tuner.communicator();
      std::vector<std::size_t> mine;
      for (std::size_t k = std::size_t(comm.rank()); k < rows.size(); k += std::size_t(comm.size()))
        mine.push_back(rows[k]);
      double value = 0;  // this rank's share of the batch's mean loss
      if (!mine.empty()) value = tuner.forward_backward(batch_of(mine), double(mine.size()) / double(rows.size()));
      comm.allreduce_sum(&value, 1);
      tuner.check_finite(value);  // the same verdict on every rank, before any update
      loss_sum += value;
      ++loss_n;
      const double norm = tuner.update();
      const std::int64_t done = tuner.steps_done();
      if (done % o.log_every != 0 && done != total) continue;
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      r.log_jsonl += json::Value(json::Object{{"step", done},
                                              {"epoch", std::int64_t(epoch)},
                                              {"loss", loss_sum / double(loss_n)},
                                              {"lr", lr},
                                              {"grad_norm", norm}})
                         .dump() +
                     '\n';
      if (o.progress)
        std::fprintf(o.progress, "%s  step %lld/%lld  epoch %llu  loss %.4f  lr %.2e  ETA %s\n", o.label.c_str(),
                     static_cast<long long>(done), static_cast<long long>(total),
                     static_cast<unsigned long long>(epoch + 1), loss_sum / double(loss_n), lr,
                     train::duration_text(secs / double(done) * double(total - done)).c_str());
      loss_sum = 0;
      loss_n = 0;
    }
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace electra::finetune
