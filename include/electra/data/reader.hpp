// PretrainReader: shuffled, resumable batches from a directory of shards.
//
// Index space: the shards' examples concatenated in file order, 0 .. total−1.
//   held out  the last `eval_examples` of them (the end of the last input files, so nearly
//             document-disjoint from training), read in order by eval_batches(), by every
//             rank alike, never shuffled, never trained on
//   training  0 .. train−1; epoch e visits perm_e, a Fisher–Yates permutation drawn from an
//             Rng seeded by (seed, e). All ranks compute the same perm_e; rank r takes
//             positions r, r + world, r + 2·world, … of it, so ranks are disjoint within an
//             epoch, and each epoch drops the last train % world positions so that every
//             rank has the same epoch_size = train / world (dropped ones differ per epoch).
// Cursor {epoch, position}: position counts this rank's examples consumed in the epoch.
// Saving cursor() and seek()-ing to it in a new reader with the same seed, shards, rank and
// world continues with exactly the batches the old reader would have produced.
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "example_builder.hpp"
#include "shard.hpp"

namespace electra::data {

struct ReaderOptions {
  std::uint64_t seed = 0;
  int rank = 0, world = 1;
  std::size_t eval_examples = 0;
};

struct Cursor {
  std::uint64_t epoch = 0, position = 0;
  bool operator==(const Cursor&) const = default;
};

class PretrainReader {
 public:
  PretrainReader(const std::filesystem::path& dir, std::uint64_t vocab_hash, int max_seq_len, ReaderOptions o = {})
      : max_seq_len_(max_seq_len), o_(o) {
    namespace fs = std::filesystem;
    ELECTRA_CHECK(o.world >= 1 && o.rank >= 0 && o.rank < o.world, value_error, "reader: rank ", o.rank,
                  " outside world of ", o.world);
    ELECTRA_CHECK(fs::is_directory(dir), io_error, "shard directory '", dir.string(), "' not found");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string n = e.path().filename().string();
      if (n.size() > 10 && n.starts_with("shard-") && n.ends_with(".bin") &&
          n.find_first_not_of("0123456789", 6) == n.size() - 4)
        names.push_back(n);
    }
    // By length first: shard-100000.bin follows shard-99999.bin.
    std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) {
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    ELECTRA_CHECK(!names.empty(), io_error, "no shard-NNNNN.bin files in '", dir.string(), "'");
    starts_.push_back(0);
    for (std::size_t i = 0; i < names.size(); ++i) {
      // A gap means a shard went missing; training on the rest would silently skip data.
      ELECTRA_CHECK(names[i] == shard_file_name(i), io_error, "shard directory '", dir.string(), "': ",
                    shard_file_name(i), " is missing (found ", names[i], ")");
      shards_.emplace_back(dir / names[i]);
      shards_.back().expect(vocab_hash, max_seq_len);
      starts_.push_back(starts_.back() + shards_.back().size());
    }
    const std::uint64_t total = starts_.back();
    ELECTRA_CHECK(o.eval_examples < total, value_error, "reader: ", o.eval_examples, " held-out examples leave none of ",
                  total, " for training");
    ELECTRA_CHECK(total - o.eval_examples < (1ull << 32), value_error, "reader: more than 2^32 training examples");
    train_ = total - o.eval_examples;
    epoch_size_ = train_ / std::uint64_t(o.world);
    ELECTRA_CHECK(epoch_size_ > 0, value_error, "reader: ", train_, " training examples for ", o.world, " ranks");
  }

  std::uint64_t total_examples() const { return starts_.back(); }
  std::uint64_t train_examples() const { return train_; }
  std::uint64_t eval_examples() const { return o_.eval_examples; }
  std::uint64_t epoch_size() const { return epoch_size_; }  // per rank
  std::size_t shard_count() const { return shards_.size(); }
  int max_seq_len() const { return max_seq_len_; }

  Cursor cursor() const { return cursor_; }
  void seek(Cursor c) {
    ELECTRA_CHECK(c.position <= epoch_size_, value_error, "reader: cursor position ", c.position,
                  " beyond the epoch size ", epoch_size_, " (different shards, world or held-out split?)");
    cursor_ = c;
  }

  // Example `global` of the index space.
  ExampleView example(std::uint64_t global) const {
    ELECTRA_CHECK(global < total_examples(), index_error, "reader: example ", global, " of ", total_examples());
    const std::size_t s = std::size_t(std::upper_bound(starts_.begin(), starts_.end(), global) - starts_.begin() - 1);
    return shards_[s].example(std::size_t(global - starts_[s]));
  }

  // This rank's global indices for one epoch, in visiting order.
  std::vector<std::uint64_t> epoch_order(std::uint64_t epoch) {
    const auto& p = permutation(epoch);
    std::vector<std::uint64_t> v(epoch_size_);
    for (std::uint64_t k = 0; k < epoch_size_; ++k) v[k] = p[std::uint64_t(o_.rank) + k * std::uint64_t(o_.world)];
    return v;
  }

  // The next batch_size examples, rolling into the next epoch as needed.
  model::Batch next_batch(int batch_size) {
    ELECTRA_CHECK(batch_size >= 1, value_error, "reader: batch size must be >= 1, got ", batch_size);
    std::vector<ExampleView> views;
    views.reserve(std::size_t(batch_size));
    while (views.size() < std::size_t(batch_size)) {
      if (cursor_.position == epoch_size_) cursor_ = {cursor_.epoch + 1, 0};
      const auto& p = permutation(cursor_.epoch);
      views.push_back(example(p[std::uint64_t(o_.rank) + cursor_.position * std::uint64_t(o_.world)]));
      ++cursor_.position;
    }
    return make_batch(views.size(), max_seq_len_, [&](std::size_t i) -> const ExampleView& { return views[i]; });
  }

  // The held-out examples in order; the last batch may be smaller.
  std::vector<model::Batch> eval_batches(int batch_size) const {
    ELECTRA_CHECK(batch_size >= 1, value_error, "reader: batch size must be >= 1, got ", batch_size);
    std::vector<model::Batch> out;
    for (std::uint64_t b = train_; b < total_examples(); b += std::uint64_t(batch_size)) {
      const std::size_t n = std::size_t(std::min<std::uint64_t>(std::uint64_t(batch_size), total_examples() - b));
      out.push_back(make_batch(n, max_seq_len_, [&](std::size_t i) { return example(b + i); }));
    }
    return out;
  }

 private:
  const std::vector<std::uint32_t>& permutation(std::uint64_t epoch) {
    if (perm_epoch_ == epoch && !perm_.empty()) return perm_;
    perm_.resize(train_);
    for (std::uint64_t i = 0; i < train_; ++i) perm_[i] = std::uint32_t(i);
    // below() is a modulo: its bias is < train / 2^64, far below anything measurable.
    Rng rng(mix64(o_.seed) ^ mix64(epoch ^ 0x5DEECE66Dull));
    for (std::uint64_t i = train_ - 1; i > 0; --i) std::swap(perm_[i], perm_[rng.below(i + 1)]);
    perm_epoch_ = epoch;
    return perm_;
  }

  int max_seq_len_;
  ReaderOptions o_;
  std::vector<ShardReader> shards_;
  std::vector<std::uint64_t> starts_;  // starts_[s] = global index of shard s's first example
  std::uint64_t train_ = 0, epoch_size_ = 0;
  Cursor cursor_;
  std::vector<std::uint32_t> perm_;
  std::uint64_t perm_epoch_ = 0;
};

}  // namespace electra::data
