// finetune::TaskEngine, fine-tuning's device path (the CUDA engine's, examples/cli/cuda_task_engine.cu),
// driven here by an engine that trains a CPU twin of the task model the way the plain path trains
// the model itself. With it, fine-tuning must follow the plain path bit for bit (batches, dropout
// keys, loss shares, layer-wise rates, clip and AdamW) for the three kinds of target, leave the
// CPU model alone until sync_to_host(), predict on the engine, and run_glue / run_squad must
// write the same predictions and the same saved model.
#include <doctest/doctest.h>

#include <electra/finetune/glue_run.hpp>
#include <electra/finetune/squad_run.hpp>
#include <electra/optim/clip.hpp>
#include <fstream>
#include <sstream>

#include "helpers.hpp"

using namespace electra;
using finetune::HeadKind;
using finetune::Pooling;
using finetune::TaskModel;
namespace fs = std::filesystem;

namespace {

class TwinTaskEngine final : public finetune::TaskEngine<float> {
 public:
  // The twin starts from other weights: the engine copies the spec's values in, as a device upload would.
  explicit TwinTaskEngine(const finetune::TaskEngineSpec<float>& spec)
      : master_(spec.parameters),
        twin_init_(99),
        twin_(spec.dims, spec.head, spec.outputs, twin_init_, spec.pooling),
        params_(twin_.parameters()),
        optimizer_(params_, spec.optimizer ? spec.optimizer->options() : optim::AdamWOptions{}) {
    REQUIRE(params_.size() == master_.size());
    for (std::size_t i = 0; i < params_.size(); ++i) {
      REQUIRE(params_[i].name == master_[i].name);
      params_[i].var.value().copy_from(master_[i].var.value());
    }
    if (spec.optimizer) {
      std::vector<double> scales;
      for (std::size_t i = 0; i < params_.size(); ++i) scales.push_back(spec.optimizer->lr_scale(i));
      optimizer_.set_lr_scales(scales);
    }
    ++built;
  }

  double forward_backward(const finetune::TaskBatch& b, Rng& rng, double scale) override {
    const Var<float> l = ops::scale(
        finetune::task_loss(twin_(b.inputs.ids, b.inputs.types, b.inputs.mask, rng, true), b.inputs, b.targets),
        float(scale));
    l.backward();
    ++steps;
    return double(l.item());
  }
  double clip_and_update(double lr, double max_norm) override {
    const double norm = optim::clip_grad_global_norm(params_, max_norm);
    optimizer_.step(lr);
    optimizer_.zero_grad();
    return norm;
  }
  finetune::HeadValues<float> predict(const finetune::SequenceBatch& b) override {
    ++predictions;
    return finetune::predict_heads<float>(twin_, nullptr, b);
  }
  void sync_to_host() override {
    for (std::size_t i = 0; i < params_.size(); ++i) master_[i].var.value().copy_from(params_[i].var.value());
  }
  std::string describe() const override { return "cpu twin"; }

  static inline int built = 0, steps = 0, predictions = 0;

 private:
  nn::ParameterList<float> master_;
  Rng twin_init_;
  TaskModel<float> twin_;
  nn::ParameterList<float> params_;
  optim::AdamW<float> optimizer_;
};

finetune::TaskEngineFactory<float> twin_factory() {
  return [](const finetune::TaskEngineSpec<float>& spec) -> std::unique_ptr<finetune::TaskEngine<float>> {
    return std::make_unique<TwinTaskEngine>(spec);
  };
}

model::EncoderDims small_dims() {
  model::EncoderDims d;
  d.vocab = 300, d.max_pos = 32, d.type_vocab = 2, d.layers = 2, d.hidden = 16, d.embed = 8, d.heads = 2, d.ffn = 32;
  return d;
}

struct Example {
  std::vector<std::int32_t> ids, segments;
  std::int32_t label = 0, start_position = 0, end_position = 0;
  double score = 0;
};

// Seven sequences of 5 to 11 tokens, two segments each.
std::vector<Example> examples() {
  std::vector<Example> out;
  for (int i = 0; i < 7; ++i) {
    Example e;
    const int n = 5 + i;
    for (int t = 0; t < n; ++t) {
      e.ids.push_back(t == 0 ? 101 % 300 : 3 + (i * 37 + t * 11) % 290);
      e.segments.push_back(t > n / 2 ? 1 : 0);
    }
    e.label = i % 3;
    e.score = 0.7 * i;
    e.start_position = 1 + i % 3;
    e.end_position = e.start_position + 1;
    out.push_back(std::move(e));
  }
  return out;
}

finetune::TaskTargets targets_of(finetune::TargetKind kind, const std::vector<Example>& ex,
                                 const std::vector<std::size_t>& rows) {
  const index_t B = index_t(rows.size());
  Tensor<std::int32_t> labels({B}), starts({B}), ends({B});
  std::vector<double> values;
  for (index_t i = 0; i < B; ++i) {
    const Example& e = ex[rows[std::size_t(i)]];
    labels.at(i) = e.label, starts.at(i) = e.start_position, ends.at(i) = e.end_position;
    values.push_back(e.score / 5.0);
  }
  if (kind == finetune::TargetKind::values) return finetune::TaskTargets::regression(values);
  if (kind == finetune::TargetKind::span) return finetune::TaskTargets::span(starts, ends);
  return finetune::TaskTargets::classes(labels);
}

bool same_values(const nn::ParameterList<float>& a, const nn::ParameterList<float>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].var.value().to_vector() != b[i].var.value().to_vector()) return false;
  return true;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a TaskEngine training a CPU twin follows plain fine-tuning bit for bit, for labels, values and spans") {
  struct Case {
    const char* name;
    HeadKind head;
    Pooling pooling;
    index_t outputs;
    finetune::TargetKind kind;
  };
  for (const Case& k :
       {Case{"classes, official head", HeadKind::official, Pooling::cls, 3, finetune::TargetKind::classes},
        Case{"values, hf head, mean pooling", HeadKind::hf, Pooling::mean, 1, finetune::TargetKind::values},
        Case{"spans", HeadKind::span, Pooling::cls, 2, finetune::TargetKind::span}}) {
    CAPTURE(k.name);
    const std::vector<Example> ex = examples();
    Rng init_a(4), init_b(4), init_c(4);
    TaskModel<float> plain_model(small_dims(), k.head, k.outputs, init_a, k.pooling),
        engine_model(small_dims(), k.head, k.outputs, init_b, k.pooling),
        initial(small_dims(), k.head, k.outputs, init_c, k.pooling);
    finetune::FinetuneOptions o;
    o.batch_size = 3;  // 7 examples: batches of 3, 3 and a short 1
    o.learning_rate = 1e-3;
    o.clip_norm = 0.5;
    o.weight_decay = 0.01;
    o.seed = 3;
    const std::int64_t total = 5;
    finetune::FineTuner<float> plain(plain_model, o, total), with_engine(engine_model, o, total);
    const auto engine = finetune::detail::make_engine(twin_factory(), engine_model, &with_engine.optimizer());
    with_engine.set_engine(engine.get());
    CHECK(with_engine.device() == "cpu twin");
    TwinTaskEngine::steps = 0;

    auto batch_of = [&](const std::vector<std::size_t>& rows) {
      return finetune::TaskBatch{finetune::pad_batch(ex, rows), targets_of(k.kind, ex, rows)};
    };
    const finetune::TrainLoopResult a =
        finetune::train_epochs(plain, ex.size(), o.batch_size, o.seed, batch_of, {"plain", 1, nullptr});
    const finetune::TrainLoopResult b =
        finetune::train_epochs(with_engine, ex.size(), o.batch_size, o.seed, batch_of, {"plain", 1, nullptr});
    CHECK(TwinTaskEngine::steps == 5);
    CHECK(a.log_jsonl == b.log_jsonl);  // every step's loss, lr and gradient norm, to the last digit
    CHECK(a.log_jsonl.find("\"step\":5") != std::string::npos);

    // The engine trained; the CPU model is untouched until sync_to_host().
    CHECK(same_values(engine_model.parameters(), initial.parameters()));
    CHECK_FALSE(same_values(plain_model.parameters(), initial.parameters()));
    with_engine.sync_to_host();
    CHECK(same_values(engine_model.parameters(), plain_model.parameters()));

    // Evaluation runs on the engine and gives the CPU model's outputs.
    const finetune::SequenceBatch all = finetune::pad_batch(ex, {0, 1, 2, 3, 4, 5, 6});
    TwinTaskEngine::predictions = 0;
    const finetune::HeadValues<float> want = plain.predict(all), got = with_engine.predict(all);
    CHECK(TwinTaskEngine::predictions == 1);
    if (k.kind == finetune::TargetKind::span) {
      CHECK(got.start.to_vector() == want.start.to_vector());
      CHECK(got.end.to_vector() == want.end.to_vector());
      CHECK(got.start.shape() == Shape{7, 11});
    } else {
      CHECK(got.logits.to_vector() == want.logits.to_vector());
      CHECK(got.logits.shape() == Shape{7, k.outputs});
    }
  }
}

TEST_CASE("a device engine runs in one process: FineTuner refuses it under several ranks") {
  // A communicator of two ranks that is never used to exchange anything.
  struct TwoRanks final : dist::Communicator {
    int rank() const override { return 0; }
    int size() const override { return 2; }
    void allreduce_sum(float*, std::size_t) override {}
    void allreduce_sum(double*, std::size_t) override {}
    void barrier() override {}
    std::string describe() const override { return "two ranks"; }
  } comm;
  Rng init(1);
  TaskModel<float> m(small_dims(), HeadKind::official, 2, init);
  finetune::FineTuner<float> tuner(m, {}, 10, comm);
  const auto engine = finetune::detail::make_engine(twin_factory(), m, &tuner.optimizer());
  test::check_throws_with<value_error>([&] { tuner.set_engine(engine.get()); }, {"one process", "2 ranks"});
}

TEST_CASE("run_glue and run_squad on an engine write the plain path's predictions and model") {
  const text::Tokenizer tok =
      text::Tokenizer::from_file(std::string(ELECTRA_SOURCE_DIR) + "/data/vocab/bert-uncased-vocab.txt");
  const model::EncoderDims dims = model::electra_dims_of<config::Tiny>().discriminator;
  test::TempDir dir;

  finetune::GlueRunOptions g;
  g.data_dir = fs::path(ELECTRA_TEST_FIXTURES) / "glue" / "SST-2";
  g.train.batch_size = 2;
  g.train.epochs = 2;
  g.train.max_seq_len = 32;
  g.save_model = true;
  g.progress = nullptr;
  g.out_dir = dir.path / "glue-plain";
  const finetune::GlueRunResult plain = finetune::run_glue<float>(finetune::glue_task("sst2"), dims, tok, g);
  g.out_dir = dir.path / "glue-engine";
  g.engine = twin_factory();
  TwinTaskEngine::built = 0;
  const finetune::GlueRunResult on_engine = finetune::run_glue<float>(finetune::glue_task("sst2"), dims, tok, g);
  CHECK(TwinTaskEngine::built == 1);
  CHECK(on_engine.median.front().value == plain.median.front().value);
  for (const char* file :
       {"seed-0/dev_predictions.tsv", "seed-0/SST-2.tsv", "seed-0/train_log.jsonl", "seed-0/model.safetensors"}) {
    CAPTURE(file);
    CHECK(read_text(dir.path / "glue-engine" / file) == read_text(dir.path / "glue-plain" / file));
  }
  CHECK(read_text(dir.path / "glue-engine/results.json").find("\"device\": \"cpu twin\"") != std::string::npos);
  CHECK(read_text(dir.path / "glue-plain/results.json").find("\"device\": \"cpu\"") != std::string::npos);

  finetune::SquadRunOptions s;
  s.train_file = s.dev_file = fs::path(ELECTRA_TEST_FIXTURES) / "squad" / "v1.1-unicode.json";
  s.train.batch_size = 2;
  s.train.epochs = 1;
  s.squad.max_seq_len = s.train.max_seq_len = 64;
  s.squad.doc_stride = 32;
  s.squad.max_query_len = 16;
  s.progress = nullptr;
  s.out_dir = dir.path / "squad-plain";
  finetune::run_squad<float>(dims, tok, s);
  s.out_dir = dir.path / "squad-engine";
  s.engine = twin_factory();
  finetune::run_squad<float>(dims, tok, s);
  for (const char* file : {"predictions.json", "train_log.jsonl", "model.safetensors"}) {
    CAPTURE(file);
    CHECK(read_text(dir.path / "squad-engine" / file) == read_text(dir.path / "squad-plain" / file));
  }
  // --eval-only on an engine: built without an optimizer, it only predicts.
  s.eval_only = true;
  s.init = dir.path / "squad-plain" / "model.safetensors";
  s.out_dir = dir.path / "squad-eval";
  TwinTaskEngine::predictions = 0;
  finetune::run_squad<float>(dims, tok, s);
  CHECK(TwinTaskEngine::predictions > 0);
  CHECK(read_text(dir.path / "squad-eval/predictions.json") == read_text(dir.path / "squad-plain/predictions.json"));
}
