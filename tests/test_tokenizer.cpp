// The BERT uncased tokenizer against HuggingFace's Rust tokenizer (fixtures made by
// tests/fixtures/tokenizer/make_reference.js), plus its error handling and edge rules.
#include <chrono>
#include <electra/io/json.hpp>
#include <electra/text/tokenizer.hpp>
#include <electra/text/wordpiece.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "helpers.hpp"

using namespace electra;
namespace fs = std::filesystem;

namespace {
const std::string kDir = std::string(ELECTRA_TEST_FIXTURES) + "/tokenizer";
const std::string kVocab = std::string(ELECTRA_SOURCE_DIR) + "/data/vocab/bert-uncased-vocab.txt";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot open " << path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const text::Tokenizer& bert() {
  static const text::Tokenizer t = text::Tokenizer::from_file(kVocab);
  return t;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}
}  // namespace

TEST_CASE("tokenizer: tricky inputs match HuggingFace's Rust tokenizer id for id") {
  const json::Value table = json::parse(read_file(kDir + "/tricky.json"), "tricky.json");
  // Characters assigned after Unicode 8.0 (the Rust crate's tables) that utf8proc's Unicode
  // 15 classifies differently: electra's expected pieces (docs/tokenizer.md, "Deviations").
  const std::map<std::string, std::vector<std::string>> deviations = {
      {"u9_punctuation", {"a", "[UNK]", "b"}}, {"u14_format", {"ab"}}, {"u14_nonspacing_mark", {"cafe"}}};
  int matched = 0, deviated = 0;
  for (const json::Value& e : table.as_array()) {
    const std::string& name = e.at("name").as_string();
    const std::string& input = e.at("input").as_string();
    std::vector<std::int32_t> want;
    for (const auto& id : e.at("ids").as_array()) want.push_back(std::int32_t(id.as_int()));
    const auto got = bert().encode(input);
    if (e.find("deviation")) {
      REQUIRE_MESSAGE(deviations.count(name), "no expectation for deviation " << name);
      CHECK_MESSAGE(bert().tokenize(input) == deviations.at(name), name << ": " << join(bert().tokenize(input)));
      CHECK_MESSAGE(got != want, name << ": now equals HF; update docs/tokenizer.md");
      ++deviated;
      continue;
    }
    std::vector<std::string> want_tokens;
    for (const auto& t : e.at("tokens").as_array()) want_tokens.push_back(t.as_string());
    CHECK_MESSAGE(got == want, name << ": got '" << join(bert().tokenize(input)) << "', want '" << join(want_tokens) << "'");
    CHECK(bert().tokenize(input) == want_tokens);
    CHECK(text::tokenize_to_ids(input, bert().vocab()) == got);
    matched += got == want;
  }
  CHECK(matched >= 50);
  CHECK(deviated == int(deviations.size()));
  MESSAGE("tricky inputs: " << matched << " match HF exactly, " << deviated << " documented deviations");
}

TEST_CASE("tokenizer: WikiText-2 validation matches HuggingFace's Rust tokenizer on every line") {
  const auto lines = split_lines(read_file(kDir + "/wiki.valid.raw"));
  const auto refs = split_lines(read_file(kDir + "/wiki.valid.ids"));
  REQUIRE(lines.size() == 3760);
  REQUIRE(refs.size() == lines.size());
  std::size_t tokens = 0, bytes = 0, mismatched = 0;
  std::vector<std::int32_t> got;
  double seconds = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::int32_t> want;
    std::istringstream in(refs[i]);
    for (std::int32_t id; in >> id;) want.push_back(id);
    got.clear();
    const auto t0 = std::chrono::steady_clock::now();
    bert().encode_into(lines[i], got);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (got != want && ++mismatched <= 5) {
      std::vector<std::string> w;
      for (auto id : want) w.push_back(bert().vocab().token(id));
      CHECK_MESSAGE(got == want, "line " << i + 1 << ": got '" << join(bert().tokenize(lines[i])) << "', want '"
                                         << join(w) << "'");
    }
    tokens += want.size();
    bytes += lines[i].size();
  }
  CHECK(mismatched == 0);
  CHECK(tokens == 238656);
  MESSAGE("WikiText-2 valid: " << lines.size() - mismatched << "/" << lines.size() << " lines, " << tokens
                               << " tokens equal to HF; " << bytes / 1e6 / seconds << " MB/s");
}

TEST_CASE("tokenizer: every Unicode code point is treated as HuggingFace's Rust tokenizer treats it") {
  // codepoints.txt fingerprints HF's ids for c + " A" + c + "b " + c + c, per block of 256
  // code points (FNV-1a over uint32 words: c, its ids, 0xFFFFFFFF), leaving out surrogates
  // and the code points of unicode_deviations.txt (Unicode-version differences).
  std::vector<bool> skip(0x110000, false);
  std::size_t n_skip = 0;
  for (const std::string& line : split_lines(read_file(kDir + "/unicode_deviations.txt"))) {
    if (line.empty() || line[0] == '#') continue;
    const std::string range = line.substr(0, line.find('\t'));
    const auto dash = range.find('-');
    const unsigned long a = std::stoul(range.substr(0, dash), nullptr, 16);
    const unsigned long b = dash == std::string::npos ? a : std::stoul(range.substr(dash + 1), nullptr, 16);
    for (unsigned long c = a; c <= b; ++c) n_skip += !skip[c], skip[c] = true;
  }
  CHECK(n_skip == 568);
  const auto fnv = [](std::uint32_t h, std::uint32_t w) {
    for (int k = 0; k < 4; ++k) h = (h ^ ((w >> (8 * k)) & 0xFF)) * 16777619u;
    return h;
  };
  std::size_t blocks = 0, bad_blocks = 0, checked = 0;
  std::string input;
  std::vector<std::int32_t> ids;
  for (const std::string& line : split_lines(read_file(kDir + "/codepoints.txt"))) {
    if (line.empty() || line[0] == '#') continue;
    const char32_t block = char32_t(std::stoul(line.substr(0, 6), nullptr, 16));
    const std::uint32_t want = std::uint32_t(std::stoul(line.substr(7), nullptr, 16));
    std::uint32_t h = 2166136261u;
    for (char32_t c = block; c < block + 256; ++c) {
      if ((c >= 0xD800 && c <= 0xDFFF) || skip[c]) continue;
      std::string s;
      text::unicode::append_utf8(s, c);
      input = s + " A" + s + "b " + s + s;
      ids.clear();
      bert().encode_into(input, ids);
      h = fnv(h, std::uint32_t(c));
      for (std::int32_t id : ids) h = fnv(h, std::uint32_t(id));
      h = fnv(h, 0xFFFFFFFFu);
      ++checked;
    }
    ++blocks;
    if (h != want && ++bad_blocks <= 10) CHECK_MESSAGE(h == want, "code points U+" << std::hex << unsigned(block) << "..+255 differ");
  }
  CHECK(blocks == 0x110000 / 256);
  CHECK(bad_blocks == 0);
  CHECK(checked == 1111496);
  MESSAGE("code points: " << checked << " equal to HF in " << blocks - bad_blocks << "/" << blocks << " blocks; " << n_skip
                          << " known deviations skipped");
}

TEST_CASE("tokenizer: basic tokenization lower-cases, strips accents and splits punctuation and CJK") {
  using V = std::vector<std::string>;
  CHECK(text::basic_tokenize("Héllo, WÖRLD!") == V{"hello", ",", "world", "!"});
  CHECK(text::Tokenizer::basic_tokenize("  a\t\tb\n") == V{"a", "b"});
  CHECK(text::basic_tokenize("x我y") == V{"x", "我", "y"});
  CHECK(text::basic_tokenize("İstanbul") == V{"istanbul"});      // NFD, drop U+0307, lower-case
  CHECK(text::basic_tokenize("ΣΟΦΟΣ") == V{"σοφοσ"});            // no final sigma, as HF's Rust
  CHECK(text::basic_tokenize("a\x0b" "b\x7f" "c") == V{"abc"});  // VT and DEL are Cc: dropped, no split
  CHECK(text::basic_tokenize("a\xE2\x80\xA8" "b") == V{"a", "b"});  // U+2028 (Zl) splits
  CHECK(text::basic_tokenize("").empty());
}

TEST_CASE("tokenizer: WordPiece is greedy longest-match-first, an unsegmentable word is one [UNK]") {
  const text::Tokenizer t(text::Vocab::from_tokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "una", "##ff", "##ffa", "##ble", "ba", "##na", "##"}));
  using V = std::vector<std::string>;
  CHECK(t.tokenize("unaffable") == V{"una", "##ffa", "##ble"});
  CHECK(t.tokenize("banana") == V{"ba", "##na", "##na"});
  CHECK(t.tokenize("nanana bananax") == V{"[UNK]", "[UNK]"});  // no partial pieces survive
  CHECK(t.encode("banana") == std::vector<std::int32_t>{10, 11, 11});
  CHECK(t.unk_id() == 1);
  CHECK(t.mask_id() == 4);
}

TEST_CASE("tokenizer: the 100-character limit counts code points, not bytes") {
  const auto& t = bert();
  const std::int32_t unk = t.unk_id();
  auto repeat = [](std::string_view s, int n) {
    std::string r;
    for (int i = 0; i < n; ++i) r += s;
    return r;
  };
  const auto a100 = t.encode(repeat("a", 100));
  CHECK(a100.size() == 50);  // "aa" + 49 x "##aa"
  CHECK(std::find(a100.begin(), a100.end(), unk) == a100.end());
  CHECK(t.encode(repeat("a", 101)) == std::vector<std::int32_t>{unk});
  // "é" is 2 bytes: 100 of them are 200 bytes but 100 characters (after stripping: "e").
  const auto e100 = t.encode(repeat("\xC3\xA9", 100));
  CHECK(e100 == t.encode(repeat("e", 100)));
  CHECK(std::find(e100.begin(), e100.end(), unk) == e100.end());
  CHECK(t.encode(repeat("\xC3\xA9", 101)) == std::vector<std::int32_t>{unk});
  // The limit applies to words after splitting: 99 + CJK + 99 is three words.
  CHECK(t.encode(repeat("a", 99) + "\xE4\xB8\x8D" + repeat("a", 99)).size() > 3);
  std::vector<std::int32_t> out;
  t.wordpiece(repeat("a", 100), 101, out);  // the caller's character count decides
  CHECK(out == std::vector<std::int32_t>{unk});
}

TEST_CASE("tokenizer: invalid UTF-8 bytes are dropped like U+FFFD, check_utf8 reports the offset") {
  const auto& t = bert();
  CHECK(t.encode("ab\xFF" "cd") == t.encode("abcd"));           // stray byte: no word break
  CHECK(t.encode("caf\xC3 ok") == t.encode("caf ok"));          // truncated sequence
  CHECK(t.encode("a\xC0\xAF" "b") == t.encode("ab"));           // overlong '/', not a slash
  CHECK(t.encode("a\xED\xA0\x80" "b") == t.encode("ab"));       // UTF-16 surrogate
  CHECK(t.encode("a\xF4\x90\x80\x80" "b") == t.encode("ab"));   // above U+10FFFF
  CHECK(t.encode("x\xE2\x82") == t.encode("x"));                // truncated at the end
  CHECK(t.encode("\xE2\x82" "A!") == t.encode("a!"));           // the byte after a bad prefix survives
  CHECK(t.encode("rep\xEF\xBF\xBDlaced") == t.encode("replaced"));  // a real U+FFFD: dropped too

  using text::unicode::first_invalid_utf8;
  CHECK(first_invalid_utf8("plain \xC3\xA9 \xF0\x9F\x98\x80") == std::string_view::npos);
  CHECK(first_invalid_utf8("\xEF\xBF\xBD") == std::string_view::npos);
  CHECK(first_invalid_utf8("abc\x80") == 3);
  CHECK(first_invalid_utf8("ab\xE2\x82") == 2);
  CHECK(first_invalid_utf8(std::string_view("a\0\xC1\x81", 4)) == 2);
  test::check_throws_with<io_error>([] { text::unicode::check_utf8("ok \xC3\xA9 bad\xFF", "corpus.txt"); },
                                    {"corpus.txt", "invalid UTF-8 at byte 9", "0xff"});

  // The decoder and a simple reference agree on random byte soup: a valid sequence is
  // consumed whole, anything else costs one byte.
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    for (int k = 0; k < 12; ++k) s.push_back(char(rng() % 4 ? 0x80 + rng() % 0x80 : rng() % 0x100));
    std::size_t i = 0, steps = 0;
    while (i < s.size()) {
      const std::size_t at = i;
      const char32_t c = text::unicode::decode_utf8(s, i);
      REQUIRE(i > at);
      if (c != text::unicode::kReplacement) {
        std::string re;
        text::unicode::append_utf8(re, c);
        REQUIRE(re == s.substr(at, i - at));  // round-trips: shortest form, so not overlong
        REQUIRE(!(c >= 0xD800 && c <= 0xDFFF));
        REQUIRE(c <= 0x10FFFF);
      } else {
        REQUIRE(i - at <= 3);
      }
      ++steps;
    }
    CHECK(steps <= s.size());
  }
}

TEST_CASE("tokenizer: a vocab without BERT's special tokens is rejected, naming file and token") {
  test::check_throws_with<value_error>(
      [] { text::Tokenizer(text::Vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"}, "tiny-vocab")); },
      {"tiny-vocab", "'[MASK]'"});
  const fs::path path = fs::temp_directory_path() / ("electra-vocab-" + std::to_string(std::random_device{}()) + ".txt");
  {
    std::ofstream out(path);
    out << "[PAD]\n[UNK]\n[SEP]\n[MASK]\nhello\n";
  }
  test::check_throws_with<value_error>([&] { text::Tokenizer::from_file(path); }, {path.string().c_str(), "'[CLS]'"});
  fs::remove(path);
  test::check_throws_with<io_error>([] { text::Tokenizer::from_file("/nonexistent/vocab.txt"); },
                                    {"/nonexistent/vocab.txt"});
  const auto& t = bert();
  CHECK(t.vocab().size() == 30522);
  CHECK(t.pad_id() == 0);
  CHECK(t.unk_id() == 100);
  CHECK(t.cls_id() == 101);
  CHECK(t.sep_id() == 102);
  CHECK(t.mask_id() == 103);
}

TEST_CASE("tokenizer: tokenize_to_ids equals Tokenizer::encode, copies share tables") {
  const std::string text = read_file(kDir + "/wiki.valid.raw").substr(0, 20000);
  const auto ids = bert().encode(text);
  CHECK(text::tokenize_to_ids(text, bert().vocab()) == ids);
  const text::Tokenizer copy = bert();
  CHECK(copy.encode(text) == ids);
  CHECK(ids.size() > 3000);
}
