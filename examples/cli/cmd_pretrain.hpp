// Pretraining subcommands:
//   electra pretrain [--model tiny|mini|small|base|large] [--data DIR] --out RUN [options]
//   electra plot RUN [--out FILE.svg]
// Without --data, the bundled WikiText-2 corpus is prepared into RUN/data first.
#pragma once
#include <cmath>
#include <cstdio>
#include <electra/data/reader.hpp>
#include <electra/data/shard.hpp>
#include <electra/train/pretrain_run.hpp>
#include <filesystem>

#include "args.hpp"
#include "cmd_text.hpp"
#include "configs.hpp"
#include "cuda_engine.hpp"
#include "launch.hpp"
#include "runtime.hpp"

namespace cli {

inline const char* kPretrainUsage =
    "usage: electra pretrain --out RUN [--model tiny|mini|small|base|large] [--data DIR] [--vocab vocab.txt]\n"
    "         [--steps N] [--batch B] [--lr LR] [--warmup W] [--max-seq-len 128] [--seed S]\n"
    "         [--objective electra|mlm] [--generator-size F] [--flops BUDGET] [--save-every N]\n"
    "         [--eval-every N] [--log-every N] [--eval-examples 256] [--threads N] [--precision fp32|bf16]\n"
    "         [--device cpu|cuda] [--accumulate K]"
    " [--resume [--reshard] | --init RUN]\n"
    "defaults follow the official configs (small: batch 128, lr 5e-4, warmup 10000, 1000000 steps);\n"
    "--generator-size: the generator's hidden size as a fraction of the discriminator's (default the\n"
    "config's: 1/4, base 1/3); --objective mlm trains a BERT of the discriminator's size instead;\n"
    "--flops: train for as many steps as fit in BUDGET model FLOPs (counted as flops_computation.py)\n"
    "--init RUN (or a checkpoint file): start from that run's weights with a fresh optimizer and schedule,\n"
    "to continue pretraining on other data (a domain's own text); same --model and --objective\n"
    "without --data the bundled WikiText-2 corpus is prepared into RUN/data;\n"
    "--precision bf16: bfloat16 matmuls with fp32 accumulation and fp32 master weights (AMX tiles where the CPU\n"
    "has them, an exact emulation elsewhere); checkpoints record it\n"
    "--device cuda: the step (forward, backward, clip, AdamW) on the GPU, with --precision fp32|tf32|bf16 for its\n"
    "GEMMs (activations and master weights stay fp32); one process; checkpoints use the CPU copy\n"
    "data-parallel: mpirun -np R electra pretrain ... (each step's batch is R × K × --batch examples)\n";
inline const char* kPlotUsage = "usage: electra plot RUN [--out FILE.svg]\n";

struct PretrainDefaults {
  long long batch, steps, warmup;
  double lr;
};

// configure_pretraining.py: Small lr 5e-4 batch 128 1M steps; Base lr 2e-4 batch 256 766k;
// Large lr 2e-4 batch 2048 400k; warmup 10k. Tiny and Mini (ours) train like Small, shorter.
inline PretrainDefaults pretrain_defaults(const std::string& model) {
  if (model == "base") return {256, 766000, 10000, 2e-4};
  if (model == "large") return {2048, 400000, 10000, 2e-4};
  if (model == "tiny" || model == "mini") return {32, 10000, 500, 1e-3};
  return {128, 1000000, 10000, 5e-4};
}

// The model a run trains: the named config's discriminator, and a generator of --generator-size
// (default the config's own fraction); the MLM baseline is a BERT of the discriminator's size,
// so its "generator" is the discriminator's twin and --generator-size does not apply.
inline electra::model::ElectraDims pretraining_dims(const std::string& model_name, const std::string& objective,
                                                    const Args& args) {
  electra::model::ElectraDims dims = electra_dims_by_name(model_name);
  if (objective == "mlm") {
    if (args.has("generator-size"))
      throw usage_error(
          "--generator-size applies to --objective electra; the MLM baseline has the discriminator's size");
    dims.generator = dims.discriminator;
  } else if (args.has("generator-size")) {
    dims.generator = electra::model::generator_dims(dims.discriminator, args.number("generator-size", 0.25));
  }
  return dims;
}

// --flops BUDGET: the whole steps whose model FLOPs fit in the budget, at the global batch.
inline long long steps_within_flops(const Args& args, const electra::model::ElectraDims& dims, int global_batch,
                                    electra::index_t seq_len, bool electra_objective) {
  const double budget = args.number("flops", 0);
  if (args.has("steps")) throw usage_error("give --steps or --flops, not both");
  const double per_step = electra::train::electra_step_flops(dims, global_batch, seq_len, electra_objective);
  const double steps = std::floor(budget / per_step);
  if (steps > 1e12) throw usage_error("--flops " + args.get("flops") + " means more than 1e12 steps");
  if (!(steps >= 1)) {
    char text[160];
    std::snprintf(text, sizeof text, "--flops %g is less than one step (%.0f FLOPs at batch %d)", budget, per_step,
                  global_batch);
    throw usage_error(text);
  }
  return static_cast<long long>(steps);
}

inline int cmd_pretrain(const Args& args) {
  using namespace electra;
  namespace fs = std::filesystem;
  const std::unique_ptr<dist::Communicator> comm = launch_communicator();
  const std::string model_name = args.get("model", "small");
  const std::string objective = args.get("objective", "electra");
  if (objective != "electra" && objective != "mlm") throw usage_error("--objective must be electra or mlm");
  if (args.has("init") && args.flag("resume"))
    throw usage_error("--init starts a new run from another run's weights; --resume continues this one: pick one");
  const model::ElectraDims dims = pretraining_dims(model_name, objective, args);
  const PretrainDefaults def = pretrain_defaults(model_name);
  const fs::path run_dir = args.required("out");
  const std::string vocab_path = args.get("vocab", bundled_vocab());
  const std::string device = device_option(args, comm->size());
  const long long max_len = args.integer("max-seq-len", 128);
  if (max_len < 8 || max_len > dims.discriminator.max_pos)
    throw usage_error("--max-seq-len must be in [8, " + std::to_string(dims.discriminator.max_pos) + "]");
  apply_runtime_options(args);
  const std::uint64_t seed = std::uint64_t(args.integer("seed", 0));

  text::Vocab vocab = text::Vocab::load(vocab_path);
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) vocab.id(t);  // clear error if missing
  if (std::size_t(dims.discriminator.vocab) != vocab.size())
    throw usage_error("model " + model_name + " has " + std::to_string(dims.discriminator.vocab) +
                      " token embeddings but the vocabulary '" + vocab_path + "' has " + std::to_string(vocab.size()));
  const std::uint64_t hash = data::vocab_hash(vocab);

  fs::path data_dir = args.get("data");
  if (data_dir.empty()) {
    data_dir = run_dir / "data";
    if (comm->is_root() && !fs::exists(data_dir / data::shard_file_name(0))) {
      std::fprintf(stderr, "no --data: preparing the bundled WikiText-2 corpus into %s\n", data_dir.c_str());
      const std::string corpus = std::string(ELECTRA_BUNDLED_DATA) + "/corpus/wikitext-2/";
      prepare(vocab_path, {corpus + "wiki.valid.raw", corpus + "wiki.test.raw"}, data_dir, int(max_len), seed);
    }
  }
  comm->barrier();  // rank 0 may have been preparing the data

  // Each step's examples are dealt to S = ranks × accumulate slots; slot s reads positions
  // s, s + S, s + 2S, ... of the epoch's shuffled order. This process owns slots
  // rank · K ... rank · K + K − 1, one reader each; all slots advance in step, so one cursor
  // describes them all.
  const int accumulate = int(args.integer("accumulate", 1));
  if (accumulate < 1) throw usage_error("--accumulate must be >= 1");
  const int slots = comm->size() * accumulate;
  data::ReaderOptions ro;
  ro.seed = seed;
  ro.world = slots;
  ro.eval_examples = std::size_t(args.integer("eval-examples", 256));
  auto readers = std::make_shared<std::vector<data::PretrainReader>>();
  for (int a = 0; a < accumulate; ++a) {
    ro.rank = comm->rank() * accumulate + a;
    readers->emplace_back(data_dir, hash, int(max_len), ro);
  }
  auto parse_cursor = [](const std::string& s) {
    const auto colon = s.find(':');
    if (colon == std::string::npos) throw io_error("checkpoint data cursor '" + s + "' is malformed");
    return data::Cursor{std::stoull(s.substr(0, colon)), std::stoull(s.substr(colon + 1))};
  };

  train::DataSource source;
  source.next = [readers](int b) {
    std::vector<model::Batch> micro;
    for (auto& r : *readers) micro.push_back(r.next_batch(b));
    return micro;
  };
  source.cursor = [readers] {
    const auto c = readers->front().cursor();
    return std::to_string(c.epoch) + ":" + std::to_string(c.position);
  };
  source.seek = [readers, parse_cursor](const std::string& s) {
    for (auto& r : *readers) r.seek(parse_cursor(s));
  };
  source.reshard = [readers, parse_cursor](const std::string& s) {
    for (auto& r : *readers) r.seek({parse_cursor(s).epoch + 1, 0});
  };
  source.eval_batches = [readers](int b) { return readers->front().eval_batches(b); };
  source.tokens_per_example = std::uint64_t(max_len);
  source.slots = slots;

  train::PretrainerOptions po;
  po.learning_rate = args.number("lr", def.lr);
  po.seed = seed;
  po.accumulate = accumulate;
  po.objective.electra_objective = objective == "electra";
  train::RunOptions run;
  run.dir = run_dir;
  run.vocab_file = vocab_path;
  run.config_name = model_name;
  run.batch_size = int(args.integer("batch", def.batch));
  if (run.batch_size < 1) throw usage_error("--batch must be >= 1");
  po.total_steps = args.has("flops") ? steps_within_flops(args, dims, run.batch_size * slots, index_t(max_len),
                                                          objective == "electra")
                                     : args.integer("steps", def.steps);
  po.warmup_steps = args.integer("warmup", std::min<long long>(def.warmup, po.total_steps / 10 + 1));
  run.save_every = args.integer("save-every", 1000);
  run.eval_every = args.integer("eval-every", run.save_every);
  run.log_every = args.integer("log-every", 10);
  run.resume = args.flag("resume");
  run.reshard = args.flag("reshard");
  if (run.reshard && !run.resume) throw usage_error("--reshard only makes sense with --resume");
  run.crash_after = args.integer("crash-after", -1);
  run.crash_rank = int(args.integer("crash-rank", -1));

  Rng init(seed);  // the same seed on every rank: identical initial weights
  model::ElectraModel<float> m(dims, init);
  if (args.has("init")) {
    fs::path from = args.get("init");
    if (fs::is_directory(from)) from /= "checkpoint.safetensors";
    io::load_checkpoint_weights(from, m);  // every rank reads the same file
    if (comm->is_root()) std::fprintf(stderr, "starting from the weights in %s\n", from.c_str());
  }
  train::PretrainRun<float> trainer(m, po, run, source, *comm);
  if (device == "cuda")
    trainer.trainer().set_engine(make_cuda_engine(trainer.trainer(), args.get("precision", "fp32")));
  const bool finished = on_every_rank(*comm, [&] { return trainer.run(); });
  if (finished && comm->is_root())
    std::fprintf(stderr, "done: %s/discriminator and %s/generator (HuggingFace layout), curves in %s/curves.svg\n",
                 run_dir.c_str(), run_dir.c_str(), run_dir.c_str());
  return finished ? 0 : 130;
}

inline int cmd_plot(const Args& args) {
  using namespace electra;
  if (args.positional().size() != 1) throw usage_error(kPlotUsage);
  const std::filesystem::path run = args.positional()[0];
  const train::RunLog log(run / "metrics.jsonl");
  const std::filesystem::path out = args.get("out", (run / "curves.svg").string());
  io::write_file_atomically(out, train::plot_run(log.read(), "electra pretraining: " + run.filename().string()));
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace cli
