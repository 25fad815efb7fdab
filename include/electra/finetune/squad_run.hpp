// Fine-tuning and evaluation on SQuAD 1.1 / 2.0, the engine behind `electra squad`:
//   read -> windows (doc stride 128, query ≤ 64, length ≤ 384) -> train the span head and the
//   encoder on (CE(start) + CE(end)) / 2 -> decode the n-best spans of every dev window ->
//   score with the official rules.
// Files in OUT (each written atomically):
//   OUT/predictions.json     {"question id": "answer text"}, the official format
//   OUT/null_odds.json       SQuAD 2.0: {"question id": null score − best span score}
//   OUT/results.json         exact / F1 (HasAns / NoAns for 2.0) and the options
//   OUT/train_log.jsonl      step, loss, lr, gradient norm
//   OUT/model.safetensors    the fine-tuned encoder + qa_outputs (HF ElectraForQuestionAnswering names)
// The loss is task_loss.hpp's span loss: logits at padding positions get −10000 before the
// softmax, so a padded batch trains exactly as unpadded sequences would.
#pragma once
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../io/atomic_file.hpp"
#include "../io/json.hpp"
#include "encoder_weights.hpp"
#include "squad_data.hpp"
#include "squad_decode.hpp"
#include "squad_eval.hpp"
#include "trainer.hpp"

namespace electra::finetune {

struct SquadRunOptions {
  FinetuneOptions train = [] {
    FinetuneOptions o;
    o.epochs = 2;  // configure_finetuning.py for SQuAD
    o.max_seq_len = 384;
    return o;
  }();
  SquadOptions squad;
  SquadDecodeOptions decode;
  std::filesystem::path train_file, dev_file, init, out_dir;
  bool eval_only = false;              // score --init as it is (a fine-tuned model with qa_outputs)
  int force_version = 0;               // 1 or 2; 0 = 2.0 when any question is unanswerable
  std::size_t max_train_examples = 0;  // 0 = all
  std::int64_t log_every = 20;
  int eval_batch = 32;
  std::FILE* progress = stderr;
  dist::Communicator* comm = nullptr;  // as in GlueRunOptions: all ranks train, rank 0 writes
  TaskEngineFactory<float> engine;     // as in GlueRunOptions: empty = the CPU
};

struct SquadRunResult {
  SquadScores scores;
  bool v2 = false;
  double train_seconds = 0;
};

namespace detail {

// The answer's start and end token in each window (0, [CLS], when the window has none).
inline TaskTargets span_targets(const std::vector<SquadFeature>& f, const std::vector<std::size_t>& rows) {
  const index_t B = index_t(rows.size());
  Tensor<std::int32_t> starts({B}), ends({B});
  for (index_t i = 0; i < B; ++i) {
    starts.at(i) = f[rows[std::size_t(i)]].start_position;
    ends.at(i) = f[rows[std::size_t(i)]].end_position;
  }
  return TaskTargets::span(std::move(starts), std::move(ends));
}

}  // namespace detail

template <class T = float>
SquadRunResult run_squad(const model::EncoderDims& dims, const text::Tokenizer& tok, const SquadRunOptions& o) {
  namespace fs = std::filesystem;
  o.train.validate();
  ELECTRA_CHECK(o.squad.max_seq_len <= std::size_t(dims.max_pos), value_error, "SQuAD: max sequence length ",
                o.squad.max_seq_len, " exceeds the model's ", dims.max_pos, " positions");
  ELECTRA_CHECK(!o.eval_only || !o.init.empty(), value_error, "SQuAD: --eval-only needs a fine-tuned --init");
  dist::Communicator& comm = o.comm ? *o.comm : dist::single_process();
  const bool root = comm.is_root();
  if (root) fs::create_directories(o.out_dir);

  SquadReadStats dev_stats;
  const std::vector<SquadExample> dev = read_squad(o.dev_file, {false}, &dev_stats);
  ELECTRA_CHECK(!dev.empty(), io_error, o.dev_file.string(), ": no questions");
  std::vector<SquadExample> train;
  SquadReadStats train_stats;
  if (!o.eval_only) {
    train = read_squad(o.train_file, {true}, &train_stats);
    if (o.max_train_examples && train.size() > o.max_train_examples) train.resize(o.max_train_examples);
    ELECTRA_CHECK(!train.empty(), io_error, o.train_file.string(), ": no usable training questions");
  }
  SquadRunResult result;
  result.v2 = o.force_version ? o.force_version == 2 : (dev_stats.impossible + train_stats.impossible) > 0;
  SquadDecodeOptions decode = o.decode;
  decode.v2 = result.v2;

  std::optional<io::SafetensorsFile> init;
  if (!o.init.empty()) init.emplace(o.init);
  Rng init_rng(mix64(o.train.seed ^ 0x1a17));
  TaskModel<T> m(dims, HeadKind::span, 2, init_rng);
  if (init) {
    const LoadedWeights lw = load_task_model(*init, m);
    ELECTRA_CHECK(!o.eval_only || lw.head_loaded, io_error, o.init.string(),
                  ": --eval-only needs the span head 'qa_outputs.weight' / 'qa_outputs.bias' in the file");
    if (o.progress)
      std::fprintf(o.progress, "initialised %zu encoder tensors from %s%s\n", lw.encoder_tensors, o.init.c_str(),
                   lw.head_loaded ? " (and its span head)" : "");
  }

  std::unique_ptr<TaskEngine<T>> engine;  // trains and evaluates on a device when o.engine is set
  if (!o.eval_only) {
    const std::vector<SquadFeature> features = featurize_squad(train, tok, o.squad, true);
    if (o.progress) {
      std::fprintf(o.progress, "SQuAD %s: %zu training questions (%zu skipped: answer not found at its offset",
                   result.v2 ? "2.0" : "1.1", train.size(), train_stats.unrecoverable);
      if (!train_stats.first_problem.empty())
        std::fprintf(o.progress, "; first: %s", train_stats.first_problem.c_str());
      std::fprintf(o.progress, ") -> %zu windows\n", features.size());
    }
    const std::int64_t total = total_train_steps(features.size(), o.train.batch_size, o.train.epochs);
    FineTuner<T> tuner(m, o.train, total, comm);
    engine = detail::make_engine(o.engine, m, &tuner.optimizer());
    tuner.set_engine(engine.get());
    if (o.progress && engine) std::fprintf(o.progress, "device: %s\n", engine->describe().c_str());
    auto batch_of = [&](const std::vector<std::size_t>& rows) {
      return TaskBatch{pad_batch(features, rows), detail::span_targets(features, rows)};
    };
    const TrainLoopResult trained = train_epochs(tuner, features.size(), o.train.batch_size, o.train.seed, batch_of,
                                                 {"squad", o.log_every, o.progress});
    tuner.sync_to_host();
    result.train_seconds = trained.seconds;
    if (root) {
      io::write_file_atomically(o.out_dir / "train_log.jsonl", trained.log_jsonl);
      io::save_parameters(o.out_dir / "model.safetensors", m.parameters(), {{"task", "squad"}});
    }
  }

  // Evaluation: logits of every dev window, then the official decoding and scoring.
  const std::vector<SquadFeature> dev_features = featurize_squad(dev, tok, o.squad, false);
  std::vector<std::vector<float>> starts, ends;
  if (o.eval_only) engine = detail::make_engine<T>(o.engine, m, nullptr);
  for (std::size_t s = 0; s < dev_features.size(); s += std::size_t(o.eval_batch)) {
    std::vector<std::size_t> rows;
    for (std::size_t i = s; i < std::min(dev_features.size(), s + std::size_t(o.eval_batch)); ++i) rows.push_back(i);
    const HeadValues<T> out = predict_heads(m, engine.get(), pad_batch(dev_features, rows));
    for (index_t i = 0; i < index_t(rows.size()); ++i) {
      const index_t n = index_t(dev_features[rows[std::size_t(i)]].ids.size());
      std::vector<float> st(static_cast<std::size_t>(n)), en(static_cast<std::size_t>(n));
      for (index_t t = 0; t < n; ++t) {
        st[std::size_t(t)] = float(out.start.at(i, t));
        en[std::size_t(t)] = float(out.end.at(i, t));
      }
      starts.push_back(std::move(st));
      ends.push_back(std::move(en));
    }
  }
  const std::vector<SquadPrediction> preds = decode_squad(dev, dev_features, starts, ends, decode);
  std::map<std::string, std::string> answers;
  for (const auto& p : preds) answers[p.id] = p.text;
  result.scores = evaluate_squad(dev, answers);
  if (!root) return result;
  write_squad_predictions(o.out_dir / "predictions.json", preds);
  if (result.v2) write_squad_null_odds(o.out_dir / "null_odds.json", preds);
  const json::Value record =
      json::Object{{"version", result.v2 ? "2.0" : "1.1"},
                   {"device", engine ? engine->describe() : std::string("cpu")},
                   {"matmul_precision",
                    engine ? json::Value(nullptr) : json::Value(cpu::matmul_precision_name(cpu::matmul_precision()))},
                   {"init", o.init.empty() ? json::Value(nullptr) : json::Value(o.init.string())},
                   {"encoder", dims.to_string()},
                   {"train_file", o.eval_only ? json::Value(nullptr) : json::Value(o.train_file.string())},
                   {"dev_file", o.dev_file.string()},
                   {"learning_rate", o.train.learning_rate},
                   {"layerwise_decay", o.train.layerwise_decay},
                   {"batch_size", std::int64_t(o.train.batch_size)},
                   {"epochs", o.train.epochs},
                   {"max_seq_len", std::int64_t(o.squad.max_seq_len)},
                   {"doc_stride", std::int64_t(o.squad.doc_stride)},
                   {"null_threshold", decode.null_threshold},
                   {"train_seconds", result.train_seconds},
                   {"dev", to_json(result.scores)}};
  io::write_file_atomically(o.out_dir / "results.json", record.dump(2) + "\n");
  return result;
}

}  // namespace electra::finetune
