// The pretraining loop's one step and its state: model, AdamW, schedule, step count and RNG.
//   step(batch):  lr = schedule(t); forward; check the loss is finite; backward;
//                 clip all gradients (generator + discriminator) to global norm 1.0;
//                 AdamW update; zero gradients; t += 1
// A checkpoint holds all of it (io/checkpoint.hpp), so a resumed run continues bit-exactly.
#pragma once
#include <cmath>
#include <cstdint>

#include "../model/pretraining.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"

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
};

struct StepReport {
  PretrainMetrics metrics;
  double learning_rate = 0, grad_norm = 0;
  std::int64_t step = 0;  // the step that was just taken (0-based)
};

template <class T>
class Pretrainer {
 public:
  Pretrainer(model::ElectraModel<T>& model, const PretrainerOptions& o)
      : model_(model), options_(o), params_(model.parameters()), optimizer_(params_, adam_options(o)), rng_(o.seed) {
    ELECTRA_CHECK(o.clip_norm > 0, value_error, "pretrainer: clip norm must be > 0, got ", o.clip_norm);
    optim::linear_warmup_decay(0, o.learning_rate, o.total_steps, o.warmup_steps);  // validates the schedule
  }

  StepReport step(const model::Batch& batch) {
    StepReport r;
    r.step = step_;
    r.learning_rate = optim::linear_warmup_decay(step_, options_.learning_rate, options_.total_steps,
                                                 options_.warmup_steps);
    model::PretrainingResult<T> out = model::pretraining_step(model_, batch, rng_, true, options_.objective);
    const double loss = double(out.loss.item());
    ELECTRA_CHECK(std::isfinite(loss), value_error, "pretraining step ", step_, ": the loss is not finite (mlm ",
                  out.metrics.mlm_loss, ", rtd ", out.metrics.disc_loss, "); lower the learning rate or check the data");
    out.loss.backward();
    r.grad_norm = optim::clip_grad_global_norm(params_, options_.clip_norm);
    optimizer_.step(r.learning_rate);
    optimizer_.zero_grad();
    r.metrics = out.metrics;
    ++step_;
    return r;
  }

  std::int64_t steps_done() const { return step_; }
  const PretrainerOptions& options() const { return options_; }
  const nn::ParameterList<T>& parameters() const { return params_; }
  optim::AdamW<T>& optimizer() { return optimizer_; }
  const optim::AdamW<T>& optimizer() const { return optimizer_; }
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
  Rng rng_;
  std::int64_t step_ = 0;
};

}  // namespace electra::train
