// Text subcommands:
//   electra tokenize --vocab vocab.txt [--tokens]      stdin lines -> one line of ids (or pieces)
//   electra prepare --vocab vocab.txt --input PATH... --out DIR [--max-seq-len 128] [--seed S] [--threads N]
#pragma once
#include <cstdio>
#include <electra/core/threading.hpp>
#include <electra/data/prepare.hpp>
#include <electra/data/shard.hpp>
#include <electra/text/tokenizer.hpp>
#include <iostream>

#include "args.hpp"
#include "configs.hpp"

namespace cli {

inline const char* kTokenizeUsage = "usage: electra tokenize [--vocab vocab.txt] [--ids | --tokens] < text   (default: the bundled BERT vocab)\n";
inline const char* kPrepareUsage =
    "usage: electra prepare --input FILE_OR_DIR [--input ...] --out DIR [--vocab vocab.txt]\n"
    "                       [--max-seq-len 128] [--seed 0] [--threads N] [--examples-per-shard 100000]\n";

inline int cmd_tokenize(const Args& args) {
  using namespace electra;
  const text::Tokenizer tok(text::Vocab::load(args.get("vocab", bundled_vocab())));
  const bool pieces = args.flag("tokens");
  std::string line, out;
  while (std::getline(std::cin, line)) {
    out.clear();
    if (pieces) {
      for (const std::string& p : tok.tokenize(line)) out += (out.empty() ? "" : " ") + p;
    } else {
      for (std::int32_t id : tok.encode(line)) out += (out.empty() ? "" : " ") + std::to_string(id);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
  }
  return 0;
}

// Draws a one-line progress bar on stderr.
inline void progress_bar(const char* what, std::uint64_t done, std::uint64_t total) {
  const double f = total ? double(done) / double(total) : 1.0;
  const int width = 30, filled = int(f * width);
  std::fprintf(stderr, "\r%s [%.*s%*s] %5.1f%%", what, filled, "##############################", width - filled, "",
               100 * f);
  std::fflush(stderr);
}

inline electra::data::PrepareSummary prepare(const std::string& vocab_path, const std::vector<std::string>& inputs,
                                             const std::filesystem::path& out, int max_len, std::uint64_t seed) {
  using namespace electra;
  text::Vocab vocab = text::Vocab::load(vocab_path);
  const std::uint64_t hash = data::vocab_hash(vocab);
  const std::size_t vocab_size = vocab.size();
  const data::SpecialIds special{vocab.id("[CLS]"), vocab.id("[SEP]")};
  const text::Tokenizer tok(std::move(vocab));
  std::vector<std::filesystem::path> paths(inputs.begin(), inputs.end());
  data::PrepareOptions o;
  o.max_seq_len = max_len;
  o.seed = seed;
  o.threads = num_threads();
  o.progress = [](std::uint64_t done, std::uint64_t total) { progress_bar("preparing", done, total); };
  const auto summary = data::prepare_shards(
      paths, [&](std::string_view s) { return tok.encode(s); }, special, vocab_size, hash, out, o);
  std::fprintf(stderr, "\n%llu files, %llu documents, %llu sentences -> %llu examples of at most %d tokens, "
               "%llu tokens, %.1f%% truncated, %llu shards in %s\n",
               static_cast<unsigned long long>(summary.files), static_cast<unsigned long long>(summary.documents),
               static_cast<unsigned long long>(summary.sentences), static_cast<unsigned long long>(summary.examples),
               max_len, static_cast<unsigned long long>(summary.tokens), 100 * summary.truncated_fraction(),
               static_cast<unsigned long long>(summary.shards), out.c_str());
  return summary;
}

inline int cmd_prepare(const Args& args) {
  std::vector<std::string> inputs = args.all("input");
  for (const auto& p : args.positional()) inputs.push_back(p);
  if (inputs.empty()) throw usage_error("give at least one --input file or directory");
  const long long max_len = args.integer("max-seq-len", 128);
  if (max_len < 8 || max_len > 512) throw usage_error("--max-seq-len must be in [8, 512]");
  if (args.has("threads")) electra::set_num_threads(int(args.integer("threads", 1)));
  prepare(args.get("vocab", bundled_vocab()), inputs, args.required("out"), int(max_len), std::uint64_t(args.integer("seed", 0)));
  return 0;
}

}  // namespace cli
