// Fine-tuning machinery: task heads in HuggingFace's names, starting from pretrained weights,
// the batcher, the epoch order, the schedule and layer-wise rates, and gradient checks of the
// three task losses (classification, regression, span) through the whole encoder.
#include <electra/finetune/glue_run.hpp>
#include <electra/finetune/squad_run.hpp>
#include <electra/io/weights.hpp>
#include <set>

#include "helpers.hpp"

using namespace electra;
using finetune::HeadKind;
using finetune::Pooling;
using finetune::TaskModel;
namespace fs = std::filesystem;

namespace {
model::EncoderDims tiny_dims() { return model::electra_dims_of<config::Tiny>().discriminator; }

std::set<std::string> names_of(const nn::ParameterList<float>& ps) {
  std::set<std::string> s;
  for (const auto& p : ps) s.insert(p.name);
  return s;
}

struct Feature {
  std::vector<std::int32_t> ids, segments;
};
}  // namespace

TEST_CASE("task heads use HuggingFace's names: classifier, classifier.dense/out_proj, qa_outputs") {
  Rng rng(1);
  const TaskModel<float> official(tiny_dims(), HeadKind::official, 3, rng);
  CHECK(names_of(official.head_parameters()) == std::set<std::string>{"classifier.weight", "classifier.bias"});
  CHECK(official.classifier.weight.shape() == Shape{3, 64});
  const TaskModel<float> hf(tiny_dims(), HeadKind::hf, 2, rng);
  CHECK(names_of(hf.head_parameters()) == std::set<std::string>{"classifier.dense.weight", "classifier.dense.bias",
                                                                "classifier.out_proj.weight",
                                                                "classifier.out_proj.bias"});
  const TaskModel<float> span(tiny_dims(), HeadKind::span, 0, rng);
  CHECK(names_of(span.head_parameters()) == std::set<std::string>{"qa_outputs.weight", "qa_outputs.bias"});
  CHECK(span.classifier.weight.shape() == Shape{2, 64});
  // The encoder's names are exactly the pretrained discriminator's, minus its RTD head.
  const model::Electra<config::Tiny> pretrained(rng);
  std::set<std::string> disc = names_of(pretrained.discriminator_parameters());
  std::erase_if(disc, [](const std::string& n) { return n.starts_with("discriminator_predictions."); });
  CHECK(names_of(official.encoder_parameters()) == disc);
}

TEST_CASE("the encoder starts from an exported discriminator or a training checkpoint, bit for bit") {
  test::TempDir dir;
  Rng rng(2);
  const model::Electra<config::Tiny> pretrained(rng);
  io::save_parameters(dir.path / "disc.safetensors", pretrained.discriminator_parameters());
  io::save_parameters(dir.path / "checkpoint.safetensors", pretrained.parameters());
  for (const char* file : {"disc.safetensors", "checkpoint.safetensors"}) {
    CAPTURE(file);
    TaskModel<float> m(tiny_dims(), HeadKind::official, 2, rng);
    const io::SafetensorsFile f(dir.path / file);
    const auto loaded = finetune::load_task_model(f, m);
    CHECK(loaded.encoder_tensors == m.encoder_parameters().size());
    CHECK_FALSE(loaded.head_loaded);
    CHECK(test::max_abs_diff(m.embeddings.word.value(), pretrained.embeddings.word.value()) == 0);
    CHECK(test::max_abs_diff(m.encoder.layers[1].output.weight.value(),
                             pretrained.discriminator.layers[1].output.weight.value()) == 0);
  }
}

TEST_CASE("a fine-tuned model reloads with its head, a file of another size names the tensor and shapes") {
  test::TempDir dir;
  Rng rng(3);
  const TaskModel<float> tuned(tiny_dims(), HeadKind::hf, 2, rng);
  io::save_parameters(dir.path / "tuned.safetensors", tuned.parameters());
  TaskModel<float> again(tiny_dims(), HeadKind::hf, 2, rng);
  CHECK(finetune::load_task_model(io::SafetensorsFile(dir.path / "tuned.safetensors"), again).head_loaded);
  CHECK(test::max_abs_diff(again.classifier.weight.value(), tuned.classifier.weight.value()) == 0);

  model::EncoderDims wider = tiny_dims();
  wider.hidden = 128;
  wider.heads = 2;
  TaskModel<float> other(wider, HeadKind::official, 2, rng);
  test::check_throws_with<io_error>(
      [&] { finetune::load_task_model(io::SafetensorsFile(dir.path / "tuned.safetensors"), other); },
      {"tuned.safetensors", "has shape", "[128"});
  io::save_parameters(dir.path / "junk.safetensors", tuned.head_parameters());
  test::check_throws_with<io_error>(
      [&] { finetune::load_task_model(io::SafetensorsFile(dir.path / "junk.safetensors"), other); },
      {"junk.safetensors", "not an ELECTRA discriminator"});
}

TEST_CASE("a padded batch gives each sequence the logits it gets alone, with either pooling") {
  for (const Pooling pooling : {Pooling::cls, Pooling::mean}) {
    CAPTURE(finetune::pooling_name(pooling));
    Rng rng(4);
    const TaskModel<float> m(tiny_dims(), HeadKind::official, 2, rng, pooling);
    const std::vector<Feature> f = {{{101, 2023, 2003, 102}, {0, 0, 0, 0}},
                                    {{101, 1996, 4937, 2938, 2006, 1996, 13523, 102}, {0, 0, 0, 0, 1, 1, 1, 1}}};
    const finetune::SequenceBatch both = finetune::pad_batch(f, {0, 1});
    CHECK(both.ids.shape() == Shape{2, 8});
    CHECK(both.mask.at(0, 3) == 1);
    CHECK(both.mask.at(0, 4) == 0);
    CHECK(both.types.at(1, 5) == 1);
    NoGradGuard no_grad;
    const Tensor<float> joint = m(both.ids, both.types, both.mask, rng, false).logits.value();
    const finetune::SequenceBatch alone = finetune::pad_batch(f, {0});
    const Tensor<float> single = m(alone.ids, alone.types, alone.mask, rng, false).logits.value();
    CHECK(alone.ids.shape() == Shape{1, 4});
    CHECK(std::abs(joint.at(0, 0) - single.at(0, 0)) < 1e-6);
    CHECK(std::abs(joint.at(0, 1) - single.at(0, 1)) < 1e-6);
  }
}

TEST_CASE("mean pooling averages the unpadded hidden states, and an unknown pooling is named") {
  Rng rng(5);
  const TaskModel<float> m(tiny_dims(), HeadKind::official, 2, rng, Pooling::mean);
  const std::vector<Feature> f = {{{101, 2023, 2003, 102}, {0, 0, 0, 0}},
                                  {{101, 1996, 4937, 2938, 2006, 102}, {0, 0, 0, 1, 1, 1}}};
  const finetune::SequenceBatch b = finetune::pad_batch(f, {0, 1});
  NoGradGuard no_grad;
  const Tensor<float> h = m.hidden(b.ids, b.types, b.mask, rng, false).value();  // [2,6,64]
  const Tensor<float> logits = m(b.ids, b.types, b.mask, rng, false).logits.value();
  const Tensor<float>& w = m.classifier.weight.value();  // [2,64]
  const Tensor<float>& bias = m.classifier.bias.value();
  for (index_t ex = 0; ex < 2; ++ex)
    for (index_t k = 0; k < 2; ++k) {
      const index_t len = ex == 0 ? 4 : 6;  // the padding of example 0 must not count
      double want = bias.at(k);
      for (index_t j = 0; j < 64; ++j) {
        double pooled = 0;
        for (index_t t = 0; t < len; ++t) pooled += h.at(ex, t, j);
        want += w.at(k, j) * pooled / double(len);
      }
      CHECK(logits.at(ex, k) == doctest::Approx(want).epsilon(1e-5));
    }
  test::check_throws_with<value_error>([] { finetune::pooling_from("max"); }, {"unknown pooling 'max' (cls or mean)"});
}

TEST_CASE("each epoch visits every example once, in a seeded order that changes per epoch") {
  const auto e0 = finetune::epoch_batches(10, 4, 7, 0);
  REQUIRE(e0.size() == 3);
  CHECK(e0[2].size() == 2);  // the short last batch is kept
  std::vector<std::size_t> seen;
  for (const auto& b : e0) seen.insert(seen.end(), b.begin(), b.end());
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 0; i < 10; ++i) CHECK(seen[i] == i);
  CHECK(finetune::epoch_batches(10, 4, 7, 0) == e0);
  CHECK(finetune::epoch_batches(10, 4, 7, 1) != e0);
  CHECK(finetune::epoch_batches(10, 4, 8, 0) != e0);
  CHECK(finetune::total_train_steps(8551, 32, 3) == 801);  // int(3 · 8551 / 32), CoLA
  CHECK(finetune::total_train_steps(3, 32, 1) == 1);
}

TEST_CASE("fine-tuning lr: 10% linear warm-up, linear decay, and decay^(head − depth) per layer") {
  Rng rng(5);
  TaskModel<float> m(tiny_dims(), HeadKind::official, 2, rng);
  finetune::FinetuneOptions o;
  o.learning_rate = 1e-3;
  finetune::FineTuner<float> tuner(m, o, 100);
  CHECK(tuner.learning_rate() == 0.0);  // step 0 of the official schedule
  // lr(t) = base · (1 − t/T) · min(1, t/10); one step moves t to 1.
  const finetune::SequenceBatch b = finetune::pad_batch(std::vector<Feature>{{{101, 2023, 102}, {0, 0, 0}}}, {0});
  tuner.step(ops::sum(m(b.ids, b.types, b.mask, tuner.rng(), true).logits));
  CHECK(tuner.learning_rate() == doctest::Approx(1e-3 * 0.99 * 0.1));
  // Tiny has 2 layers: head depth 4, embeddings 0, layer i at i + 1 (the official skipped level).
  const auto scales = optim::layerwise_lr_scales(m.parameters(), 0.8, 2);
  const auto params = m.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    CAPTURE(params[i].name);
    if (params[i].name.starts_with("classifier.")) CHECK(scales[i] == 1.0);
    if (params[i].name.starts_with("electra.embeddings.")) CHECK(scales[i] == doctest::Approx(0.8 * 0.8 * 0.8 * 0.8));
    if (params[i].name.starts_with("electra.encoder.layer.1.")) CHECK(scales[i] == doctest::Approx(0.8 * 0.8));
  }
}

namespace {
const std::vector<Feature> kPair = {{{101, 2023, 2003, 102, 2009, 102}, {0, 0, 0, 0, 1, 1}},
                                    {{101, 1996, 4937, 102}, {0, 0, 0, 0}}};
}  // namespace

TEST_CASE("classification and regression losses, either pooling, pass a double gradient check through the encoder") {
  const finetune::SequenceBatch b = finetune::pad_batch(kPair, {0, 1});
  std::vector<finetune::GlueExample> ex(2);
  ex[0].label = 2, ex[1].label = 0;
  ex[0].score = 3.8, ex[1].score = 0.4;
  for (const char* name : {"mnli", "stsb"}) {
    CAPTURE(name);
    const finetune::GlueTask& task = finetune::glue_task(name);
    for (auto [head, pooling] : {std::pair{HeadKind::official, Pooling::cls}, std::pair{HeadKind::hf, Pooling::cls},
                                 std::pair{HeadKind::official, Pooling::mean}}) {
      Rng init(6);
      const TaskModel<double> m(tiny_dims(), head, task.num_labels(), init, pooling);
      auto loss = [&] {
        Rng rng(8);  // dropout on, the same masks every evaluation
        return finetune::task_loss(m(b.ids, b.types, b.mask, rng, true), b,
                                   finetune::detail::glue_targets(task, ex, {0, 1}));
      };
      test::check_parameter_gradients(m.parameters(), loss, b.ids, 2);
    }
  }
}

TEST_CASE("the span loss is (CE(start) + CE(end)) / 2, ignores padding, and passes a gradient check") {
  const finetune::SequenceBatch b = finetune::pad_batch(kPair, {0, 1});
  std::vector<finetune::SquadFeature> f(2);
  f[0].start_position = 4, f[0].end_position = 5;
  f[1].start_position = 0, f[1].end_position = 0;  // no answer in this window: [CLS]
  Rng init(7);
  const TaskModel<double> m(tiny_dims(), HeadKind::span, 2, init);
  {
    NoGradGuard no_grad;
    Rng rng(8);
    const auto out = m(b.ids, b.types, b.mask, rng, false);
    // By hand: row-wise log-softmax over the real tokens only.
    double expected = 0;
    for (index_t r = 0; r < 2; ++r) {
      const index_t len = index_t(kPair[std::size_t(r)].ids.size());
      for (const auto& [logits, target] : {std::pair{out.start.value(), f[std::size_t(r)].start_position},
                                           std::pair{out.end.value(), f[std::size_t(r)].end_position}}) {
        double z = 0;
        for (index_t t = 0; t < len; ++t) z += std::exp(logits.at(r, t));
        expected += (std::log(z) - logits.at(r, index_t(target))) / 2 / 2;  // mean over 2 rows, (s + e)/2
      }
    }
    CHECK(finetune::task_loss(out, b, finetune::detail::span_targets(f, {0, 1})).item() ==
          doctest::Approx(expected).epsilon(1e-12));
  }
  auto loss = [&] {
    Rng rng(8);
    return finetune::task_loss(m(b.ids, b.types, b.mask, rng, true), b, finetune::detail::span_targets(f, {0, 1}));
  };
  test::check_parameter_gradients(m.parameters(), loss, b.ids, 2);
}

TEST_CASE("median of seeds: middle value, or the mean of the two middle ones") {
  CHECK(finetune::median_of({0.3, 0.1, 0.2}) == 0.2);
  CHECK(finetune::median_of({0.4, 0.1, 0.2, 0.3}) == doctest::Approx(0.25));
  test::check_throws_with<value_error>([] { finetune::median_of({}); }, {"no values"});
}
