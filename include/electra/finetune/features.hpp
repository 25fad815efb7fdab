// Fine-tuning inputs for one GLUE example, as the official SingleOutputTask.featurize makes
// them (google-research/electra finetune/classification/classification_tasks.py):
//
//   pair:    [CLS] a [SEP] b [SEP]   segments 0 … 0 0 1 … 1 1   a, b cut by truncate_pair to max_len − 3
//   single:  [CLS] a [SEP]           segments 0 … 0             a cut to its first max_len − 2 pieces
//
// No padding: the batcher pads ids and segments with 0 and builds the mask. As officially,
// a second text whose WordPiece tokens are empty makes a single-sequence example.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../text/tokenizer.hpp"

namespace electra::finetune {

struct PairFeatures {
  std::vector<std::int32_t> ids, segments;  // both [T], T ≤ max_len
  bool truncated = false;                   // some WordPiece tokens were cut
};

// The official _truncate_seq_pair: while |a| + |b| > max_total, drop the last token of the
// longer sequence, of b when they are equal. The shorter one keeps everything it can.
inline void truncate_pair(std::vector<std::int32_t>& a, std::vector<std::int32_t>& b, std::size_t max_total) {
  while (a.size() + b.size() > max_total) (a.size() > b.size() ? a : b).pop_back();
}

inline PairFeatures featurize_pair(const text::Tokenizer& tok, std::string_view a, std::string_view b, bool has_b,
                                   std::size_t max_len) {
  std::vector<std::int32_t> ta = tok.encode(a), tb;
  if (has_b) tb = tok.encode(b);
  const bool pair = !tb.empty();
  const std::size_t specials = pair ? 3 : 2;
  ELECTRA_CHECK(max_len >= specials, value_error, "featurize_pair: max_len ", max_len, " leaves no room for ",
                pair ? "[CLS] a [SEP] b [SEP]" : "[CLS] a [SEP]");
  PairFeatures out;
  const std::size_t before = ta.size() + tb.size();
  if (pair) {
    truncate_pair(ta, tb, max_len - specials);
  } else if (ta.size() > max_len - specials) {
    ta.resize(max_len - specials);
  }
  out.truncated = ta.size() + tb.size() < before;
  const std::size_t n = ta.size() + tb.size() + specials;
  out.ids.reserve(n);
  out.ids.push_back(tok.cls_id());
  out.ids.insert(out.ids.end(), ta.begin(), ta.end());
  out.ids.push_back(tok.sep_id());
  out.segments.assign(out.ids.size(), 0);
  if (pair) {
    out.ids.insert(out.ids.end(), tb.begin(), tb.end());
    out.ids.push_back(tok.sep_id());
    out.segments.resize(out.ids.size(), 1);
  }
  return out;
}

}  // namespace electra::finetune
