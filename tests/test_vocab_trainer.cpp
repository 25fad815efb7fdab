// WordPiece vocabulary trainer: layout, merge order, size, segmentation coverage,
// determinism, UTF-8, options, errors and the vocab.txt round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <electra/text/vocab.hpp>
#include <electra/text/vocab_trainer.hpp>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "helpers.hpp"

namespace fs = std::filesystem;
using electra::text::train_wordpiece_vocab;
using electra::text::VocabTrainerOptions;
using electra::text::WordCounts;
using electra::text::WordPieceTrainer;

namespace {

const std::vector<std::string> kSpecials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

VocabTrainerOptions options(std::size_t vocab_size, std::uint64_t min_frequency = 2) {
  VocabTrainerOptions o;
  o.vocab_size = vocab_size;
  o.min_frequency = min_frequency;
  return o;
}

// Sennrich et al.'s example: with "##" the words are l ##o ##w, n ##e ##w ##e ##s ##t, ...
WordCounts toy_corpus() { return {{"low", 5}, {"lower", 2}, {"newest", 6}, {"widest", 3}}; }

// A synthetic corpus: ~1500 distinct words from syllables (some multi-byte), Zipf-like counts.
WordCounts synthetic_corpus(unsigned seed = 7) {
  const std::vector<std::string> syl = {"ka", "to", "ri", "ne", "sa", "mo", "lu", "ing", "er", "st",
                                        "é",  "ß",  "日", "本", "qu", "x",  "y",  "th",  "ou", "a"};
  std::mt19937 rng(seed);
  WordCounts wc;
  for (int i = 0; i < 1500; ++i) {
    std::string w;
    const int n = 1 + int(rng() % 5);
    for (int k = 0; k < n; ++k) w += syl[rng() % syl.size()];
    wc[w] += 1 + 3000 / std::uint64_t(i + 1);
  }
  return wc;
}

// Greedy longest-match-first WordPiece; false when some position has no matching piece.
bool segment(const std::string& word, const std::unordered_set<std::string>& vocab,
             std::vector<std::string>* pieces = nullptr) {
  for (std::size_t start = 0; start < word.size();) {
    std::size_t end = word.size();
    for (; end > start; --end)
      if (vocab.count((start ? "##" : "") + word.substr(start, end - start))) break;
    if (end == start) return false;
    if (pieces) pieces->push_back((start ? "##" : "") + word.substr(start, end - start));
    start = end;
  }
  return true;
}

std::vector<std::string> merged_part(const std::vector<std::string>& tokens, std::size_t initial) {
  return {tokens.begin() + std::ptrdiff_t(initial), tokens.end()};
}

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("electra-vt-" + std::to_string(std::random_device{}()))) {
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("vocab trainer: special tokens first, [PAD]=0, then the alphabet in code point order") {
  const auto t = train_wordpiece_vocab(toy_corpus(), options(23));
  // 5 specials + 10 characters + 8 continuations = 23: no room for merges.
  const std::vector<std::string> expected = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "d",   "e",  "i",
                                             "l",     "n",     "o",     "r",     "s",      "t",   "w",  "##d",
                                             "##e",   "##i",   "##o",   "##r",   "##s",    "##t", "##w"};
  CHECK(t == expected);
}

TEST_CASE("vocab trainer: first merges on the toy corpus are the hand-computed ones") {
  // low×5 lower×2 newest×6 widest×3. Pair frequencies at the start:
  //   (##e,##s) = 6+3 = 9, (##s,##t) = 9, (##w,##e) = 2+6 = 8, (l,##o) = (##o,##w) = 7, ...
  // 1. tie at 9: "##e" < "##s"                 -> ##es; (##es,##t) = 9, (##w,##e) drops to 2
  // 2. (##es,##t) = 9                           -> ##est
  // 3. tie at 7 (l,##o) vs (##o,##w): "##o" < "l" ('#' = 0x23) -> ##ow; then (l,##ow) = 7
  // 4. (l,##ow) = 7                             -> low
  // 5. tie at 6: (##e,##w), (##w,##est), (n,##e): "##e" is smallest -> ##ew
  // 6. (n,##ew) = 6 and (##ew,##est) = 6: "##ew" < "n" -> ##ewest
  const auto t = train_wordpiece_vocab(toy_corpus(), options(23 + 6));
  CHECK(merged_part(t, 23) == std::vector<std::string>{"##es", "##est", "##ow", "low", "##ew", "##ewest"});
}

TEST_CASE("vocab trainer: vocab_size is met exactly when the corpus has enough pairs") {
  const auto wc = synthetic_corpus();
  for (std::size_t size : {std::size_t(150), std::size_t(400)}) {
    const auto t = train_wordpiece_vocab(wc, options(size));
    CHECK(t.size() == size);
    CHECK(std::set<std::string>(t.begin(), t.end()).size() == t.size());
    CHECK(std::vector<std::string>(t.begin(), t.begin() + 5) == kSpecials);
  }
}

TEST_CASE("vocab trainer: a corpus too small gives fewer tokens, with min_frequency 1 every word is whole") {
  const auto wc = toy_corpus();
  const auto t = train_wordpiece_vocab(wc, options(1000, 1));
  CHECK(t.size() < 1000);
  const std::unordered_set<std::string> vocab(t.begin(), t.end());
  for (const auto& [w, n] : wc) CHECK_MESSAGE(vocab.count(w), w);
  // A corpus whose only pair is seen once trains no merge at the default min_frequency 2:
  // specials + alphabet only, far below vocab_size, and no error.
  CHECK(train_wordpiece_vocab({{"ab", 1}}, options(30000)) ==
        std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##b"});
}

TEST_CASE("vocab trainer: every training word segments without [UNK] (min_frequency 1, full alphabet)") {
  const auto wc = synthetic_corpus();
  std::size_t previous = SIZE_MAX;
  for (std::size_t size : {std::size_t(100), std::size_t(300), std::size_t(5000)}) {
    const auto t = train_wordpiece_vocab(wc, options(size, 1));
    const std::unordered_set<std::string> vocab(t.begin(), t.end());
    std::size_t pieces_total = 0;
    for (const auto& [w, n] : wc) {
      std::vector<std::string> pieces;
      CHECK_MESSAGE(segment(w, vocab, &pieces), w);
      pieces_total += pieces.size();
    }
    CHECK(pieces_total < previous);  // a larger vocabulary segments into fewer pieces
    previous = pieces_total;
  }
  CHECK(previous == wc.size());  // the vocabulary ran out of merges: every word is one token
}

// The textbook algorithm: recount every pair before every merge. Returns the merged tokens
// of a vocabulary of vocab_size (5 specials + bare characters + "##" characters + merges).
std::vector<std::string> naive_merges(const WordCounts& wc, std::size_t vocab_size, std::uint64_t min_frequency) {
  std::vector<std::pair<std::vector<std::string>, std::uint64_t>> words;
  std::set<std::string> vocab;
  for (const auto& [w, n] : wc) {
    std::vector<std::string> sym;
    std::size_t i = 0;
    char32_t cp;
    while (i < w.size()) {
      const std::size_t start = i;
      electra::text::detail::vt::decode_utf8(w, i, cp);
      sym.push_back((start ? "##" : "") + w.substr(start, i - start));
      vocab.insert(sym.back());
    }
    words.emplace_back(sym, n);
    for (const auto& x : sym) vocab.insert(x.starts_with("##") ? x.substr(2) : x);  // every bare character
  }
  std::vector<std::string> merged;
  const std::size_t initial = 5 + vocab.size();
  while (initial + merged.size() < vocab_size) {
    // Key a + '\x01' + b: tokens have no control bytes, so comparing keys compares (a, b).
    std::unordered_map<std::string, std::uint64_t> count;
    for (const auto& [sym, n] : words)
      for (std::size_t k = 0; k + 1 < sym.size(); ++k) count[sym[k] + '\x01' + sym[k + 1]] += n;
    const std::string* best = nullptr;
    std::uint64_t best_n = 0;
    for (const auto& [p, n] : count)
      if (n > best_n || (n == best_n && best && p < *best)) best = &p, best_n = n;
    if (!best || best_n < std::max<std::uint64_t>(min_frequency, 1)) break;
    const std::string a = best->substr(0, best->find('\x01')), b = best->substr(best->find('\x01') + 1);
    const std::string c = a + (b.starts_with("##") ? b.substr(2) : b);
    if (vocab.insert(c).second) merged.push_back(c);
    for (auto& [sym, n] : words) {
      std::vector<std::string> out;
      for (std::size_t k = 0; k < sym.size();) {
        if (k + 1 < sym.size() && sym[k] == a && sym[k + 1] == b) {
          out.push_back(c);
          k += 2;
        } else {
          out.push_back(sym[k++]);
        }
      }
      sym = std::move(out);
    }
  }
  return merged;
}

TEST_CASE("vocab trainer: the incremental pair counts agree with a full recount per merge") {
  // Includes repeated symbols ("aaaa", "abab") where merges overlap or chain.
  WordCounts wc = synthetic_corpus(11);
  wc["aaaa"] += 7;
  wc["aaaaa"] += 3;
  wc["abababab"] += 5;
  wc["日日日日"] += 4;
  for (std::uint64_t min_frequency : {1, 3}) {
    const auto t = train_wordpiece_vocab(wc, options(600, min_frequency));
    const auto naive = naive_merges(wc, 600, min_frequency);
    CHECK(t.size() == 600);
    CHECK(merged_part(t, 600 - naive.size()) == naive);
  }
}

TEST_CASE("vocab trainer: deterministic across runs, insertion orders and the streaming API") {
  const auto wc = synthetic_corpus();
  const auto a = train_wordpiece_vocab(wc, options(500));
  CHECK(a == train_wordpiece_vocab(wc, options(500)));
  // The same counts inserted in reverse order into a map with a different bucket count.
  std::vector<std::pair<std::string, std::uint64_t>> items(wc.begin(), wc.end());
  std::sort(items.begin(), items.end());
  WordCounts reversed(7);
  for (auto it = items.rbegin(); it != items.rend(); ++it) reversed.insert(*it);
  CHECK(a == train_wordpiece_vocab(reversed, options(500)));
  // Streaming: the same multiset of words fed as batches.
  WordPieceTrainer trainer(options(500));
  for (const auto& [w, n] : items) trainer.add_words(std::vector<std::string>(n, w));
  CHECK(trainer.word_counts() == wc);
  CHECK(a == trainer.train());
}

TEST_CASE("vocab trainer: UTF-8 multi-byte characters are single characters") {
  const WordCounts wc = {{"café", 4}, {"cafés", 2}, {"日本", 3}, {"日本語", 2}, {"naïve", 2}};
  const auto t = train_wordpiece_vocab(wc, options(1000, 1));
  const std::unordered_set<std::string> vocab(t.begin(), t.end());
  for (const char* s : {"é", "##é", "日", "##本", "##語", "##ï", "café", "日本", "日本語", "naïve"})
    CHECK_MESSAGE(vocab.count(s), s);
  for (const auto& tok : t) {  // no token splits a character
    std::size_t i = 0;
    char32_t cp;
    while (i < tok.size()) REQUIRE_MESSAGE(electra::text::detail::vt::decode_utf8(tok, i, cp), tok);
  }
  // The alphabet in code point order (é U+00E9 < ï U+00EF < 日 < 本 < 語), bare forms for
  // every character, "##" forms for those seen after a word's first character.
  const std::vector<std::string> alphabet(t.begin() + 5, t.begin() + 5 + 12 + 9);
  CHECK(alphabet == std::vector<std::string>{"a",  "c",   "e",   "f",   "n",   "s",   "v",   "é",   "ï",    "日",  "本",
                                             "語", "##a", "##e", "##f", "##s", "##v", "##é", "##ï", "##本", "##語"});
}

TEST_CASE("vocab trainer: min_frequency stops merges of rarer pairs") {
  // (a,##b) occurs 3 times, (x,##y) twice, (p,##q) once.
  const WordCounts wc = {{"ab", 3}, {"xy", 2}, {"pq", 1}};
  const std::size_t initial = 5 + 6 + 3;
  CHECK(merged_part(train_wordpiece_vocab(wc, options(100, 1)), initial) == std::vector<std::string>{"ab", "xy", "pq"});
  CHECK(merged_part(train_wordpiece_vocab(wc, options(100, 2)), initial) == std::vector<std::string>{"ab", "xy"});
  CHECK(merged_part(train_wordpiece_vocab(wc, options(100, 3)), initial) == std::vector<std::string>{"ab"});
  CHECK(merged_part(train_wordpiece_vocab(wc, options(100, 4)), initial).empty());
  CHECK(merged_part(train_wordpiece_vocab(wc, options(100, 0)), initial).size() == 3);  // 0 acts as 1
}

TEST_CASE("vocab trainer: limit_alphabet keeps the most frequent characters") {
  // Frequencies: a 10+2, b 10, c 2, z 1.
  const WordCounts wc = {{"ab", 10}, {"ac", 2}, {"z", 1}};
  auto o = options(100, 1);
  o.limit_alphabet = 3;
  const auto t = train_wordpiece_vocab(wc, o);
  const std::vector<std::string> head(t.begin(), t.begin() + 10);
  CHECK(head == std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "##b", "##c"});
  CHECK(std::find(t.begin(), t.end(), "z") == t.end());
  CHECK(merged_part(t, 10) == std::vector<std::string>{"ab", "ac"});
  o.limit_alphabet = 2;  // drops c (ties would go to the smaller code point); "ac" takes no part
  const auto t2 = train_wordpiece_vocab(wc, o);
  CHECK(t2 == std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##b", "ab"});
}

TEST_CASE("vocab trainer: invalid input is rejected with the word in the message") {
  using electra::value_error;
  auto train = [](const WordCounts& wc) { return train_wordpiece_vocab(wc, options(100)); };
  test::check_throws_with<value_error>([&] { train({{"ok", 1}, {"bad\xff", 1}}); }, {"bad\\xff", "UTF-8"});
  test::check_throws_with<value_error>([&] { train({{"\xc0\xaf", 1}}); }, {"\\xc0\\xaf", "UTF-8"});  // overlong '/'
  test::check_throws_with<value_error>([&] { train({{"\xe6\x97", 1}}); }, {"UTF-8"});                // truncated
  test::check_throws_with<value_error>([&] { train({{"\xed\xa0\x80", 1}}); }, {"UTF-8"});            // surrogate
  test::check_throws_with<value_error>([&] { train({{"two words", 1}}); }, {"two words", "whitespace"});
  test::check_throws_with<value_error>([&] { train({{"line\nbreak", 1}}); }, {"line\\x0abreak"});
  test::check_throws_with<value_error>([&] { train_wordpiece_vocab(toy_corpus(), options(20)); },
                                       {"vocab_size 20", "limit_alphabet"});
  auto o = options(100);
  o.special_tokens = {"[PAD]", "[PAD]"};
  test::check_throws_with<value_error>([&] { train_wordpiece_vocab(toy_corpus(), o); }, {"[PAD]", "twice"});
  // Empty words are ignored.
  CHECK(train_wordpiece_vocab({{"", 5}, {"ab", 2}}, options(100)) ==
        std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##b", "ab"});
}

TEST_CASE("vocab trainer: progress reports merges done out of the target") {
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  const auto t = train_wordpiece_vocab(synthetic_corpus(), options(300),
                                       [&](std::size_t done, std::size_t target) { calls.emplace_back(done, target); });
  REQUIRE(calls.size() >= 2);
  CHECK(calls.front().first == 0);
  CHECK(calls.back().first == calls.back().second);
  for (std::size_t i = 1; i < calls.size(); ++i) {
    CHECK(calls[i].first >= calls[i - 1].first);
    CHECK(calls[i].second == calls[0].second);
  }
  CHECK(t.size() == 300);
}

TEST_CASE("vocab trainer: write_vocab round trip through Vocab::load") {
  TempDir dir;
  const auto t = train_wordpiece_vocab(synthetic_corpus(), options(400));
  const fs::path path = dir.path / "vocab.txt";
  electra::text::write_vocab(path, t);
  const auto v = electra::text::Vocab::load(path);
  REQUIRE(v.size() == t.size());
  for (std::size_t i = 0; i < t.size(); ++i) CHECK(v.token(std::int32_t(i)) == t[i]);
  CHECK(v.id("[PAD]") == 0);
  CHECK(v.id("[UNK]") == 1);
  CHECK(v.id("[MASK]") == 4);
  // Rewriting replaces the file whole; invalid token lists never reach the disk.
  electra::text::write_vocab(path, {"[PAD]", "a"});
  CHECK(electra::text::Vocab::load(path).size() == 2);
  test::check_throws_with<electra::value_error>(
      [&] {
        electra::text::write_vocab(path, {"a", "b", "a"});
      },
      {"duplicate", "'a'"});
  test::check_throws_with<electra::value_error>([&] { electra::text::write_vocab(path, {"a", ""}); }, {"empty"});
  test::check_throws_with<electra::value_error>([&] { electra::text::write_vocab(path, {"a\nb"}); }, {"line break"});
  CHECK(electra::text::Vocab::load(path).size() == 2);
}
