// train::StepEngine, the Pretrainer's device path (the CUDA engine's, examples/cli/cuda_engine.cu),
// driven here by an engine that trains a CPU twin of the model the way the plain path trains the
// master. With it the Pretrainer must follow the plain path bit for bit (the same masking, keys,
// loss shares over micro-batches, clip and AdamW), leave the master copy alone until
// sync_to_host(), evaluate held-out batches on the engine, and continue from a loaded state
// after sync_to_device().
#include <doctest/doctest.h>

#include <electra/optim/clip.hpp>
#include <electra/train/pretrainer.hpp>
#include <vector>

#include "pretraining_batches.hpp"

using namespace electra;

namespace {

// Copies values (and AdamW moments) between two parameter lists of the same model layout.
void copy_state(const nn::ParameterList<float>& from, const optim::AdamW<float>& from_opt,
                const nn::ParameterList<float>& to, const optim::AdamW<float>& to_opt) {
  for (std::size_t i = 0; i < from.size(); ++i) {
    to[i].var.value().copy_from(from[i].var.value());
    to_opt.state(i).m.copy_from(from_opt.state(i).m);
    to_opt.state(i).v.copy_from(from_opt.state(i).v);
  }
}

class TwinEngine final : public train::StepEngine<float> {
 public:
  TwinEngine(train::Pretrainer<float>& master, model::ElectraModel<float>& twin)
      : master_(master), twin_(twin), params_(twin.parameters()), optimizer_(params_, master.optimizer().options()) {}

  train::EngineMicroResult forward_backward(const model::Batch& batch, model::MaskedBatch<float> masked, Rng& rng,
                                            double mlm_scale, double rtd_scale) override {
    const model::PretrainingOptions& o = master_.options().objective;
    const model::PretrainingResult<float> r =
        model::pretraining_forward(twin_, batch, std::move(masked), Tensor<std::int32_t>(), rng, true, o);
    Var<float> loss = ops::scale(r.mlm_loss, float(mlm_scale));
    if (o.electra_objective) loss = ops::add(loss, ops::scale(r.rtd_loss, float(rtd_scale)));
    loss.backward();
    ++micro_batches;
    return {r.metrics, double(loss.item())};
  }
  train::PretrainMetrics evaluate(const model::Batch& batch, Rng& rng) override {
    NoGradGuard no_grad;
    ++evaluations;
    return model::pretraining_step(twin_, batch, rng, false, master_.options().objective).metrics;
  }
  double clip_and_update(double lr, double max_norm) override {
    const double norm = optim::clip_grad_global_norm(params_, max_norm);
    optimizer_.step(lr);
    optimizer_.zero_grad();
    return norm;
  }
  void sync_to_host() override { copy_state(params_, optimizer_, master_.parameters(), master_.optimizer()); }
  void sync_to_device() override { copy_state(master_.parameters(), master_.optimizer(), params_, optimizer_); }
  std::string describe() const override { return "cpu twin"; }
  std::string precision_name() const override { return "cpu-twin"; }
  double peak_flops() const override { return 0; }

  int micro_batches = 0, evaluations = 0;

 private:
  train::Pretrainer<float>& master_;
  model::ElectraModel<float>& twin_;
  nn::ParameterList<float> params_;
  optim::AdamW<float> optimizer_;
};

bool same_values(const nn::ParameterList<float>& a, const nn::ParameterList<float>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].var.value().to_vector() != b[i].var.value().to_vector()) return false;
  return true;
}

train::PretrainerOptions options(bool electra_objective) {
  train::PretrainerOptions o;
  o.objective.electra_objective = electra_objective;
  o.accumulate = 2;
  o.total_steps = 10;
  o.warmup_steps = 2;
  o.seed = 5;
  return o;
}

// Four micro-batch pairs: the four sequences, and their first and last two as a pair.
std::vector<model::Batch> micro_batches(int step) {
  const model::Batch all = test::four_sequences();
  if (step % 2 == 0) return {all, all};
  return {model::Batch{test::rows_of(all.input_ids, 0, 2), test::rows_of(all.input_mask, 0, 2), {}},
          model::Batch{test::rows_of(all.input_ids, 2, 2), test::rows_of(all.input_mask, 2, 2), {}}};
}

}  // namespace

TEST_CASE("a StepEngine training a CPU twin follows the plain pretraining path bit for bit") {
  for (const bool electra_objective : {true, false}) {
    CAPTURE(electra_objective);
    const model::ElectraDims dims = model::electra_dims_of<config::Tiny>();
    Rng init_a(1), init_b(1), init_twin(2);  // the twin starts elsewhere: set_engine must upload
    model::ElectraModel<float> plain_model(dims, init_a), engine_model(dims, init_b), twin(dims, init_twin);
    train::Pretrainer<float> plain(plain_model, options(electra_objective)),
        with_engine(engine_model, options(electra_objective));
    auto engine = std::make_unique<TwinEngine>(with_engine, twin);
    TwinEngine* e = engine.get();
    with_engine.set_engine(std::move(engine));
    REQUIRE(with_engine.engine() == e);
    Rng init_again(1);
    const model::ElectraModel<float> fresh(dims, init_again);
    const nn::ParameterList<float> initial = fresh.parameters();

    for (int s = 0; s < 3; ++s) {
      const train::StepReport a = plain.step(micro_batches(s)), b = with_engine.step(micro_batches(s));
      CHECK(a.grad_norm == b.grad_norm);
      CHECK(a.learning_rate == b.learning_rate);
      CHECK(a.metrics.total_loss == b.metrics.total_loss);
      CHECK(a.metrics.mlm_loss == b.metrics.mlm_loss);
      CHECK(a.metrics.disc_loss == b.metrics.disc_loss);
      CHECK(a.metrics.mlm_accuracy == b.metrics.mlm_accuracy);
      CHECK(a.metrics.disc_auc == b.metrics.disc_auc);
    }
    CHECK(e->micro_batches == 6);
    // The engine trained; the master copy is untouched until sync_to_host().
    CHECK(same_values(with_engine.parameters(), initial));
    CHECK_FALSE(same_values(plain.parameters(), initial));
    // Held-out evaluation runs on the engine: the same metrics as the plain path's, although the
    // master copy is still the initial model.
    Rng eval_a(9), eval_b(9);
    const train::PretrainMetrics ea = plain.evaluate(test::four_sequences(), eval_a),
                                 eb = with_engine.evaluate(test::four_sequences(), eval_b);
    CHECK(e->evaluations == 1);
    CHECK(ea.total_loss == eb.total_loss);
    CHECK(ea.mlm_accuracy == eb.mlm_accuracy);
    CHECK(ea.disc_auc == eb.disc_auc);
    with_engine.sync_to_host();
    CHECK(same_values(with_engine.parameters(), plain.parameters()));
    for (std::size_t i = 0; i < plain.optimizer().size(); ++i)
      CHECK(with_engine.optimizer().state(i).v.to_vector() == plain.optimizer().state(i).v.to_vector());

    // A loaded state (here: the plain run one step further) continues on the engine after
    // sync_to_device(), as after --resume.
    plain.step(micro_batches(3));
    copy_state(plain.parameters(), plain.optimizer(), with_engine.parameters(), with_engine.optimizer());
    with_engine.set_steps_done(plain.steps_done());
    with_engine.sync_to_device();
    plain.step(micro_batches(4));
    with_engine.step(micro_batches(4));
    with_engine.sync_to_host();
    CHECK(same_values(with_engine.parameters(), plain.parameters()));
  }
}
