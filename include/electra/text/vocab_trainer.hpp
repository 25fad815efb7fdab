// WordPiece vocabulary training: word counts -> a BERT-style vocab.txt. The algorithm is
// HuggingFace tokenizers' WordPieceTrainer (its BPE trainer with the "##" prefix):
//   1. split each word into Unicode code points, "##" on all but the first ("low" -> l ##o ##w);
//   2. repeatedly merge the adjacent pair (a, b) with the highest frequency (occurrences
//      weighted by word counts) into the token a + b-without-"##" ("l"+"##o" -> "lo",
//      "##o"+"##w" -> "##ow"), rewriting every occurrence, until there are vocab_size tokens
//      or no pair occurs min_frequency times.
// Score = frequency, not Google's likelihood gain freq(ab) / (freq(a) freq(b)): it matches
// the trainer most BERT vocabularies come from, a merge changes only the counts of the
// pairs around it (so a lazy max-heap does O(changes) work per merge, where likelihood
// would rescore every pair sharing a symbol with it), and it does not favour pairs of rare
// symbols. Ties go to the pair whose (left, right) strings are smallest in byte order
// (= code point order): the result never depends on hash or insertion order.
// docs/vocab_trainer.md has the rationale, the complexity and a timing.
//
// Layout (id = line number): the special tokens in order ([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3
// [MASK]=4 by default); every kept character, in code point order; "##c" for each kept
// character seen after a word's first position, in code point order; the merged tokens in
// merge order (a merge whose string already exists adds nothing). When the pairs with
// frequency >= min_frequency run out first, the result has fewer than vocab_size tokens
// (compare sizes to detect it). A vocab_size below specials + alphabet is a value_error.
// limit_alphabet keeps the N most frequent characters (ties: smaller code point); a word
// with a dropped character would be [UNK] anyway, so it takes no part in the merges.
//
// Words are UTF-8 without whitespace or control characters (they cannot live in a
// one-token-per-line file); either fault is a value_error naming the word. Empty words
// are ignored.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"

namespace electra::text {

struct VocabTrainerOptions {
  std::size_t vocab_size = 30522;             // total, specials included
  std::uint64_t min_frequency = 2;            // a pair seen fewer times is never merged (0 acts as 1)
  std::optional<std::size_t> limit_alphabet;  // keep the N most frequent characters
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
};

// progress(done, target): merged tokens added so far, and vocab_size minus specials and alphabet.
using VocabTrainerProgress = std::function<void(std::size_t done, std::size_t target)>;
using WordCounts = std::unordered_map<std::string, std::uint64_t>;

namespace detail::vt {

// Decodes the code point at s[i] and advances i; false on invalid UTF-8 (truncated,
// overlong, surrogate, above U+10FFFF, stray continuation byte).
inline bool decode_utf8(std::string_view s, std::size_t& i, char32_t& cp) {
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};  // shortest form per length
  const auto b0 = static_cast<unsigned char>(s[i]);
  const std::size_t n = b0 < 0x80 ? 1 : (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return false;
  cp = n == 1 ? b0 : b0 & (0x7Fu >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += n;
  return true;
}

// For error messages: control bytes as \xNN, and every byte >= 0x80 too when s is not UTF-8.
inline std::string escape(std::string_view s) {
  bool utf8 = true;
  char32_t cp;
  for (std::size_t i = 0; utf8 && i < s.size();) utf8 = decode_utf8(s, i, cp);
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
      out += "\\x";
      out += "0123456789abcdef"[c >> 4];
      out += "0123456789abcdef"[c & 15];
    } else {
      out += char(c);
    }
  }
  return out;
}

inline bool is_space_or_control(char32_t c) {
  return c <= 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

inline std::string codepoint_name(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", unsigned(c));
  return buf;
}

// The code points of a word with their byte offsets (offsets.back() == word.size()).
inline void split_chars(std::string_view word, std::vector<char32_t>& cps, std::vector<std::size_t>& offsets) {
  cps.clear();
  offsets.assign(1, 0);
  for (std::size_t i = 0; i < word.size();) {
    char32_t cp;
    ELECTRA_CHECK(decode_utf8(word, i, cp), value_error, "word '", escape(word), "' is not valid UTF-8 (byte ", i, ")");
    ELECTRA_CHECK(!is_space_or_control(cp), value_error, "word '", escape(word),
                  "' contains whitespace or a control character (", codepoint_name(cp), ")");
    cps.push_back(cp);
    offsets.push_back(i);
  }
}

inline std::uint64_t pair_key(std::uint32_t a, std::uint32_t b) { return (std::uint64_t(a) << 32) | b; }

}  // namespace detail::vt

// Trains on a word -> count map; see the top of this file.
inline std::vector<std::string> train_wordpiece_vocab(const WordCounts& counts, const VocabTrainerOptions& opt,
                                                      const VocabTrainerProgress& progress = {}) {
  namespace vt = detail::vt;
  std::vector<std::string> tokens;
  std::unordered_map<std::string, std::uint32_t> ids;
  auto intern = [&](const std::string& s) {  // id of s, appended when new
    const auto [it, added] = ids.emplace(s, std::uint32_t(tokens.size()));
    if (added) tokens.push_back(s);
    return it->second;
  };
  std::vector<char32_t> cps;
  std::vector<std::size_t> offs;
  for (const auto& s : opt.special_tokens) {
    ELECTRA_CHECK(!s.empty(), value_error, "special tokens must not be empty");
    vt::split_chars(s, cps, offs);
    ELECTRA_CHECK(!ids.count(s), value_error, "special token '", s, "' is listed twice");
    intern(s);
  }

  // 1. Words as code points; character frequencies and UTF-8 spellings.
  struct Word {
    std::vector<char32_t> cps;
    std::uint64_t count;
  };
  std::vector<Word> words;
  std::unordered_map<char32_t, std::uint64_t> char_freq;
  std::unordered_map<char32_t, std::string> utf8_of;
  words.reserve(counts.size());
  for (const auto& [w, n] : counts) {
    if (w.empty() || n == 0) continue;
    vt::split_chars(w, cps, offs);
    for (std::size_t k = 0; k < cps.size(); ++k) {
      if (char_freq[cps[k]] == 0) utf8_of.emplace(cps[k], w.substr(offs[k], offs[k + 1] - offs[k]));
      char_freq[cps[k]] += n;
    }
    words.push_back({cps, n});
  }

  // 2. The alphabet: all characters, or the limit_alphabet most frequent ones.
  std::vector<std::pair<char32_t, std::uint64_t>> alphabet(char_freq.begin(), char_freq.end());
  if (opt.limit_alphabet && alphabet.size() > *opt.limit_alphabet) {
    std::sort(alphabet.begin(), alphabet.end(), [](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    alphabet.resize(*opt.limit_alphabet);
  }
  std::sort(alphabet.begin(), alphabet.end());
  std::unordered_map<char32_t, std::uint32_t> bare_id, cont_id;
  for (const auto& [c, f] : alphabet) bare_id.emplace(c, intern(utf8_of.at(c)));
  std::erase_if(words, [&](const Word& w) {
    return std::any_of(w.cps.begin(), w.cps.end(), [&](char32_t c) { return !bare_id.count(c); });
  });
  for (const auto& w : words)
    for (std::size_t k = 1; k < w.cps.size(); ++k) cont_id.emplace(w.cps[k], 0);
  for (const auto& [c, f] : alphabet)
    if (cont_id.count(c)) cont_id[c] = intern("##" + utf8_of.at(c));
  ELECTRA_CHECK(tokens.size() <= opt.vocab_size, value_error, "vocab_size ", opt.vocab_size, " is smaller than the ",
                opt.special_tokens.size(), " special tokens plus the ", tokens.size() - opt.special_tokens.size(),
                " alphabet tokens of the corpus; raise vocab_size or set limit_alphabet");

  // 3. Words as symbol ids; pair counts; which words hold each pair.
  std::vector<std::vector<std::uint32_t>> sym(words.size());
  std::vector<std::uint64_t> wcount(words.size());
  std::unordered_map<std::uint64_t, std::int64_t> pair_count;
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> where;
  for (std::size_t i = 0; i < words.size(); ++i) {
    wcount[i] = words[i].count;
    const auto& w = words[i].cps;
    for (std::size_t k = 0; k < w.size(); ++k) sym[i].push_back(k ? cont_id.at(w[k]) : bare_id.at(w[k]));
    for (std::size_t k = 0; k + 1 < sym[i].size(); ++k) {
      const auto key = vt::pair_key(sym[i][k], sym[i][k + 1]);
      pair_count[key] += std::int64_t(wcount[i]);
      auto& list = where[key];
      if (list.empty() || list.back() != i) list.push_back(std::uint32_t(i));
    }
  }
  words = {};

  // 4. Merges. A max-heap of (count, pair) with lazy invalidation: an entry whose count is
  // stale is re-pushed with the current count when it surfaces; a pair whose count grows
  // gets a fresh entry, so the top valid entry is always the true maximum.
  struct Entry {
    std::int64_t count;
    std::uint64_t pair;
  };
  auto less = [&](const Entry& x, const Entry& y) {  // true: x ranks below y
    if (x.count != y.count) return x.count < y.count;
    const std::string& xa = tokens[x.pair >> 32];
    const std::string& ya = tokens[y.pair >> 32];
    if (xa != ya) return xa > ya;
    return tokens[x.pair & 0xffffffffu] > tokens[y.pair & 0xffffffffu];
  };
  std::vector<Entry> heap;
  heap.reserve(pair_count.size());
  for (const auto& [key, n] : pair_count) heap.push_back({n, key});
  std::make_heap(heap.begin(), heap.end(), less);

  const std::size_t target = opt.vocab_size - tokens.size();
  const std::size_t every = std::max<std::size_t>(1, target / 1000);
  const std::int64_t min_count = std::int64_t(std::max<std::uint64_t>(opt.min_frequency, 1));
  std::size_t done = 0;
  if (progress) progress(0, target);
  std::vector<std::uint64_t> grown;
  std::vector<std::uint32_t> out;
  while (tokens.size() < opt.vocab_size && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), less);
    const Entry top = heap.back();
    heap.pop_back();
    const auto pc = pair_count.find(top.pair);
    const std::int64_t current = pc == pair_count.end() ? 0 : pc->second;
    if (current != top.count) {
      if (current > 0) {
        heap.push_back({current, top.pair});
        std::push_heap(heap.begin(), heap.end(), less);
      }
      continue;
    }
    if (current < min_count) break;
    const std::uint32_t a = std::uint32_t(top.pair >> 32), b = std::uint32_t(top.pair & 0xffffffffu);
    const std::string& right = tokens[b];
    const std::size_t before = tokens.size();
    const std::uint32_t c = intern(tokens[a] + (right.starts_with("##") ? right.substr(2) : right));

    std::vector<std::uint32_t> holders;
    if (auto wit = where.find(top.pair); wit != where.end()) {
      holders = std::move(wit->second);
      where.erase(wit);
    }
    std::sort(holders.begin(), holders.end());
    holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
    grown.clear();
    for (const std::uint32_t i : holders) {
      auto& w = sym[i];
      const std::int64_t n = std::int64_t(wcount[i]);
      auto add = [&](std::uint32_t x, std::uint32_t y, std::int64_t d) {
        const auto key = vt::pair_key(x, y);
        pair_count[key] += d;
        if (d > 0) {
          grown.push_back(key);
          auto& list = where[key];
          if (list.empty() || list.back() != i) list.push_back(i);
        }
      };
      out.clear();
      for (std::size_t k = 0; k < w.size();) {
        if (k + 1 < w.size() && w[k] == a && w[k + 1] == b) {
          if (!out.empty()) {  // the left neighbour, possibly a c just written
            add(out.back(), a, -n);
            add(out.back(), c, n);
          }
          add(a, b, -n);
          if (k + 2 < w.size()) {
            add(b, w[k + 2], -n);
            add(c, w[k + 2], n);
          }
          out.push_back(c);
          k += 2;
        } else {
          out.push_back(w[k++]);
        }
      }
      w.assign(out.begin(), out.end());
    }
    pair_count.erase(top.pair);
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (const auto key : grown) {
      const std::int64_t n = pair_count[key];
      if (n > 0) {
        heap.push_back({n, key});
        std::push_heap(heap.begin(), heap.end(), less);
      }
    }
    if (tokens.size() > before && ++done % every == 0 && progress) progress(done, target);
  }
  if (progress) progress(done, target);
  return tokens;
}

// Accumulates word counts from a stream of pre-tokenised words, then trains.
class WordPieceTrainer {
 public:
  explicit WordPieceTrainer(VocabTrainerOptions options = {}) : options_(std::move(options)) {}

  void add_word(std::string_view word, std::uint64_t count = 1) {
    if (!word.empty() && count) counts_[std::string(word)] += count;
  }
  void add_words(const std::vector<std::string>& words) {
    for (const auto& w : words) add_word(w);
  }
  void add_counts(const WordCounts& counts) {
    for (const auto& [w, n] : counts) add_word(w, n);
  }

  const WordCounts& word_counts() const { return counts_; }
  const VocabTrainerOptions& options() const { return options_; }

  std::vector<std::string> train(const VocabTrainerProgress& progress = {}) const {
    return train_wordpiece_vocab(counts_, options_, progress);
  }

 private:
  VocabTrainerOptions options_;
  WordCounts counts_;
};

// Writes one token per line, atomically. An empty token, a token with '\n' or '\r', or a
// duplicate is a value_error and nothing is written (the file would not load back).
inline void write_vocab(const std::filesystem::path& path, const std::vector<std::string>& tokens) {
  std::unordered_set<std::string_view> seen;
  std::string text;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    ELECTRA_CHECK(!t.empty(), value_error, "vocabulary token ", i, " is empty");
    ELECTRA_CHECK(t.find('\n') == std::string::npos && t.find('\r') == std::string::npos, value_error,
                  "vocabulary token ", i, " '", detail::vt::escape(t), "' contains a line break");
    ELECTRA_CHECK(seen.insert(t).second, value_error, "vocabulary token ", i, " '", t, "' is a duplicate");
    text += t;
    text += '\n';
  }
  io::write_file_atomically(path, text);
}

}  // namespace electra::text
