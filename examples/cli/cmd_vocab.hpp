// `electra vocab`: trains a BERT-style WordPiece vocabulary on a corpus (text/vocab_trainer.hpp):
//   electra vocab --input FILE_OR_DIR [--input ...] --size N --out vocab.txt [--min-frequency 2]
// Words come from the BERT basic tokenizer (lower-casing, accent stripping, punctuation split).
#pragma once
#include <cstdio>
#include <electra/data/prepare.hpp>
#include <electra/text/basic_tokenizer.hpp>
#include <electra/text/vocab_trainer.hpp>
#include <fstream>

#include "args.hpp"
#include "cmd_text.hpp"

namespace cli {

inline const char* kVocabUsage =
    "usage: electra vocab --input FILE_OR_DIR [--input ...] --size N --out vocab.txt [--min-frequency 2]\n"
    "                     [--limit-alphabet N]\n";

inline int cmd_vocab(const Args& args) {
  using namespace electra;
  std::vector<std::filesystem::path> inputs;
  for (const auto& p : args.all("input")) inputs.emplace_back(p);
  for (const auto& p : args.positional()) inputs.emplace_back(p);
  if (inputs.empty()) throw usage_error("give at least one --input file or directory");
  text::VocabTrainerOptions o;
  const long long size = args.integer("size", 30522);
  if (size < 16) throw usage_error("--size must be at least 16");
  o.vocab_size = std::size_t(size);
  o.min_frequency = std::uint64_t(args.integer("min-frequency", 2));
  if (args.has("limit-alphabet")) o.limit_alphabet = std::size_t(args.integer("limit-alphabet", 1000));
  text::WordPieceTrainer trainer(o);
  const auto files = data::list_input_files(inputs);
  std::uint64_t total = 0, done = 0;
  for (const auto& f : files) total += std::filesystem::file_size(f);
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw io_error("cannot read '" + f.string() + "'");
    std::string line;
    while (std::getline(in, line)) {
      text::for_each_word(line, [&](std::string_view w, std::size_t) { trainer.add_word(w); });
      done += line.size() + 1;
      if ((done & 0xFFFFF) < line.size() + 1) progress_bar("counting words", done, total);
    }
  }
  progress_bar("counting words", total, total);
  std::fprintf(stderr, "\n%zu distinct words\n", trainer.word_counts().size());
  const auto tokens = trainer.train([](std::size_t d, std::size_t t) {
    if (d % 256 == 0 || d == t) progress_bar("merging", d, t);
  });
  text::write_vocab(args.required("out"), tokens);
  std::fprintf(stderr, "\nwrote %zu tokens to %s%s\n", tokens.size(), args.get("out").c_str(),
               tokens.size() < o.vocab_size ? " (the corpus had no more pairs above --min-frequency)" : "");
  return 0;
}

}  // namespace cli
