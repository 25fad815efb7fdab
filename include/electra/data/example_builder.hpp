// Pretraining examples exactly as the official ELECTRA builder makes them
// (google-research/electra build_pretraining_dataset.py, class ExampleBuilder):
//
//   sentences (token-id lists) accumulate until their total length reaches target_length;
//   a document end emits whatever has accumulated (if any tokens); then
//     one segment with p = 0.1, else first-segment target = (target_length − 3) // 2
//     a sentence goes to A if A is empty, or |A| + |s| < first target, or (B is still
//       empty and |A| < first target and a coin flip < 0.5); otherwise to B
//     A = A[: max_length − 2];  B = B[: max(0, max_length − |A| − 3)]
//     ids = [CLS] A [SEP] (B [SEP] if B non-empty); types 0 for [CLS] A [SEP], 1 for B [SEP]
//   after each example the next target is randint(5, max_length) with p = 0.05, else max_length.
//
// The random draws happen in the official order (one-segment draw, then the coin flips the
// short-circuit actually evaluates, then the next-target draw) but come from electra::Rng,
// not Python's `random`, so the output matches the official distribution, not its bytes.
// Surprising official details kept on purpose: the target length is not reset at document
// boundaries; sentences are never split, so one long sentence overflows and is cut by the
// truncation above; when A alone fills max_length − 3 tokens, B is dropped entirely.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"
#include "../model/pretraining.hpp"

namespace electra::data {

struct SpecialIds {
  std::int32_t cls = 101, sep = 102;  // BERT uncased vocab.txt ids
};

// One example without padding: ids = [CLS] A [SEP] (B [SEP]); the first segment_a_len
// ids have token type 0, the rest type 1.
struct PretrainExample {
  std::vector<std::int32_t> ids;
  std::int32_t segment_a_len = 0;  // |A| + 2
  // Diagnostics, not stored in shards:
  std::int32_t target_length = 0;  // the target this example was accumulated towards
  std::int32_t dropped = 0;        // tokens the truncation removed
};

class ExampleBuilder {
 public:
  ExampleBuilder(SpecialIds special, int max_length, Rng& rng)
      : special_(special), max_length_(max_length), target_length_(max_length), rng_(&rng) {
    // randint(5, max_length) needs max_length >= 5; segment lengths are stored as u16.
    ELECTRA_CHECK(max_length >= 5 && max_length <= 65535, value_error,
                  "example builder: max_length must be in [5, 65535], got ", max_length);
  }

  // add_line for a non-blank line. An empty sentence is a no-op, as officially (it adds no
  // tokens and never reaches a coin flip).
  std::optional<PretrainExample> add_sentence(std::vector<std::int32_t> ids) {
    if (ids.empty()) return std::nullopt;
    current_length_ += ids.size();
    sentences_.push_back(std::move(ids));
    if (current_length_ >= std::size_t(target_length_)) return create_example();
    return std::nullopt;
  }

  // add_line("") : a blank line or the end of an input file.
  std::optional<PretrainExample> end_document() {
    if (current_length_ == 0) return std::nullopt;
    return create_example();
  }

  int max_length() const { return max_length_; }
  int target_length() const { return target_length_; }

 private:
  PretrainExample create_example() {
    PretrainExample ex;
    ex.target_length = target_length_;
    // 100000 in the official code: effectively "everything goes to A".
    const std::size_t first_target =
        rng_->uniform() < 0.1 ? SIZE_MAX : std::size_t(std::max(0, (target_length_ - 3) / 2));
    std::vector<std::int32_t> a, b;
    for (const auto& s : sentences_) {
      const bool to_a = a.empty() || a.size() + s.size() < first_target ||
                        (b.empty() && a.size() < first_target && rng_->uniform() < 0.5);
      (to_a ? a : b).insert((to_a ? a : b).end(), s.begin(), s.end());
    }
    const std::size_t total = a.size() + b.size();
    if (a.size() > std::size_t(max_length_ - 2)) a.resize(std::size_t(max_length_ - 2));
    const int b_room = std::max(0, max_length_ - int(a.size()) - 3);
    if (b.size() > std::size_t(b_room)) b.resize(std::size_t(b_room));
    ex.dropped = std::int32_t(total - a.size() - b.size());

    sentences_.clear();
    current_length_ = 0;
    target_length_ = rng_->uniform() < 0.05 ? 5 + int(rng_->below(std::uint64_t(max_length_ - 4))) : max_length_;

    ex.ids.reserve(a.size() + b.size() + 3);
    ex.ids.push_back(special_.cls);
    ex.ids.insert(ex.ids.end(), a.begin(), a.end());
    ex.ids.push_back(special_.sep);
    ex.segment_a_len = std::int32_t(ex.ids.size());
    if (!b.empty()) {
      ex.ids.insert(ex.ids.end(), b.begin(), b.end());
      ex.ids.push_back(special_.sep);
    }
    return ex;
  }

  SpecialIds special_;
  int max_length_, target_length_;
  Rng* rng_;
  std::vector<std::vector<std::int32_t>> sentences_;
  std::size_t current_length_ = 0;
};

// Pads examples into a batch ([B,T], T = max_length): ids and types 0 and mask 0 on
// padding, as _make_tf_example does. `get(i)` returns a view with ids_size(), id(t) and
// segment_a_len (a shard's ExampleView, or the adapter below for PretrainExample).
template <class Get>
model::Batch make_batch(std::size_t count, int max_length, Get&& get) {
  const index_t B = index_t(count), T = index_t(max_length);
  model::Batch batch{Tensor<std::int32_t>::zeros({B, T}), Tensor<std::int32_t>::zeros({B, T}),
                     Tensor<std::int32_t>::zeros({B, T})};
  for (std::size_t i = 0; i < count; ++i) {
    const auto& ex = get(i);
    const std::size_t n = ex.ids_size();
    ELECTRA_CHECK(n <= std::size_t(max_length), value_error, "example of ", n, " tokens exceeds max_length ",
                  max_length);
    std::int32_t* ids = batch.input_ids.data() + index_t(i) * T;
    std::int32_t* mask = batch.input_mask.data() + index_t(i) * T;
    std::int32_t* types = batch.token_types.data() + index_t(i) * T;
    for (std::size_t t = 0; t < n; ++t) {
      ids[t] = ex.id(t);
      mask[t] = 1;
      types[t] = std::int32_t(t) >= ex.segment_a_len ? 1 : 0;
    }
  }
  return batch;
}

inline model::Batch make_batch(std::span<const PretrainExample> examples, int max_length) {
  struct View {
    const PretrainExample* e;
    std::int32_t segment_a_len;
    std::size_t ids_size() const { return e->ids.size(); }
    std::int32_t id(std::size_t t) const { return e->ids[t]; }
  };
  return make_batch(examples.size(), max_length, [&](std::size_t i) {
    return View{&examples[i], examples[i].segment_a_len};
  });
}

}  // namespace electra::data
