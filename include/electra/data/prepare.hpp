// prepare_shards: text files -> shard-00000.bin, shard-00001.bin, … (shard.hpp format).
//
// Input as the official ExampleWriter.write_examples reads it: one sentence per line
// (whitespace-stripped), a blank line ends a document, and so does the end of each file.
// Files are read in the order given, directories expanded recursively in sorted path order
// (files whose name starts with '.' skipped); the official script shuffles its file list
// instead, which a seeded reader shuffle makes unnecessary.
//
// Memory stays bounded: lines are read in chunks, a chunk is tokenised by `threads` threads
// (tokenisation is the slow part), then its sentences go to one ExampleBuilder in file
// order. The output therefore depends on the seed only, never on the thread count.
// `tokenize` is called concurrently and must be thread-safe.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "example_builder.hpp"
#include "shard.hpp"

namespace electra::data {

using Tokenize = std::function<std::vector<std::int32_t>(std::string_view)>;

struct PrepareOptions {
  int max_seq_len = 128;
  std::uint64_t seed = 0;
  int threads = 1;
  std::size_t examples_per_shard = 100000;  // ~25 MB per shard at T = 128 with u16 ids
  bool blanks_separate_docs = true;         // official --blanks-separate-docs
  std::size_t chunk_lines = 8192;           // lines tokenised per parallel round
  std::function<void(std::uint64_t bytes_read, std::uint64_t bytes_total)> progress;
};

struct PrepareSummary {
  std::uint64_t files = 0, documents = 0, sentences = 0, examples = 0, tokens = 0;
  std::uint64_t truncated_examples = 0;  // examples whose truncation dropped tokens
  std::uint64_t shards = 0, input_bytes = 0, bytes_written = 0;
  double truncated_fraction() const { return examples ? double(truncated_examples) / double(examples) : 0.0; }
};

// The files `inputs` name, in reading order; io_error lists every missing path.
inline std::vector<std::filesystem::path> list_input_files(const std::vector<std::filesystem::path>& inputs) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::string missing;
  for (const fs::path& in : inputs) {
    if (fs::is_directory(in)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::recursive_directory_iterator(in))
        if (e.is_regular_file() && e.path().filename().string().front() != '.') found.push_back(e.path());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(in)) {
      files.push_back(in);
    } else {
      missing += (missing.empty() ? "'" : ", '") + in.string() + "'";
    }
  }
  ELECTRA_CHECK(missing.empty(), io_error, "input not found: ", missing);
  return files;
}

namespace detail {
inline std::string_view strip(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n\v\f";  // Python's str.strip(), ASCII part
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// out[i] = tokenize(lines[i]) on `threads` threads, blocks of 64 lines handed out in turn.
inline void tokenize_parallel(const std::vector<std::string>& lines, std::vector<std::vector<std::int32_t>>& out,
                              const Tokenize& tokenize, int threads) {
  out.assign(lines.size(), {});
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto work = [&] {
    try {
      for (std::size_t b; (b = next.fetch_add(64)) < lines.size();)
        for (std::size_t i = b; i < std::min(b + 64, lines.size()); ++i)
          if (!lines[i].empty()) out[i] = tokenize(lines[i]);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = lines.size();  // the others stop at their next block
    }
  };
  const int n = std::max(1, std::min<int>(threads, int(lines.size() / 64) + 1));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}
}  // namespace detail

inline PrepareSummary prepare_shards(const std::vector<std::filesystem::path>& inputs, const Tokenize& tokenize,
                                     SpecialIds special, std::size_t vocab_size, std::uint64_t vocab_hash,
                                     const std::filesystem::path& out_dir, const PrepareOptions& o) {
  namespace fs = std::filesystem;
  ELECTRA_CHECK(o.examples_per_shard >= 1 && o.chunk_lines >= 1, value_error,
                "prepare: examples_per_shard and chunk_lines must be >= 1");
  const std::vector<fs::path> files = list_input_files(inputs);
  PrepareSummary s;
  s.files = files.size();
  for (const auto& f : files) s.input_bytes += fs::file_size(f);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  ELECTRA_CHECK(!ec, io_error, "cannot create output directory '", out_dir.string(), "': ", ec.message());

  Rng rng(o.seed);
  ExampleBuilder builder(special, o.max_seq_len, rng);
  std::optional<ShardWriter> writer;
  const auto finish_shard = [&] {
    writer->finish();
    s.bytes_written += writer->file_bytes();
    ++s.shards;
    writer.reset();
  };
  const auto emit = [&](std::optional<PretrainExample> ex) {
    if (!ex) return;
    if (!writer) writer.emplace(out_dir / shard_file_name(s.shards), o.max_seq_len, vocab_size, vocab_hash);
    writer->add(ex->ids, ex->segment_a_len);
    ++s.examples;
    s.tokens += ex->ids.size();
    s.truncated_examples += ex->dropped > 0;
    if (writer->size() == o.examples_per_shard) finish_shard();
  };
  bool in_document = false;
  const auto end_document = [&] {
    s.documents += in_document;
    in_document = false;
    emit(builder.end_document());
  };

  std::uint64_t bytes_read = 0;
  std::vector<std::string> lines;
  std::vector<std::vector<std::int32_t>> ids;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    ELECTRA_CHECK(in, io_error, "cannot open input file '", file.string(), "'");
    for (bool more = true; more;) {
      lines.clear();
      for (std::string line; lines.size() < o.chunk_lines;) {
        if (!std::getline(in, line)) {
          more = false;
          break;
        }
        bytes_read += line.size() + 1;
        lines.emplace_back(detail::strip(line));
      }
      ELECTRA_CHECK(more || in.eof(), io_error, "error reading input file '", file.string(), "'");
      detail::tokenize_parallel(lines, ids, tokenize, o.threads);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!lines[i].empty()) {
          ++s.sentences;
          in_document = true;
          emit(builder.add_sentence(std::move(ids[i])));
        } else if (o.blanks_separate_docs) {
          end_document();
        }
      }
      if (o.progress) o.progress(std::min(bytes_read, s.input_bytes), s.input_bytes);
    }
    end_document();  // write_examples: add_line("") after each file
  }
  if (writer) finish_shard();
  // A rerun into the same directory must not leave shards of a longer earlier run behind.
  for (std::size_t i = s.shards; fs::exists(out_dir / shard_file_name(i)); ++i) fs::remove(out_dir / shard_file_name(i));
  if (o.progress) o.progress(s.input_bytes, s.input_bytes);
  return s;
}

}  // namespace electra::data
