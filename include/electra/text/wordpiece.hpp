// Text -> WordPiece ids, in BERT's two stages:
//   basic_tokenize: lower-case, split on whitespace and around punctuation
//   wordpiece:      greedy longest-match-first with "##" continuations; a word with no
//                   segmentation, or longer than 100 bytes, becomes [UNK]
// This version treats text as ASCII for lower-casing and punctuation; other UTF-8 bytes
// stay inside words (no accent stripping, no CJK splitting). The full BERT Unicode rules
// come with the text pipeline.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "vocab.hpp"

namespace electra::text {

inline bool is_ascii_punctuation(unsigned char c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

inline std::vector<std::string> basic_tokenize(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(std::move(cur));
    cur.clear();
  };
  for (unsigned char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0 || (c < 32)) {
      flush();
    } else if (is_ascii_punctuation(c)) {
      flush();
      words.emplace_back(1, char(c));
    } else {
      cur += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : char(c);
    }
  }
  flush();
  return words;
}

inline constexpr std::size_t kMaxWordBytes = 100;

// Appends the WordPiece ids of one word to `out`.
inline void wordpiece(const std::string& word, const Vocab& vocab, std::int32_t unk, std::vector<std::int32_t>& out) {
  if (word.size() > kMaxWordBytes) {
    out.push_back(unk);
    return;
  }
  const std::size_t before = out.size();
  for (std::size_t start = 0; start < word.size();) {
    std::int32_t found = -1;
    std::size_t end = word.size();
    for (; end > start; --end) {
      const std::string piece = (start ? "##" : "") + word.substr(start, end - start);
      if ((found = vocab.find(piece)) >= 0) break;
    }
    if (found < 0) {  // no piece matches: the whole word is unknown
      out.resize(before);
      out.push_back(unk);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

inline std::vector<std::int32_t> tokenize_to_ids(std::string_view text, const Vocab& vocab) {
  const std::int32_t unk = vocab.id("[UNK]");
  std::vector<std::int32_t> ids;
  for (const std::string& w : basic_tokenize(text)) wordpiece(w, vocab, unk, ids);
  return ids;
}

}  // namespace electra::text
