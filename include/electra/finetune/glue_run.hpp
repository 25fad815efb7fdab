// Fine-tuning on one GLUE task, the engine behind `electra finetune`:
//   read train / dev / test TSVs -> featurize once -> for each seed: build the model (random
//   or from a pretrained discriminator), train, score every dev split, predict the test split
// Files in OUT (each written atomically):
//   OUT/results.json                       options, per-seed scores, and the median per metric
//   OUT/seed-S/dev_predictions.tsv         (for MNLI: one file per dev split) guid, prediction, gold
//   OUT/seed-S/<GLUE submission>.tsv       when the test split is present (CoLA.tsv, MNLI-m.tsv, ...)
//   OUT/seed-S/train_log.jsonl             step, loss, lr, gradient norm
//   OUT/seed-S/model.safetensors           the fine-tuned model in HF names (save_model)
// The paper reports the median over seeds (Table 8 footnote: "median of 10 fine-tuning runs").
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../io/atomic_file.hpp"
#include "../io/json.hpp"
#include "encoder_weights.hpp"
#include "features.hpp"
#include "glue_reader.hpp"
#include "glue_tasks.hpp"
#include "metrics.hpp"
#include "trainer.hpp"

namespace electra::finetune {

struct GlueRunOptions {
  FinetuneOptions train;
  std::filesystem::path data_dir;  // glue_data/ or the task's own directory
  std::filesystem::path init;      // pretrained weights; empty = random initialisation
  std::filesystem::path out_dir;
  HeadKind head = HeadKind::official;
  Pooling pooling = Pooling::cls;  // h[:,0] as the references; `mean` for small encoders
  int seeds = 1;                   // fine-tunings with seeds train.seed, train.seed + 1, ...
  bool skip_malformed = false;
  bool save_model = false;
  std::size_t max_train_examples = 0;  // 0 = all (a quick look at a big task)
  std::int64_t log_every = 50;
  int eval_batch = 64;
  std::FILE* progress = stderr;  // null = silent
  // Data parallel under mpirun: every rank trains on its share of each batch and evaluates;
  // rank 0 alone writes files. Null = one process.
  dist::Communicator* comm = nullptr;
  // Trains and evaluates on a device (task_engine.hpp; `electra finetune --device cuda`) instead
  // of the CPU; empty = the CPU. One process only.
  TaskEngineFactory<float> engine;
};

struct SplitScores {
  std::string split;
  std::vector<Score> scores;
};

struct SeedResult {
  std::uint64_t seed = 0;
  std::vector<SplitScores> dev;
  double train_seconds = 0;
};

struct GlueRunResult {
  std::vector<SeedResult> seeds;
  // Median over seeds of each dev metric, named "<split>/<metric>" when a task has several dev splits.
  std::vector<Score> median;
};

inline double median_of(std::vector<double> v) {
  ELECTRA_CHECK(!v.empty(), value_error, "median of no values");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

namespace detail {

struct GlueSplitData {
  std::string split;
  std::vector<GlueExample> examples;
  std::vector<PairFeatures> features;
};

inline GlueSplitData load_glue_split(const GlueTask& task, const GlueRunOptions& o, const text::Tokenizer& tok,
                                     const std::string& split, bool augment) {
  GlueReadOptions ro;
  ro.skip_malformed = o.skip_malformed;
  const std::filesystem::path file = glue_split_path(o.data_dir, task, split);
  GlueReadResult r = read_glue_file(task, file, split, ro);
  if (r.skipped && o.progress)
    std::fprintf(o.progress, "%s: skipped %zu malformed row(s) (--skip-malformed)\n", file.c_str(), r.skipped);
  GlueSplitData d{split, std::move(r.examples), {}};
  if (o.max_train_examples && split == "train" && d.examples.size() > o.max_train_examples)
    d.examples.resize(o.max_train_examples);
  if (augment && task.swap_augment) append_swapped_pairs(d.examples);
  ELECTRA_CHECK(!d.examples.empty(), io_error, file.string(), ": no examples");
  d.features.reserve(d.examples.size());
  for (const auto& e : d.examples)
    d.features.push_back(featurize_pair(tok, e.text_a, e.text_b, task.has_pair(), o.train.max_seq_len));
  return d;
}

// What the loss compares the head with: the labels, or for regression score / 5 (official
// RegressionTask with min 0, max 5); task_loss.hpp computes it.
inline TaskTargets glue_targets(const GlueTask& task, const std::vector<GlueExample>& ex,
                                const std::vector<std::size_t>& rows) {
  if (task.is_regression()) {
    std::vector<double> values;
    for (std::size_t r : rows) values.push_back(ex[r].score / 5.0);
    return TaskTargets::regression(std::move(values));
  }
  Tensor<std::int32_t> labels({index_t(rows.size())});
  for (std::size_t i = 0; i < rows.size(); ++i) labels.at(index_t(i)) = ex[rows[i]].label;
  return TaskTargets::classes(std::move(labels));
}

// One prediction per example: the argmax class index, or the score (5 · output) for STS-B.
template <class T>
std::vector<double> glue_predict(const GlueTask& task, const FineTuner<T>& tuner, const std::vector<PairFeatures>& f,
                                 int batch) {
  std::vector<double> out;
  out.reserve(f.size());
  for (std::size_t s = 0; s < f.size(); s += std::size_t(batch)) {
    std::vector<std::size_t> rows;
    for (std::size_t i = s; i < std::min(f.size(), s + std::size_t(batch)); ++i) rows.push_back(i);
    const Tensor<T> logits = tuner.predict(pad_batch(f, rows)).logits;
    for (index_t i = 0; i < index_t(rows.size()); ++i) {
      if (task.is_regression()) {
        out.push_back(5.0 * double(logits.at(i, 0)));
        continue;
      }
      index_t best = 0;  // ties go to the lowest index, as argmax
      for (index_t k = 1; k < logits.shape()[1]; ++k)
        if (logits.at(i, k) > logits.at(i, best)) best = k;
      out.push_back(double(best));
    }
  }
  return out;
}

inline std::string prediction_text(const GlueTask& task, double p) {
  if (task.is_regression()) return json::Value(p).dump();
  return task.labels[std::size_t(p)];
}

inline void write_dev_predictions(const std::filesystem::path& file, const GlueTask& task, const GlueSplitData& d,
                                  const std::vector<double>& pred) {
  std::string s = "guid\tprediction\tgold\n";
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const GlueExample& e = d.examples[i];
    s += e.guid + '\t' + prediction_text(task, pred[i]) + '\t' +
         (task.is_regression() ? json::Value(e.score).dump() : task.labels[std::size_t(e.label)]) + '\n';
  }
  io::write_file_atomically(file, s);
}

// A correlation of constant predictions is undefined (NaN, as scipy says); we count it as 0,
// no correlation, so that medians and tables stay numbers.
inline std::vector<Score> defined_scores(std::vector<Score> scores) {
  for (auto& s : scores)
    if (std::isnan(s.value)) s.value = 0.0;
  return scores;
}

}  // namespace detail

// The constant predictor every model must beat: the most frequent training label (ties to
// the lowest index), or for STS-B the mean training score (its Pearson/Spearman are 0 by
// convention: a constant has no correlation).
inline std::vector<SplitScores> constant_baseline(const GlueTask& task, const text::Tokenizer& tokenizer,
                                                  const GlueRunOptions& o) {
  const detail::GlueSplitData train = detail::load_glue_split(task, o, tokenizer, "train", false);
  double constant = 0;
  if (task.is_regression()) {
    for (const auto& e : train.examples) constant += e.score;
    constant /= double(train.examples.size());
  } else {
    std::vector<std::size_t> count(task.labels.size(), 0);
    for (const auto& e : train.examples) ++count[std::size_t(e.label)];
    constant = double(std::max_element(count.begin(), count.end()) - count.begin());
  }
  std::vector<SplitScores> out;
  for (const auto& split : task.dev_splits) {
    const detail::GlueSplitData d = detail::load_glue_split(task, o, tokenizer, split, false);
    out.push_back({split, detail::defined_scores(
                              glue_scores(task, std::vector<double>(d.examples.size(), constant), d.examples))});
  }
  return out;
}

// `dims`: the encoder to build (from the init file's shapes, or a named config for random init).
template <class T = float>
GlueRunResult run_glue(const GlueTask& task, const model::EncoderDims& dims, const text::Tokenizer& tokenizer,
                       const GlueRunOptions& o) {
  namespace fs = std::filesystem;
  o.train.validate();
  ELECTRA_CHECK(o.seeds >= 1, value_error, "fine-tuning: --seeds must be >= 1, got ", o.seeds);
  ELECTRA_CHECK(o.head != HeadKind::span, value_error, "GLUE tasks use a classification head, not 'span'");
  ELECTRA_CHECK(o.train.max_seq_len <= std::size_t(dims.max_pos), value_error, "max sequence length ",
                o.train.max_seq_len, " exceeds the model's ", dims.max_pos, " positions");
  dist::Communicator& comm = o.comm ? *o.comm : dist::single_process();
  const bool root = comm.is_root();
  if (root) fs::create_directories(o.out_dir);

  const detail::GlueSplitData train = detail::load_glue_split(task, o, tokenizer, "train", true);
  std::vector<detail::GlueSplitData> dev;
  for (const auto& s : task.dev_splits) dev.push_back(detail::load_glue_split(task, o, tokenizer, s, false));
  std::vector<detail::GlueSplitData> test;
  for (const auto& s : task.test_splits)
    if (fs::exists(glue_split_path(o.data_dir, task, s)))
      test.push_back(detail::load_glue_split(task, o, tokenizer, s, false));
  std::size_t truncated = 0;
  for (const auto& f : train.features) truncated += f.truncated;
  if (o.progress)
    std::fprintf(o.progress, "%s: %zu training examples%s (%zu truncated to %zu tokens), dev %zu, test %zu\n",
                 task.name.c_str(), train.examples.size(), task.swap_augment ? " with swapped pairs" : "", truncated,
                 o.train.max_seq_len, dev.front().examples.size(), test.empty() ? 0 : test.front().examples.size());

  std::optional<io::SafetensorsFile> init;
  if (!o.init.empty()) init.emplace(o.init);

  GlueRunResult result;
  std::string device = "cpu";
  const index_t K = index_t(task.num_labels());
  for (int s = 0; s < o.seeds; ++s) {
    FinetuneOptions to = o.train;
    to.seed = o.train.seed + std::uint64_t(s);
    const fs::path seed_dir = o.out_dir / ("seed-" + std::to_string(to.seed));
    if (root) fs::create_directories(seed_dir);
    Rng init_rng(mix64(to.seed ^ 0x1a17));
    TaskModel<T> m(dims, o.head, K, init_rng, o.pooling);
    if (init) {
      const LoadedWeights lw = load_task_model(*init, m);
      if (o.progress && s == 0)
        std::fprintf(o.progress, "initialised %zu encoder tensors from %s%s\n", lw.encoder_tensors, o.init.c_str(),
                     lw.head_loaded ? " (and its task head)" : "");
    }
    const std::int64_t total = total_train_steps(train.examples.size(), to.batch_size, to.epochs);
    FineTuner<T> tuner(m, to, total, comm);
    const std::unique_ptr<TaskEngine<T>> engine = detail::make_engine(o.engine, m, &tuner.optimizer());
    tuner.set_engine(engine.get());
    if (o.progress && s == 0 && engine) std::fprintf(o.progress, "device: %s\n", engine->describe().c_str());
    auto batch_of = [&](const std::vector<std::size_t>& rows) {
      return TaskBatch{pad_batch(train.features, rows), detail::glue_targets(task, train.examples, rows)};
    };
    const TrainLoopResult trained =
        train_epochs(tuner, train.examples.size(), to.batch_size, to.seed, batch_of,
                     {task.name + " seed " + std::to_string(to.seed), o.log_every, o.progress});
    tuner.sync_to_host();
    device = tuner.device();
    SeedResult sr;
    sr.seed = to.seed;
    sr.train_seconds = trained.seconds;
    if (root) io::write_file_atomically(seed_dir / "train_log.jsonl", trained.log_jsonl);
    for (const auto& d : dev) {
      const std::vector<double> pred = detail::glue_predict(task, tuner, d.features, o.eval_batch);
      sr.dev.push_back({d.split, detail::defined_scores(glue_scores(task, pred, d.examples))});
      if (root) detail::write_dev_predictions(seed_dir / (d.split + "_predictions.tsv"), task, d, pred);
      if (o.progress) {
        std::fprintf(o.progress, "%s seed %llu  %s:", task.name.c_str(), static_cast<unsigned long long>(to.seed),
                     d.split.c_str());
        for (const auto& sc : sr.dev.back().scores) std::fprintf(o.progress, "  %s %.4f", sc.name.c_str(), sc.value);
        std::fprintf(o.progress, "\n");
      }
    }
    for (std::size_t i = 0; root && i < test.size(); ++i) {
      const std::vector<double> pred = detail::glue_predict(task, tuner, test[i].features, o.eval_batch);
      write_glue_submission(seed_dir / task.submission_file(test[i].split), task, test[i].examples, pred);
    }
    if (root && o.save_model)
      io::save_parameters(seed_dir / "model.safetensors", m.parameters(), {{"task", task.name}});
    result.seeds.push_back(std::move(sr));
  }

  // Medians per (split, metric).
  const bool several = task.dev_splits.size() > 1;
  for (std::size_t d = 0; d < task.dev_splits.size(); ++d)
    for (std::size_t k = 0; k < result.seeds.front().dev[d].scores.size(); ++k) {
      std::vector<double> v;
      for (const auto& sr : result.seeds) v.push_back(sr.dev[d].scores[k].value);
      const std::string& metric = result.seeds.front().dev[d].scores[k].name;
      result.median.push_back({several ? task.dev_splits[d] + "/" + metric : metric, median_of(v)});
    }

  json::Array seeds;
  for (const auto& sr : result.seeds) {
    json::Object dev_scores;
    for (const auto& sp : sr.dev)
      for (const auto& sc : sp.scores) dev_scores.push_back({several ? sp.split + "/" + sc.name : sc.name, sc.value});
    seeds.push_back(
        json::Object{{"seed", std::int64_t(sr.seed)}, {"dev", dev_scores}, {"train_seconds", sr.train_seconds}});
  }
  json::Object median;
  for (const auto& sc : result.median) median.push_back({sc.name, sc.value});
  const json::Value record =
      json::Object{{"task", task.name},
                   {"init", o.init.empty() ? json::Value(nullptr) : json::Value(o.init.string())},
                   {"encoder", dims.to_string()},
                   {"head", o.head == HeadKind::hf ? "hf" : "official"},
                   {"pooling", pooling_name(o.pooling)},
                   {"device", device},
                   {"matmul_precision",
                    o.engine ? json::Value(nullptr) : json::Value(cpu::matmul_precision_name(cpu::matmul_precision()))},
                   {"learning_rate", o.train.learning_rate},
                   {"layerwise_decay", o.train.layerwise_decay},
                   {"weight_decay", o.train.weight_decay},
                   {"batch_size", std::int64_t(o.train.batch_size)},
                   {"epochs", o.train.epochs},
                   {"max_seq_len", std::int64_t(o.train.max_seq_len)},
                   {"train_examples", std::int64_t(train.examples.size())},
                   {"seeds", seeds},
                   {"median", median}};
  if (root) io::write_file_atomically(o.out_dir / "results.json", record.dump(2) + "\n");
  return result;
}

}  // namespace electra::finetune
