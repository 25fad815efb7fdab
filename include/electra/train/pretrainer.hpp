// The pretraining loop's one step and its state: model, AdamW, schedule, step count and RNG.
//   step(micro-batches): lr = schedule(t)
//     for each micro-batch m of this process (slot s = rank · accumulate + m):
//       mask with Rng(t, s); count its masked slots W_m and real tokens N_m
//     W, N = Σ over every micro-batch of every rank (one all-reduce of two numbers)
//     for each micro-batch: forward; loss_m = mlm_m · (W_m + ε)/(W + ε) + 50 · rtd_m · (N_m + ε)/(N + ε);
//                           check it is finite; backward (gradients accumulate)
//     sum gradients over ranks; clip to global norm 1.0; AdamW; zero gradients; t += 1
// The official losses are means over the batch's masked slots and real tokens (with ε = 1e-6
// in the denominators); the rescaling makes Σ_m loss_m exactly the loss of the whole global
// batch, so K micro-batches on R ranks compute the gradient of one batch of K·R micro-batches
// (up to float summation order). With one micro-batch on one process the factors are 1.
// Randomness (masking, Gumbel noise, dropout) comes from an Rng keyed by (run seed, step,
// slot): a slot draws the same numbers whichever process runs it, so `--accumulate 2` on one
// process and 2 ranks with `--accumulate 1` follow the same trajectory.
// A checkpoint holds all of it (io/checkpoint.hpp), so a resumed run continues bit-exactly.
// With a StepEngine (set_engine; the CUDA backend's) the forward, backward, clip and update run
// on that device instead, from the same masking, keys and loss shares (single process only).
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../autograd/grad_mode.hpp"
#include "../dist/communicator.hpp"
#include "../dist/grad_sync.hpp"
#include "../model/pretraining.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"
#include "step_engine.hpp"

namespace electra::train {

// Defaults are the official ELECTRA-Small settings (configure_pretraining.py).
struct PretrainerOptions {
  model::PretrainingOptions objective;
  double learning_rate = 5e-4;
  double weight_decay = 0.01;
  std::int64_t total_steps = 1000000;
  std::int64_t warmup_steps = 10000;
  double clip_norm = 1.0;
  std::uint64_t seed = 0;
  int accumulate = 1;  // micro-batches per process per optimizer step
};

struct StepReport {
  PretrainMetrics metrics;  // losses of the whole global batch; the rest averaged over micro-batches
  double learning_rate = 0, grad_norm = 0;
  std::int64_t step = 0;  // the step that was just taken (0-based)
};

template <class T>
class Pretrainer {
 public:
  Pretrainer(model::ElectraModel<T>& model, const PretrainerOptions& o,
             dist::Communicator& comm = dist::single_process())
      : model_(model),
        options_(o),
        params_(model.parameters()),
        optimizer_(params_, adam_options(o)),
        comm_(comm),
        sync_(params_, comm),
        rng_(o.seed) {
    ELECTRA_CHECK(o.clip_norm > 0, value_error, "pretrainer: clip norm must be > 0, got ", o.clip_norm);
    ELECTRA_CHECK(o.accumulate >= 1, value_error, "pretrainer: accumulate must be >= 1, got ", o.accumulate);
    optim::linear_warmup_decay(0, o.learning_rate, o.total_steps, o.warmup_steps);  // validates the schedule
  }

  // One optimizer step from this process's `accumulate` micro-batches.
  StepReport step(const std::vector<model::Batch>& micro) {
    const int A = options_.accumulate;
    ELECTRA_CHECK(int(micro.size()) == A, value_error, "pretrainer: ", micro.size(),
                  " micro-batches for a step that accumulates ", A);
    const model::PretrainingOptions& obj = options_.objective;
    StepReport r;
    r.step = step_;
    r.learning_rate =
        optim::linear_warmup_decay(step_, options_.learning_rate, options_.total_steps, options_.warmup_steps);
    // Masking first: the loss denominators of the global batch are known before any forward.
    // Per-micro-batch state in members that keep their capacity: no allocation once warm.
    std::vector<Rng>& rngs = micro_rngs_;
    std::vector<model::MaskedBatch<T>>& masked = micro_masked_;
    std::vector<model::LossCounts>& local = micro_counts_;
    rngs.clear(), masked.clear(), local.clear();
    double global[2] = {0, 0};
    for (int m = 0; m < A; ++m) {
      rngs.push_back(slot_rng(comm_.rank() * A + m));
      masked.push_back(model::mask_batch<T>(micro[std::size_t(m)], rngs.back(), obj));
      local.push_back(model::loss_counts(masked.back(), micro[std::size_t(m)]));
      global[0] += local.back().masked;
      global[1] += local.back().real;
    }
    comm_.allreduce_sum(global, 2);
    const model::LossCounts whole{global[0], global[1]};

    // Metrics: losses summed (they are shares of the global loss), the rest averaged.
    double sums[kMetricCount] = {};
    if (engine_) {
      for (int m = 0; m < A; ++m) {
        const std::size_t i = std::size_t(m);
        const model::LossShareScales k = model::loss_share_scales(local[i], whole, obj);
        const EngineMicroResult out = engine_->forward_backward(micro[i], std::move(masked[i]), rngs[i], k.mlm, k.rtd);
        check_finite_loss(out.metrics);
        add_metrics(sums, out.metrics, local[i], whole, out.share_loss);
      }
      sums[kMetricCount - 1] = double(A);
      r.grad_norm = engine_->clip_and_update(r.learning_rate, options_.clip_norm);
      r.metrics = metrics_from(sums);
      ++step_;
      return r;
    }
    for (int m = 0; m < A; ++m) {
      const std::size_t i = std::size_t(m);
      const model::PretrainingResult<T> out = model::pretraining_forward(model_, micro[i], std::move(masked[i]),
                                                                         Tensor<std::int32_t>(), rngs[i], true, obj);
      check_finite_loss(out.metrics);
      const Var<T> loss = model::loss_share(out, local[i], whole, obj);
      loss.backward();
      add_metrics(sums, out.metrics, local[i], whole, double(loss.item()));
    }
    sums[kMetricCount - 1] = double(A);  // how many micro-batches were averaged
    comm_.allreduce_sum(sums, kMetricCount);
    sync_.sum();
    r.grad_norm = optim::clip_grad_global_norm(params_, options_.clip_norm);
    optimizer_.step(r.learning_rate);
    optimizer_.zero_grad();
    r.metrics = metrics_from(sums);
    ++step_;
    return r;
  }
  StepReport step(const model::Batch& batch) {
    single_batch_.assign(1, batch);  // shares the tensors; the vector keeps its capacity
    return step(single_batch_);
  }

  // Runs every following step on `engine` (built over this trainer's parameters and optimizer);
  // it starts from the current weights and moments.
  void set_engine(std::unique_ptr<StepEngine<T>> engine) {
    ELECTRA_CHECK(comm_.size() == 1, value_error, "pretrainer: a device engine runs in one process; this run has ",
                  comm_.size(), " ranks");
    engine_ = std::move(engine);
    if (engine_) engine_->sync_to_device();
  }
  const StepEngine<T>* engine() const { return engine_.get(); }
  // A held-out batch's metrics in evaluation mode (no gradient), on the engine if there is one.
  PretrainMetrics evaluate(const model::Batch& batch, Rng& rng) {
    if (engine_) return engine_->evaluate(batch, rng);
    NoGradGuard no_grad;
    return model::pretraining_step(model_, batch, rng, false, options_.objective).metrics;
  }
  // The engine's weights and moments into the CPU model and optimizer (a no-op without one).
  void sync_to_host() {
    if (engine_) engine_->sync_to_host();
  }
  void sync_to_device() {
    if (engine_) engine_->sync_to_device();
  }

  std::int64_t steps_done() const { return step_; }
  const PretrainerOptions& options() const { return options_; }
  const nn::ParameterList<T>& parameters() const { return params_; }
  optim::AdamW<T>& optimizer() { return optimizer_; }
  const optim::AdamW<T>& optimizer() const { return optimizer_; }
  dist::Communicator& communicator() { return comm_; }
  // The run's RNG: its state keys every step's draws (slot_rng) and is saved in checkpoints.
  Rng& rng() { return rng_; }
  const Rng& rng() const { return rng_; }
  model::ElectraModel<T>& model() { return model_; }
  const model::ElectraModel<T>& model() const { return model_; }
  // For checkpoints: the step count to continue from.
  void set_steps_done(std::int64_t s) {
    ELECTRA_CHECK(s >= 0, value_error, "pretrainer: step count must be >= 0, got ", s);
    step_ = s;
  }

 private:
  // mlm_loss, disc_loss, total_loss (summed shares), then 7 averaged metrics, then the count.
  static constexpr int kMetricCount = 11;

  void check_finite_loss(const PretrainMetrics& m) const {
    ELECTRA_CHECK(std::isfinite(m.total_loss), value_error, "pretraining step ", step_,
                  ": the loss is not finite (mlm ", m.mlm_loss, ", rtd ", m.disc_loss,
                  "); lower the learning rate or check the data");
  }

  Rng slot_rng(int slot) const {
    return Rng(mix64(rng_.state() ^ mix64(std::uint64_t(step_) * 0x9E3779B97F4A7C15ull + std::uint64_t(slot))));
  }

  static void add_metrics(double* s, const PretrainMetrics& m, model::LossCounts local, model::LossCounts whole,
                          double loss) {
    const double eps = model::kLossDenominatorEps;
    s[0] += m.mlm_loss * (local.masked + eps) / (whole.masked + eps);
    s[1] += m.disc_loss * (local.real + eps) / (whole.real + eps);
    s[2] += loss;
    const double avg[] = {m.mlm_accuracy, m.sampled_accuracy, m.disc_accuracy,    m.disc_precision,
                          m.disc_recall,  m.disc_auc,         m.replaced_fraction};
    for (int k = 0; k < 7; ++k) s[3 + k] += avg[k];
  }

  static PretrainMetrics metrics_from(const double* s) {
    const double n = s[kMetricCount - 1];
    PretrainMetrics m;
    m.mlm_loss = s[0], m.disc_loss = s[1], m.total_loss = s[2];
    double* avg[] = {&m.mlm_accuracy, &m.sampled_accuracy, &m.disc_accuracy,    &m.disc_precision,
                     &m.disc_recall,  &m.disc_auc,         &m.replaced_fraction};
    for (int k = 0; k < 7; ++k) *avg[k] = s[3 + k] / n;
    return m;
  }

  static optim::AdamWOptions adam_options(const PretrainerOptions& o) {
    optim::AdamWOptions a;
    a.lr = o.learning_rate;
    a.weight_decay = o.weight_decay;
    return a;
  }

  model::ElectraModel<T>& model_;
  PretrainerOptions options_;
  nn::ParameterList<T> params_;
  optim::AdamW<T> optimizer_;
  dist::Communicator& comm_;
  dist::GradientSync<T> sync_;
  Rng rng_;
  std::int64_t step_ = 0;
  std::vector<Rng> micro_rngs_;  // step()'s per-micro-batch scratch
  std::vector<model::MaskedBatch<T>> micro_masked_;
  std::vector<model::LossCounts> micro_counts_;
  std::vector<model::Batch> single_batch_;  // step(batch)'s one-element list
  std::unique_ptr<StepEngine<T>> engine_;
};

}  // namespace electra::train
