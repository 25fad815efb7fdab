// The electra program: a thin shell over the library, one subcommand per job.
//   electra detect   replaced-token probabilities from a discriminator
//   electra flops    FLOPs counts with the official method
//   electra init     a freshly initialised model in HuggingFace's layout
// Each subcommand lives in examples/cli/cmd_<name>.hpp.
#include <cstdio>
#include <cstring>
#include <electra/core/error.hpp>
#include <string>

#include "cli/cmd_detect.hpp"
#include "cli/cmd_flops.hpp"
#include "cli/cmd_init.hpp"

namespace {
const char* kUsage =
    "usage: electra <command> [options]\n"
    "commands:\n"
    "  detect    probability that each token of a text was replaced, from a discriminator\n"
    "  flops     FLOPs of training or running a model, counted as the ELECTRA paper does\n"
    "  init      write a freshly initialised model (HuggingFace layout)\n"
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
      {"detect", cli::kDetectUsage, cli::cmd_detect, {"json"}, {"model", "vocab", "ids-file"}},
      {"flops", cli::kFlopsUsage, cli::cmd_flops, {}, {"model", "config", "batch", "steps", "seq-len"}},
      {"init", cli::kInitUsage, cli::cmd_init, {}, {"config", "out", "seed"}},
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
