// The electra program: a thin shell over the library, one subcommand per job.
//   electra detect   replaced-token probabilities from a discriminator
//   electra finetune fine-tuning on a GLUE task
//   electra flops    FLOPs counts with the official method
//   electra init     a freshly initialised model in HuggingFace's layout
//   electra plot     training curves of a run as SVG
//   electra prepare  text -> pretraining shards
//   electra pretrain the main job
//   electra squad    fine-tuning and evaluation on SQuAD 1.1 / 2.0
//   electra tokenize text -> WordPiece ids
//   electra vocab    a WordPiece vocabulary trained on a corpus
// Each subcommand lives in examples/cli/cmd_<name>.hpp.
#include <cstdio>
#include <cstring>
#include <electra/core/error.hpp>
#include <string>

#include "cli/cmd_detect.hpp"
#include "cli/cmd_finetune.hpp"
#include "cli/cmd_flops.hpp"
#include "cli/cmd_init.hpp"
#include "cli/cmd_pretrain.hpp"
#include "cli/cmd_text.hpp"
#include "cli/cmd_vocab.hpp"

namespace {
const char* kUsage =
    "usage: electra <command> [options]\n"
    "commands:\n"
    "  detect    probability that each token of a text was replaced, from a discriminator\n"
    "  finetune  fine-tune a discriminator on a GLUE task; dev scores, predictions, submission files\n"
    "  flops     FLOPs of training or running a model, counted as the ELECTRA paper does\n"
    "  init      write a freshly initialised model (HuggingFace layout)\n"
    "  plot      draw a run's training curves as SVG\n"
    "  prepare   tokenise text into pretraining shards (the official example builder)\n"
    "  pretrain  pretrain ELECTRA (or the MLM baseline), resumable, with progress and exports\n"
    "  squad     fine-tune and evaluate on SQuAD 1.1 / 2.0 with the official scoring\n"
    "  tokenize  BERT uncased WordPiece ids (or pieces) for each line of stdin\n"
    "  vocab     train a WordPiece vocabulary on your own corpus\n"
    "run 'electra <command> --help' for a command's options\n";

struct Command {
  const char* name;
  const char* usage;
  int (*run)(const cli::Args&);
  std::set<std::string> flags, options;
};
}  // namespace

int main(int argc, char** argv) {
  const Command commands[] = {
      {"detect", cli::kDetectUsage, cli::cmd_detect, {"json"}, {"model", "vocab", "ids-file", "device"}},
      {"finetune", cli::kFinetuneUsage, cli::cmd_finetune, {"skip-malformed", "save-model", "baseline"},
       {"task", "data", "out", "init", "config", "vocab", "head", "pooling", "lr", "layer-decay", "weight-decay", "batch",
        "warmup-proportion", "epochs", "max-seq-len", "seed", "seeds", "threads", "precision", "device", "max-train-examples"}},
      {"flops", cli::kFlopsUsage, cli::cmd_flops, {}, {"model", "config", "batch", "steps", "seq-len"}},
      {"init", cli::kInitUsage, cli::cmd_init, {}, {"config", "out", "seed"}},
      {"plot", cli::kPlotUsage, cli::cmd_plot, {}, {"out"}},
      {"prepare", cli::kPrepareUsage, cli::cmd_prepare, {}, {"vocab", "input", "out", "max-seq-len", "seed", "threads"}},
      {"pretrain", cli::kPretrainUsage, cli::cmd_pretrain, {"resume", "reshard"},
       {"model", "data", "out", "vocab", "steps", "batch", "lr", "warmup", "max-seq-len", "seed", "objective",
        "save-every", "eval-every", "log-every", "eval-examples", "threads", "accumulate", "crash-after",
        "crash-rank", "generator-size", "flops", "init", "precision", "device"}},
      {"squad", cli::kSquadUsage, cli::cmd_squad, {"eval-only"},
       {"train", "dev", "out", "init", "config", "vocab", "version", "lr", "layer-decay", "weight-decay", "batch",
        "warmup-proportion", "epochs", "max-seq-len", "doc-stride", "max-query-len", "null-threshold", "seed", "threads",
        "precision", "device", "max-train-examples"}},
      {"vocab", cli::kVocabUsage, cli::cmd_vocab, {}, {"input", "size", "out", "min-frequency", "limit-alphabet"}},
      {"tokenize", cli::kTokenizeUsage, cli::cmd_tokenize, {"ids", "tokens"}, {"vocab"}},
  };
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& c : commands) {
    if (std::strcmp(argv[1], c.name)) continue;
    try {
      for (int i = 2; i < argc; ++i)
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
          std::fputs(c.usage, stdout);
          return 0;
        }
      return c.run(cli::Args(argc, argv, 2, c.flags, c.options));
    } catch (const cli::usage_error& e) {
      std::fprintf(stderr, "electra %s: %s\n%s", c.name, e.what(), c.usage);
      return 2;
    } catch (const electra::error& e) {
      std::fprintf(stderr, "electra %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "electra: unknown command '%s'\n%s", argv[1], kUsage);
  return 2;
}
