// Text -> WordPiece ids with BERT's uncased rules. The implementation is text/tokenizer.hpp;
// this header keeps the one-call entry point.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer.hpp"
#include "vocab.hpp"

namespace electra::text {

// The ids of `text` (no [CLS]/[SEP]), equal to Tokenizer(vocab).encode(text). It builds the
// Tokenizer's lookup tables on every call (a copy of the vocab and two hash maps): for more
// than a few calls, build one Tokenizer and reuse it.
inline std::vector<std::int32_t> tokenize_to_ids(std::string_view text, const Vocab& vocab) {
  return Tokenizer(vocab).encode(text);
}

}  // namespace electra::text
