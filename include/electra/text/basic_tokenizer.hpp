// BERT's basic tokenizer (uncased): text -> normalized words, as HuggingFace's
// BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase) followed by
// BertPreTokenizer. Per code point, in the Rust normalizer's order:
//   1. clean: drop U+0000, U+FFFD (and so invalid UTF-8, see unicode.hpp) and controls
//      (Cc Cf Co, except \t \n \r); whitespace becomes a word break
//   2. a CJK ideograph becomes a word of its own
//   3. NFD, drop nonspacing marks (Mn): strips accents
//   4. lower-case
//   5. punctuation (ASCII non-alphanumerics, Unicode P*) becomes a word of its own
// The text streams through once; words are passed to a callback as views of one reused
// buffer, so nothing is allocated per character or per word.
//
// Known deviations from the Rust reference (docs/tokenizer.md has the detail):
//  - character classes come from utf8proc's Unicode (15.0 in Debian 12), the Rust crate's
//    from Unicode 8.0: 568 code points assigned or re-categorized since (e.g. U+2E43,
//    U+0890) are dropped, stripped or split differently; none is in the BERT vocab;
//  - NFD here decomposes character by character without canonical reordering; that only
//    changes the order of two adjacent spacing marks with different combining classes
//    (26 code points, none in any BERT vocab), since all reordered Mn are dropped.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "unicode.hpp"

namespace electra::text {

namespace detail {
// What the cleaning and splitting steps do with one ASCII byte; ASCII is most of any
// English corpus, so it skips utf8proc entirely.
enum class Ascii : unsigned char { drop, space, punct, keep };
struct AsciiTable {
  Ascii kind[128];
  char lower[128];
  constexpr AsciiTable() : kind(), lower() {
    for (int c = 0; c < 128; ++c) {
      lower[c] = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') kind[c] = Ascii::space;
      else if (c < 32 || c == 127) kind[c] = Ascii::drop;  // NUL and the other Cc
      else if (unicode::is_ascii_punctuation(char32_t(c))) kind[c] = Ascii::punct;
      else kind[c] = Ascii::keep;
    }
  }
};
inline constexpr AsciiTable kAscii{};
}  // namespace detail

// Calls fn(std::string_view word, std::size_t n_chars) for every word, in order. n_chars
// counts code points (WordPiece's length limit is in characters). The view is valid only
// during the call.
template <class Fn>
void for_each_word(std::string_view text, Fn&& fn) {
  std::string word;
  word.reserve(128);
  std::size_t n_chars = 0;
  const auto flush = [&] {
    if (!word.empty()) fn(std::string_view(word), n_chars);
    word.clear();
    n_chars = 0;
  };
  // Steps 3-5 for one cleaned, non-CJK code point.
  const auto add_normalized = [&](char32_t c) {
    char32_t parts[4];
    const int n = unicode::decompose(c, parts);
    for (int k = 0; k < n; ++k) {
      if (unicode::is_nonspacing_mark(parts[k])) continue;
      const char32_t lc = unicode::to_lower(parts[k]);
      if (unicode::is_punctuation(lc)) {
        flush();
        unicode::append_utf8(word, lc);
        n_chars = 1;
        flush();
      } else if (unicode::is_whitespace(lc)) {  // no decomposition yields one; kept for safety
        flush();
      } else {
        unicode::append_utf8(word, lc);
        ++n_chars;
      }
    }
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      ++i;
      switch (detail::kAscii.kind[b]) {
        case detail::Ascii::drop: break;
        case detail::Ascii::space: flush(); break;
        case detail::Ascii::punct: flush(); word.push_back(char(b)); n_chars = 1; flush(); break;
        case detail::Ascii::keep: {  // the rest of the ASCII letters/digits run, at once
          std::size_t j = i;
          while (j < text.size() && static_cast<unsigned char>(text[j]) < 0x80 &&
                 detail::kAscii.kind[static_cast<unsigned char>(text[j])] == detail::Ascii::keep)
            ++j;
          const std::size_t old = word.size();
          word.resize(old + 1 + (j - i));
          word[old] = detail::kAscii.lower[b];
          for (std::size_t k = i; k < j; ++k) word[old + 1 + (k - i)] = detail::kAscii.lower[static_cast<unsigned char>(text[k])];
          n_chars += 1 + (j - i);
          i = j;
          break;
        }
      }
      continue;
    }
    const char32_t c = unicode::decode_utf8(text, i);
    if (c == unicode::kReplacement || unicode::is_control(c)) continue;
    if (unicode::is_whitespace(c)) {
      flush();
    } else if (unicode::is_chinese_char(c)) {
      flush();
      add_normalized(c);  // compatibility ideographs (U+F900...) map to unified ones
      flush();
    } else {
      add_normalized(c);
    }
  }
  flush();
}

// The words of `text` after BERT's basic tokenization (lower-cased, accents stripped).
inline std::vector<std::string> basic_tokenize(std::string_view text) {
  std::vector<std::string> words;
  for_each_word(text, [&](std::string_view w, std::size_t) { words.emplace_back(w); });
  return words;
}

}  // namespace electra::text
