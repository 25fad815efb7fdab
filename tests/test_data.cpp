// The pretraining data pipeline: the official example layout rules, binary shards and their
// validation, prepare_shards' determinism, and the shuffled resumable reader.
#include <electra/data/example_builder.hpp>
#include <electra/data/prepare.hpp>
#include <electra/data/reader.hpp>
#include <electra/data/shard.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace electra;
using namespace electra::data;
namespace fs = std::filesystem;

namespace {

constexpr SpecialIds kSpecial{1, 2};

using test::TempDir;

std::vector<std::int32_t> iota_ids(int from, int n) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[std::size_t(i)] = from + i;
  return v;
}

// A seed whose first uniform() is (or is not) below 0.1, picking the one-segment branch,
// and whose second is (or is not) below 0.5, the first A-or-B coin.
std::uint64_t seed_with_draws(bool one_segment, bool coin_to_a = false) {
  for (std::uint64_t s = 0;; ++s) {
    Rng r(s);
    const double u1 = r.uniform(), u2 = r.uniform();
    if ((u1 < 0.1) == one_segment && (u2 < 0.5) == coin_to_a) return s;
  }
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
void spit(const fs::path& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

// Fake tokenizer: each whitespace-separated word is a number, its id.
std::vector<std::int32_t> number_tokenize(std::string_view line) {
  std::vector<std::int32_t> ids;
  std::istringstream in{std::string(line)};
  for (int v; in >> v;) ids.push_back(v);
  return ids;
}

}  // namespace

TEST_CASE("example builder: [CLS] A [SEP] B [SEP] layout, segment ids and padding") {
  Rng rng(3);
  ExampleBuilder b(kSpecial, 64, rng);
  std::vector<PretrainExample> all;
  for (int i = 0; i < 400; ++i)
    if (auto ex = b.add_sentence(iota_ids(10 + i % 50, 10))) all.push_back(std::move(*ex));
  REQUIRE(all.size() > 40);
  for (const auto& ex : all) {
    REQUIRE(ex.ids.size() <= 64);
    CHECK(ex.ids.front() == 1);
    CHECK(ex.ids[std::size_t(ex.segment_a_len) - 1] == 2);
    CHECK(ex.ids.back() == 2);
    const auto seps = std::count(ex.ids.begin(), ex.ids.end(), 2);
    CHECK(seps == (ex.ids.size() > std::size_t(ex.segment_a_len) ? 2 : 1));
  }
  const model::Batch batch = make_batch(all, 64);
  REQUIRE(batch.input_ids.shape() == Shape{index_t(all.size()), 64});
  for (std::size_t i = 0; i < all.size(); ++i)
    for (index_t t = 0; t < 64; ++t) {
      const bool real = std::size_t(t) < all[i].ids.size();
      CHECK(batch.input_ids.at(index_t(i), t) == (real ? all[i].ids[std::size_t(t)] : 0));
      CHECK(batch.input_mask.at(index_t(i), t) == int(real));
      CHECK(batch.token_types.at(index_t(i), t) == int(real && t >= all[i].segment_a_len));
    }
}

TEST_CASE("example builder: one-segment ~10%, short targets ~5%, the A/B coin ~50%") {
  // 4-token sentences, max_length 64: a full target holds 16 sentences. Two-segment
  // examples put 7 sentences (28 tokens < (64-3)//2 = 30) in A, then flip the coin for the
  // 8th (A = 32), so B is never empty: single-segment examples come only from the 0.1 draw.
  // Short targets t in [5, 64] also hold >= 2 sentences and a non-empty B.
  Rng rng(11);
  ExampleBuilder b(kSpecial, 64, rng);
  const int n = 20000;
  int one = 0, short_target = 0, bad_layout = 0, coin_a32 = 0, full_two = 0, min_t = 64, max_t = 0;
  for (int made = 0; made < n;) {
    auto ex = b.add_sentence(iota_ids(100, 4));
    if (!ex) continue;
    ++made;
    const int t = ex->target_length;
    const int accumulated = int(ex->ids.size()) - (ex->ids.size() > std::size_t(ex->segment_a_len) ? 3 : 2) + ex->dropped;
    REQUIRE(accumulated >= t);  // emitted as soon as the target is reached
    REQUIRE(accumulated < t + 4);
    const bool single = ex->ids.size() == std::size_t(ex->segment_a_len);
    one += single;
    if (t != 64) {
      ++short_target;
      min_t = std::min(min_t, t), max_t = std::max(max_t, t);
    } else if (!single) {
      ++full_two;
      bad_layout += ex->segment_a_len != 30 && ex->segment_a_len != 34;  // A = 28 or 32, plus [CLS] [SEP]
      coin_a32 += ex->segment_a_len == 34;
      bad_layout += ex->ids.size() != 64;  // B truncated to 64 − |A| − 3
    }
  }
  // Binomial standard deviations at n = 20000: 0.0021 (p = 0.1), 0.0015 (p = 0.05 · 59/60),
  // 0.0038 (p = 0.5, ~17000 trials); the tolerances are > 4 sigma.
  CHECK(bad_layout == 0);
  CHECK(std::abs(double(one) / n - 0.1) < 0.01);
  CHECK(std::abs(double(short_target) / n - 0.05 * 59 / 60) < 0.007);
  CHECK(std::abs(double(coin_a32) / full_two - 0.5) < 0.02);
  CHECK(min_t >= 5);
  CHECK(min_t < 15);  // randint(5, 64) spans the range
  CHECK(max_t > 54);
}

TEST_CASE("example builder: truncation and document boundaries pinned by hand") {
  SUBCASE("one long sentence: A keeps max_length − 2 tokens, no B") {
    Rng rng(0);  // outcome is the same on either branch of the one-segment draw
    ExampleBuilder b(kSpecial, 10, rng);
    const auto ex = b.add_sentence(iota_ids(11, 20));
    REQUIRE(ex);
    CHECK(ex->ids == std::vector<std::int32_t>{1, 11, 12, 13, 14, 15, 16, 17, 18, 2});
    CHECK(ex->segment_a_len == 10);
    CHECK(ex->dropped == 12);
  }
  SUBCASE("two segments: B cut to max_length − |A| − 3") {
    Rng rng(seed_with_draws(false));
    ExampleBuilder b(kSpecial, 10, rng);
    // first target (10 − 3) // 2 = 3: [11 12 13] fills A exactly, so [14..20] goes to B (no coin).
    CHECK_FALSE(b.add_sentence(iota_ids(11, 3)));
    const auto ex = b.add_sentence(iota_ids(14, 7));
    REQUIRE(ex);
    CHECK(ex->ids == std::vector<std::int32_t>{1, 11, 12, 13, 2, 14, 15, 16, 17, 2});
    CHECK(ex->segment_a_len == 5);
    CHECK(ex->dropped == 3);
  }
  SUBCASE("|A| + |s| == first target is not < it: the coin decides") {
    for (const bool coin : {false, true}) {
      Rng rng(seed_with_draws(false, coin));
      ExampleBuilder b(kSpecial, 10, rng);  // first target 3
      CHECK_FALSE(b.add_sentence(iota_ids(11, 1)));
      CHECK_FALSE(b.add_sentence(iota_ids(12, 2)));
      const auto ex = b.add_sentence(iota_ids(14, 7));
      REQUIRE(ex);
      // coin < 0.5: [12 13] joins A (|A| = 3), [14..] goes to B cut to 10 − 3 − 3 = 4.
      // Otherwise [12 13] starts B and [14..] follows it there (B is no longer empty).
      CHECK(ex->segment_a_len == (coin ? 5 : 3));
      CHECK(ex->ids == (coin ? std::vector<std::int32_t>{1, 11, 12, 13, 2, 14, 15, 16, 17, 2}
                             : std::vector<std::int32_t>{1, 11, 2, 12, 13, 14, 15, 16, 17, 2}));
    }
  }
  SUBCASE("one-segment draw: everything in A, cut to max_length − 2") {
    Rng rng(seed_with_draws(true));
    ExampleBuilder b(kSpecial, 10, rng);
    CHECK_FALSE(b.add_sentence(iota_ids(11, 3)));
    const auto ex = b.add_sentence(iota_ids(14, 7));
    REQUIRE(ex);
    CHECK(ex->ids == std::vector<std::int32_t>{1, 11, 12, 13, 14, 15, 16, 17, 18, 2});
    CHECK(ex->segment_a_len == 10);
    CHECK(ex->dropped == 2);
  }
  SUBCASE("a document end emits what has accumulated, and only that") {
    Rng rng(seed_with_draws(false));
    ExampleBuilder b(kSpecial, 10, rng);
    CHECK_FALSE(b.end_document());  // nothing pending: no example, as add_line("") officially
    CHECK_FALSE(b.add_sentence(iota_ids(11, 3)));
    CHECK_FALSE(b.add_sentence(iota_ids(14, 4)));
    const auto ex = b.end_document();  // 3 + 4 + 3 specials = 10: fits exactly
    REQUIRE(ex);
    CHECK(ex->ids == std::vector<std::int32_t>{1, 11, 12, 13, 2, 14, 15, 16, 17, 2});
    CHECK(ex->dropped == 0);
    CHECK_FALSE(b.end_document());
    CHECK_FALSE(b.add_sentence(iota_ids(30, 2)));  // the next document starts afresh
    const auto next = b.end_document();
    REQUIRE(next);
    CHECK(next->ids == std::vector<std::int32_t>{1, 30, 31, 2});
  }
  SUBCASE("an empty sentence changes nothing and draws nothing") {
    Rng rng(5);
    ExampleBuilder b(kSpecial, 10, rng);
    const auto before = rng.counter();
    CHECK_FALSE(b.add_sentence({}));
    CHECK_FALSE(b.end_document());
    CHECK(rng.counter() == before);
  }
  Rng rng(0);
  test::check_throws_with<value_error>([&] { ExampleBuilder(kSpecial, 4, rng); }, {"max_length", "4"});
}

TEST_CASE("shard: round trip with u16 and u32 ids, vocab hash is FNV-1a of vocab.txt") {
  TempDir dir;
  for (const std::size_t vocab : {std::size_t(30522), std::size_t(70000)}) {
    const fs::path p = dir / ("s" + std::to_string(vocab) + ".bin");
    ShardWriter w(p, 32, vocab, 0xABCDEF);
    std::vector<std::vector<std::int32_t>> ids;
    Rng rng(vocab);
    for (int i = 0; i < 300; ++i) {
      std::vector<std::int32_t> v(2 + rng.below(31));
      for (auto& x : v) x = std::int32_t(rng.below(vocab));
      w.add(v, std::int32_t(2 + rng.below(v.size() - 1)));
      ids.push_back(v);
    }
    w.finish();
    CHECK(fs::file_size(p) == w.file_bytes());
    const ShardReader r(p);
    REQUIRE(r.size() == 300);
    CHECK(r.max_seq_len() == 32);
    CHECK(r.vocab_hash() == 0xABCDEF);
    CHECK(r.vocab_size() == vocab);
    for (std::size_t i = 0; i < 300; ++i) CHECK(r.example(i).ids() == ids[i]);
    test::check_throws_with<value_error>([&] { w.add(std::vector<std::int32_t>{1, std::int32_t(vocab)}, 2); },
                                         {"outside the vocabulary"});
  }
  spit(dir / "vocab.txt", "[PAD]\n[CLS]\nhello\n##lo\n");
  CHECK(vocab_hash(text::Vocab::load(dir / "vocab.txt")) == fnv1a("[PAD]\n[CLS]\nhello\n##lo\n", 23));
}

TEST_CASE("shard: every corruption is an io_error naming the file and the problem") {
  TempDir dir;
  const fs::path good = dir / "good.bin";
  ShardWriter w(good, 16, 1000, 42);
  for (int i = 0; i < 20; ++i) w.add(iota_ids(3 + i, 2 + i % 10), 2);
  w.finish();
  const std::string bytes = slurp(good);
  const auto corrupt = [&](const std::string& name, std::string b, bool fix_checksum = false) {
    if (fix_checksum) {
      const std::uint64_t h = fnv1a(b.data(), b.size() - 8);
      std::memcpy(b.data() + b.size() - 8, &h, 8);
    }
    spit(dir / name, b);
    return (dir / name);
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("flip.bin", flipped)); },
                                    {"flip.bin", "checksum mismatch"});
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("cut.bin", bytes.substr(0, bytes.size() - 5))); },
                                    {"cut.bin", "checksum mismatch"});
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("tiny.bin", bytes.substr(0, 30))); },
                                    {"tiny.bin", "truncated"});
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("empty.bin", "")); }, {"empty.bin", "truncated"});
  std::string magic = bytes;
  magic[0] = 'X';
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("magic.bin", magic)); }, {"magic.bin", "bad magic"});
  std::string version = bytes;
  version[12] = 9;
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("version.bin", version, true)); },
                                    {"version.bin", "unsupported format version 9"});
  std::string offsets = bytes;  // offsets[5] pushed past the token count, checksum made valid
  const std::uint64_t huge = 1u << 20;
  std::memcpy(offsets.data() + 56 + 8 * 5, &huge, 8);
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("offsets.bin", offsets, true)); },
                                    {"offsets.bin", "offset 5 out of range"});
  std::string count = bytes;  // a header that claims more examples than the file holds
  count[40] += 1;
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("count.bin", count, true)); },
                                    {"count.bin", "header describes"});
  std::string token = bytes;  // an id beyond the vocabulary
  token[56 + 8 * 21] = char(0xFF), token[56 + 8 * 21 + 1] = char(0xFF);
  test::check_throws_with<io_error>([&] { ShardReader(corrupt("token.bin", token, true)); },
                                    {"token.bin", "token id 65535 outside the vocabulary of 1000"});
  test::check_throws_with<io_error>([&] { ShardReader(dir / "absent.bin"); }, {"absent.bin", "cannot open"});
  const ShardReader r(good);
  test::check_throws_with<io_error>([&] { r.expect(43, 16); },
                                    {"good.bin", "different vocabulary", "0x000000000000002a", "0x000000000000002b"});
  test::check_throws_with<io_error>([&] { r.expect(42, 128); }, {"good.bin", "max_seq_len 16, not 128"});
}

namespace {
// Three files of numbered sentences; blank lines split documents.
void write_corpus(const fs::path& dir) {
  fs::create_directories(dir / "sub");
  Rng rng(99);
  int word = 3;
  for (const std::string name : {"b.txt", "sub/c.txt", "a.txt"}) {
    std::ofstream f(dir / name);
    for (int line = 0; line < 700; ++line) {
      if (rng.below(8) == 0) {
        f << (rng.below(2) ? "\n" : "  \t\r\n");  // blank, possibly with whitespace
        continue;
      }
      const int n = 1 + int(rng.below(20));
      f << "  ";
      for (int w = 0; w < n; ++w) f << (word++ % 900 + 3) << ' ';
      f << '\n';
    }
  }
}
}  // namespace

TEST_CASE("prepare: deterministic for any thread count, matches the builder, reports and errors") {
  TempDir dir;
  write_corpus(dir / "corpus");
  PrepareOptions o;
  o.max_seq_len = 32, o.seed = 7, o.examples_per_shard = 100, o.chunk_lines = 97;
  std::uint64_t last_done = 0, calls = 0;
  o.progress = [&](std::uint64_t done, std::uint64_t total) {
    CHECK(done >= last_done);
    CHECK(done <= total);
    last_done = done, ++calls;
  };
  o.threads = 1;
  const PrepareSummary one = prepare_shards({dir / "corpus"}, number_tokenize, kSpecial, 1000, 5, dir / "t1", o);
  CHECK(last_done == one.input_bytes);
  o.threads = 3, last_done = 0;
  const PrepareSummary three = prepare_shards({dir / "corpus"}, number_tokenize, kSpecial, 1000, 5, dir / "t3", o);
  CHECK(last_done == one.input_bytes);
  CHECK(calls > 10);
  REQUIRE(one.shards > 3);
  CHECK(three.shards == one.shards);
  CHECK(three.examples == one.examples);
  for (std::size_t s = 0; s < one.shards; ++s)
    CHECK(slurp(dir / "t1" / shard_file_name(s)) == slurp(dir / "t3" / shard_file_name(s)));

  // The reference: the same lines through one ExampleBuilder, files in sorted order.
  Rng rng(7);
  ExampleBuilder b(kSpecial, 32, rng);
  std::vector<PretrainExample> want;
  std::uint64_t documents = 0, sentences = 0;
  for (const std::string name : {"a.txt", "b.txt", "sub/c.txt"}) {
    std::ifstream f(dir / "corpus" / name);
    bool in_doc = false;
    for (std::string line; std::getline(f, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        documents += in_doc, in_doc = false;
        if (auto ex = b.end_document()) want.push_back(*ex);
      } else {
        ++sentences, in_doc = true;
        if (auto ex = b.add_sentence(number_tokenize(line))) want.push_back(*ex);
      }
    }
    documents += in_doc;
    if (auto ex = b.end_document()) want.push_back(*ex);
  }
  CHECK(one.files == 3);
  CHECK(one.documents == documents);
  CHECK(one.sentences == sentences);
  REQUIRE(one.examples == want.size());
  std::uint64_t tokens = 0, truncated = 0;
  for (const auto& ex : want) tokens += ex.ids.size(), truncated += ex.dropped > 0;
  CHECK(one.tokens == tokens);
  CHECK(one.truncated_examples == truncated);
  CHECK(one.truncated_fraction() > 0);
  PretrainReader r(dir / "t1", 5, 32);
  REQUIRE(r.total_examples() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(r.example(i).ids() == want[i].ids);
    CHECK(r.example(i).segment_a_len == want[i].segment_a_len);
  }

  // A rerun with bigger shards replaces the directory's shards and leaves no stale ones.
  o.examples_per_shard = 1000000, last_done = 0;
  const PrepareSummary big = prepare_shards({dir / "corpus"}, number_tokenize, kSpecial, 1000, 5, dir / "t1", o);
  CHECK(big.shards == 1);
  CHECK_FALSE(fs::exists(dir / "t1" / shard_file_name(1)));
  CHECK(PretrainReader(dir / "t1", 5, 32).total_examples() == want.size());

  test::check_throws_with<io_error>(
      [&] { prepare_shards({dir / "nope", dir / "corpus", dir / "gone.txt"}, number_tokenize, kSpecial, 1000, 5, dir / "x", o); },
      {"input not found", "nope", "gone.txt"});
  const auto bad_tokenizer = [](std::string_view) -> std::vector<std::int32_t> { throw value_error("tokenizer broke"); };
  o.threads = 4;
  test::check_throws_with<value_error>(
      [&] { prepare_shards({dir / "corpus"}, bad_tokenizer, kSpecial, 1000, 5, dir / "x", o); }, {"tokenizer broke"});
}

namespace {
// Shards whose example g is [CLS, g + 3, SEP]: a batch row names its example.
void write_numbered_shards(const fs::path& dir, const std::vector<int>& sizes) {
  fs::create_directories(dir);
  int g = 0;
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    ShardWriter w(dir / shard_file_name(s), 8, 100000, 77);
    for (int i = 0; i < sizes[s]; ++i, ++g) w.add(std::vector<std::int32_t>{1, g + 3, 2}, 3);
    w.finish();
  }
}
std::vector<int> rows(const model::Batch& b) {
  std::vector<int> v;
  for (index_t i = 0; i < b.input_ids.shape()[0]; ++i) v.push_back(b.input_ids.at(i, 1) - 3);
  return v;
}
}  // namespace

TEST_CASE("reader: seeded epoch permutations, exact resume, rank splits, held-out examples") {
  TempDir dir;
  write_numbered_shards(dir / "d", {37, 0, 50, 13});  // 100 examples, one empty shard
  PretrainReader r(dir / "d", 77, 8, {.seed = 1});
  REQUIRE(r.total_examples() == 100);
  REQUIRE(r.epoch_size() == 100);

  std::vector<int> seen;  // 3 epochs in batches of 7, crossing epoch boundaries mid-batch
  for (int i = 0; i < 300 / 7 + 1; ++i) {
    const model::Batch b = r.next_batch(7);
    CHECK(b.input_mask.at(0, 2) == 1);
    CHECK(b.input_mask.at(0, 3) == 0);
    for (int x : rows(b)) seen.push_back(x);
  }
  std::vector<std::vector<int>> epochs;
  for (int e = 0; e < 3; ++e) {
    epochs.emplace_back(seen.begin() + 100 * e, seen.begin() + 100 * (e + 1));
    std::vector<int> sorted = epochs.back();
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 100; ++i) REQUIRE(sorted[std::size_t(i)] == i);  // a permutation
  }
  CHECK(epochs[0] != epochs[1]);
  CHECK(epochs[1] != epochs[2]);
  CHECK(r.cursor() == Cursor{3, 1});

  PretrainReader same(dir / "d", 77, 8, {.seed = 1}), other(dir / "d", 77, 8, {.seed = 2});
  CHECK(same.epoch_order(1) == r.epoch_order(1));
  CHECK(other.epoch_order(0) != r.epoch_order(0));

  // Resume: a fresh reader seeked to a saved cursor continues with the same batches.
  PretrainReader a(dir / "d", 77, 8, {.seed = 1});
  for (int i = 0; i < 13; ++i) a.next_batch(7);
  const Cursor saved = a.cursor();
  std::vector<std::vector<int>> expect;
  for (int i = 0; i < 5; ++i) expect.push_back(rows(a.next_batch(7)));
  PretrainReader resumed(dir / "d", 77, 8, {.seed = 1});
  resumed.seek(saved);
  for (int i = 0; i < 5; ++i) CHECK(rows(resumed.next_batch(7)) == expect[std::size_t(i)]);
  test::check_throws_with<value_error>([&] { resumed.seek({0, 101}); }, {"cursor position 101"});

  // Ranks: disjoint within an epoch; together they cover all but train % world examples.
  for (const int world : {4, 3}) {
    std::set<std::uint64_t> all;
    std::size_t total = 0;
    for (int rank = 0; rank < world; ++rank) {
      PretrainReader rr(dir / "d", 77, 8, {.seed = 1, .rank = rank, .world = world, .eval_examples = 10});
      const auto order = rr.epoch_order(2);
      CHECK(order.size() == 90 / std::size_t(world));
      total += order.size();
      all.insert(order.begin(), order.end());
      for (auto g : order) CHECK(g < 90);  // never a held-out example
    }
    CHECK(all.size() == total);
    CHECK(total == 90 - 90 % std::size_t(world));
  }

  // Held out: the last 10 in order, batches of 4, 4, 2.
  PretrainReader ev(dir / "d", 77, 8, {.seed = 1, .eval_examples = 10});
  const auto eval = ev.eval_batches(4);
  REQUIRE(eval.size() == 3);
  CHECK(rows(eval[0]) == std::vector<int>{90, 91, 92, 93});
  CHECK(rows(eval[2]) == std::vector<int>{98, 99});

  test::check_throws_with<io_error>([&] { PretrainReader(dir / "d", 78, 8); }, {"shard-00000.bin", "different vocabulary"});
  test::check_throws_with<io_error>([&] { PretrainReader(dir / "d", 77, 16); }, {"max_seq_len 8, not 16"});
  fs::remove(dir / "d" / shard_file_name(1));
  test::check_throws_with<io_error>([&] { PretrainReader(dir / "d", 77, 8); }, {"shard-00001.bin is missing"});
  test::check_throws_with<io_error>([&] { PretrainReader(dir / "empty-dir-absent", 77, 8); }, {"not found"});
  test::check_throws_with<value_error>([&] { PretrainReader(dir / "d", 77, 8, {.rank = 2, .world = 2}); },
                                       {"rank 2"});
}
