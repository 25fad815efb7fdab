// Fine-tuning subcommands:
//   electra finetune --task cola|sst2|mrpc|stsb|qqp|mnli|qnli|rte|wnli --data DIR --out DIR
//                    (--init WEIGHTS | --config tiny|mini|small|base|large) [options]
//   electra squad    --train F --dev F --out DIR (--init WEIGHTS | --config NAME) [options]
// --init takes a discriminator in HuggingFace's layout (RUN/discriminator, a model.safetensors,
// google/electra-*-discriminator), a pretraining RUN directory or its checkpoint; --config
// alone starts from random weights (the "no pretraining" baseline).
#pragma once
#include <cstdio>
#include <electra/finetune/glue_run.hpp>
#include <electra/finetune/squad_run.hpp>
#include <filesystem>

#include "args.hpp"
#include "configs.hpp"
#include "launch.hpp"
#include "runtime.hpp"

namespace cli {

inline const char* kFinetuneUsage =
    "usage: electra finetune --task cola|sst2|mrpc|stsb|qqp|mnli|qnli|rte|wnli --data DIR --out DIR\n"
    "         (--init DISC.safetensors|RUN|RUN/discriminator | --config tiny|mini|small|base|large) [--vocab vocab.txt]\n"
    "         [--head official|hf] [--pooling cls|mean] [--lr LR] [--layer-decay D] [--weight-decay W] [--warmup-proportion 0.1]\n"
    "         [--batch 32] [--epochs E]"
    " [--max-seq-len 128] [--seed S] [--seeds K] [--threads N] [--precision fp32|bf16]\n"
    "         [--device cpu|cuda] [--max-train-examples N] [--skip-malformed] [--save-model] [--baseline]\n"
    "defaults follow the paper (Table 7): lr 3e-4 (small, mini, tiny), 1e-4 (base), 5e-5 (large); layer decay 0.8\n"
    "(0.9 large); warmup 10%; weight decay 0; batch 32; 3 epochs (10 for rte and stsb).\n"
    "--baseline scores the constant predictor (majority label, or mean score) instead of training.\n"
    "--precision bf16: bfloat16 matmuls (fp32 accumulation, fp32 weights); AMX tiles where the CPU has them.\n"
    "--device cuda: training and evaluation on the GPU, --precision fp32|tf32|bf16 for its GEMMs; one process.\n";

inline const char* kSquadUsage =
    "usage: electra squad --train TRAIN.json --dev DEV.json --out DIR\n"
    "         (--init DISC.safetensors|RUN|RUN/discriminator | --config tiny|mini|small|base|large) [--vocab vocab.txt]\n"
    "         [--version 1|2] [--lr LR] [--layer-decay D] [--weight-decay W] [--warmup-proportion 0.1]\n"
    "         [--batch 32] [--epochs 2] [--max-seq-len 384]"
    " [--doc-stride 128] [--max-query-len 64] [--null-threshold 0] [--seed S] [--threads N]\n"
    "         [--precision fp32|bf16] [--device cpu|cuda] [--max-train-examples N] [--eval-only]\n"
    "SQuAD 2.0 (unanswerable questions) is detected from the files; --version forces it.\n"
    "--device cuda: training and evaluation on the GPU, --precision fp32|tf32|bf16 for its GEMMs; one process.\n";

struct ResolvedInit {
  std::filesystem::path weights;  // empty: random initialisation
  std::filesystem::path vocab;
  electra::model::EncoderDims dims;
  std::string size_name;          // tiny/small/base/large, for the defaults
};

// --init (a file or a directory) or --config; the vocab defaults to the one next to the weights.
inline ResolvedInit resolve_init(const Args& args) {
  namespace fs = std::filesystem;
  ResolvedInit r;
  if (args.has("init") == args.has("config"))
    throw usage_error("give exactly one of --init (pretrained weights) or --config (random initialisation)");
  std::string vocab_near;
  if (args.has("init")) {
    fs::path p = args.get("init");
    if (fs::is_directory(p)) {
      if (fs::exists(p / "model.safetensors")) {
        p /= "model.safetensors";
      } else if (fs::exists(p / "discriminator" / "model.safetensors")) {
        p = p / "discriminator" / "model.safetensors";
      } else if (fs::exists(p / "generator" / "model.safetensors")) {
        p = p / "generator" / "model.safetensors";  // a run of the MLM baseline exports only its generator
      } else {
        throw usage_error("--init " + p.string() +
                          ": a directory must hold model.safetensors, discriminator/model.safetensors or (an MLM "
                          "run) generator/model.safetensors");
      }
    }
    if (!fs::exists(p)) throw usage_error("--init " + p.string() + ": no such file");
    if (fs::exists(p.parent_path() / "vocab.txt")) vocab_near = (p.parent_path() / "vocab.txt").string();
    const electra::io::SafetensorsFile f(p);
    const electra::model::ElectraDims d = config_for_discriminator_file(f, electra::finetune::encoder_prefix_of(f));
    r.weights = p;
    r.dims = d.discriminator;
    for (const auto& c : compiled_configs())
      if (c.dims.discriminator == d.discriminator) r.size_name = c.name;
  } else {
    r.size_name = args.get("config");
    r.dims = electra_dims_by_name(r.size_name).discriminator;
  }
  r.vocab = args.get("vocab", vocab_near.empty() ? bundled_vocab() : vocab_near);
  return r;
}

// Paper Table 7: lr 3e-4 Small, 1e-4 Base, 5e-5 Large; layer-wise decay 0.8 (0.9 Large).
inline void apply_finetune_options(const Args& args, const std::string& size, electra::finetune::FinetuneOptions& o,
                                   double default_epochs) {
  const double lr = size == "large" ? 5e-5 : size == "base" ? 1e-4 : 3e-4;
  o.learning_rate = args.number("lr", lr);
  o.layerwise_decay = args.number("layer-decay", size == "large" ? 0.9 : 0.8);
  o.weight_decay = args.number("weight-decay", 0.0);
  o.warmup_proportion = args.number("warmup-proportion", 0.1);
  o.batch_size = int(args.integer("batch", 32));
  o.epochs = args.number("epochs", default_epochs);
  o.seed = std::uint64_t(args.integer("seed", 0));
  apply_runtime_options(args);
}

inline void check_vocab_fits(const electra::text::Tokenizer& tok, const electra::model::EncoderDims& d,
                             const std::filesystem::path& vocab) {
  if (tok.vocab().size() != std::size_t(d.vocab))
    throw usage_error("the model has " + std::to_string(d.vocab) + " token embeddings but '" + vocab.string() +
                      "' has " + std::to_string(tok.vocab().size()) + " tokens");
}

inline int cmd_finetune(const Args& args) {
  using namespace electra;
  const finetune::GlueTask& task = finetune::glue_task(args.required("task"));
  finetune::GlueRunOptions o;
  o.data_dir = args.required("data");
  o.out_dir = args.required("out");
  o.skip_malformed = args.flag("skip-malformed");
  o.max_train_examples = std::size_t(args.integer("max-train-examples", 0));
  if (args.flag("baseline")) {
    const text::Tokenizer tok = text::Tokenizer::from_file(args.get("vocab", bundled_vocab()));
    const auto scores = finetune::constant_baseline(task, tok, o);
    std::printf("%s constant baseline (dev):\n", task.name.c_str());
    for (const auto& sp : scores)
      for (const auto& s : sp.scores) std::printf("  %s %s %.4f\n", sp.split.c_str(), s.name.c_str(), s.value);
    return 0;
  }
  const ResolvedInit init = resolve_init(args);
  apply_finetune_options(args, init.size_name, o.train, double(task.epochs));
  o.train.max_seq_len = std::size_t(args.integer("max-seq-len", 128));
  o.init = init.weights;
  o.head = finetune::head_kind_from(args.get("head", "official"));
  o.pooling = finetune::pooling_from(args.get("pooling", "cls"));
  o.seeds = int(args.integer("seeds", 1));
  o.save_model = args.flag("save-model");
  const text::Tokenizer tok = text::Tokenizer::from_file(init.vocab);
  check_vocab_fits(tok, init.dims, init.vocab);
  const std::unique_ptr<dist::Communicator> comm = launch_communicator();
  o.comm = comm.get();
  if (device_option(args, comm->size()) == "cuda") o.engine = cuda_task_engine_factory(args.get("precision", "fp32"));
  if (!comm->is_root()) o.progress = nullptr;
  if (comm->is_root())
    std::fprintf(stderr, "fine-tuning %s on %s: lr %g, layer decay %g, batch %d, %g epochs, %s; %s\n",
               init.weights.empty() ? ("a randomly initialised " + init.size_name).c_str() : init.weights.c_str(),
               task.name.c_str(), o.train.learning_rate, o.train.layerwise_decay, o.train.batch_size, o.train.epochs,
               threading_report().c_str(), o.seeds > 1 ? (std::to_string(o.seeds) + " seeds").c_str() : "1 seed");
  const finetune::GlueRunResult r =
      on_every_rank(*comm, [&] { return finetune::run_glue<float>(task, init.dims, tok, o); });
  if (!comm->is_root()) return 0;
  std::printf("%s dev, median of %d seed(s):", task.name.c_str(), o.seeds);
  for (const auto& s : r.median) std::printf("  %s %.4f", s.name.c_str(), s.value);
  std::printf("\nresults: %s\n", (o.out_dir / "results.json").c_str());
  return 0;
}

inline int cmd_squad(const Args& args) {
  using namespace electra;
  finetune::SquadRunOptions o;
  o.train_file = args.get("train");
  o.dev_file = args.required("dev");
  o.out_dir = args.required("out");
  o.eval_only = args.flag("eval-only");
  if (!o.eval_only && o.train_file.empty()) throw usage_error("--train is required unless --eval-only");
  const ResolvedInit init = resolve_init(args);
  apply_finetune_options(args, init.size_name, o.train, 2.0);
  o.train.max_seq_len = std::size_t(args.integer("max-seq-len", 384));
  o.squad.max_seq_len = o.train.max_seq_len;
  o.squad.doc_stride = std::size_t(args.integer("doc-stride", 128));
  o.squad.max_query_len = std::size_t(args.integer("max-query-len", 64));
  o.decode.null_threshold = args.number("null-threshold", 0.0);
  if (args.has("version")) {
    const long long v = args.integer("version", 1);
    if (v != 1 && v != 2) throw usage_error("--version must be 1 or 2");
    o.force_version = int(v);
  }
  o.init = init.weights;
  o.max_train_examples = std::size_t(args.integer("max-train-examples", 0));
  const text::Tokenizer tok = text::Tokenizer::from_file(init.vocab);
  check_vocab_fits(tok, init.dims, init.vocab);
  const std::unique_ptr<dist::Communicator> comm = launch_communicator();
  o.comm = comm.get();
  if (device_option(args, comm->size()) == "cuda") o.engine = cuda_task_engine_factory(args.get("precision", "fp32"));
  if (!comm->is_root()) o.progress = nullptr;
  const finetune::SquadRunResult r = on_every_rank(*comm, [&] { return finetune::run_squad<float>(init.dims, tok, o); });
  if (!comm->is_root()) return 0;
  std::printf("SQuAD %s dev: exact %.2f  f1 %.2f  (%zu questions)", r.v2 ? "2.0" : "1.1", r.scores.exact,
              r.scores.f1, r.scores.total);
  if (r.v2)
    std::printf("  HasAns exact %.2f f1 %.2f (%zu)  NoAns exact %.2f f1 %.2f (%zu)", r.scores.has_ans_exact,
                r.scores.has_ans_f1, r.scores.has_ans_total, r.scores.no_ans_exact, r.scores.no_ans_f1,
                r.scores.no_ans_total);
  std::printf("\npredictions: %s\n", (o.out_dir / "predictions.json").c_str());
  return 0;
}

}  // namespace cli
