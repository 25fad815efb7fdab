// SQuAD: the reader's quirks and errors, sliding windows, span decoding and the official
// EM/F1 evaluation, on the hand-written files in tests/fixtures/squad (README there).
// Expected numbers were worked out by hand; normalization and final_text cases were also
// checked against the official Python code.
#include <cmath>
#include <electra/finetune/squad_data.hpp>
#include <electra/finetune/squad_decode.hpp>
#include <electra/finetune/squad_eval.hpp>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace electra;
using namespace electra::finetune;

namespace {

const std::string kDir = std::string(ELECTRA_TEST_FIXTURES) + "/squad";
const std::string kVocab = std::string(ELECTRA_SOURCE_DIR) + "/data/vocab/bert-uncased-vocab.txt";

const text::Tokenizer& bert() {
  static const text::Tokenizer t = text::Tokenizer::from_file(kVocab);
  return t;
}

const SquadExample& by_id(const std::vector<SquadExample>& examples, const std::string& id) {
  for (const auto& e : examples)
    if (e.id == id) return e;
  FAIL("no example " << id);
  return examples.front();
}

// Position of the first occurrence of a word piece in a feature (evaluation features carry pieces).
std::size_t pos(const SquadFeature& f, const std::string& piece) {
  for (std::size_t t = 0; t < f.tokens.size(); ++t)
    if (f.tokens[t] == piece) return t;
  FAIL("no piece " << piece);
  return 0;
}

// A question over the words "1" … "40" (one WordPiece each), answered by words [first, last].
SquadExample numbers_example(int first, int last) {
  SquadExample ex;
  ex.id = "numbers-" + std::to_string(first);
  ex.question = "how many";
  for (int i = 1; i <= 40; ++i) ex.doc_words.push_back(std::to_string(i));
  for (const auto& w : ex.doc_words) ex.context += (ex.context.empty() ? "" : " ") + w;
  std::string answer;
  for (int w = first; w <= last; ++w) answer += (answer.empty() ? "" : " ") + ex.doc_words[std::size_t(w)];
  ex.answers = {{answer, 0}};
  ex.start_word = first, ex.end_word = last;
  return ex;
}

// max_seq_len 15 = [CLS] how many [SEP] + 10 doc pieces + [SEP]; windows start every 4 pieces.
const SquadOptions kSmallWindows{.max_seq_len = 15, .doc_stride = 4, .max_query_len = 8};

struct Logits {
  std::vector<std::vector<float>> start, end;
  explicit Logits(const std::vector<SquadFeature>& features, float fill = -100.f) {
    for (const auto& f : features) start.emplace_back(f.ids.size(), fill), end.emplace_back(f.ids.size(), fill);
  }
};

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

// ---- reader -------------------------------------------------------------------------------

TEST_CASE("squad reader: answer_start counts code points, not UTF-8 bytes") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json");
  const SquadExample& owner = by_id(examples, "u-owner");
  // "Zürich’s café “Odéon” opened in 1911 (1911–1925). Its owner, Émile Ruch, …": 'É' is
  // code point 61 but byte 72.
  CHECK(owner.answers.size() == 2);
  CHECK(owner.answers[0].char_start == 61);
  CHECK(owner.doc_words.size() == 13);
  CHECK(owner.start_word == 9);
  CHECK(owner.end_word == 10);
  CHECK(owner.doc_words[9] == "Émile");
  CHECK(owner.doc_words[10] == "Ruch,");
  CHECK(owner.question == "Who owned the café?");
  const SquadExample& opened = by_id(examples, "u-opened");
  CHECK(opened.start_word == 6);  // "(1911–1925)." holds the answer "1911"
  CHECK(opened.end_word == 6);
}

TEST_CASE("squad reader: contexts split on space, tab, CR, LF and U+202F only (not U+00A0 or U+3000)") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json");
  const SquadExample& stairs = by_id(examples, "u-stairs");
  const std::vector<std::string> want = {"Room", "101\u00A0B",      "is",  "near", "the", "lift,",
                                         "the",  "stairs\u3000and", "the", "exit."};
  CHECK(stairs.doc_words == want);
  // The answer "the  stairs" (two spaces) is found once whitespace-joined, in words 6..7.
  CHECK(stairs.start_word == 6);
  CHECK(stairs.end_word == 7);
}

TEST_CASE("squad reader: an answer not found at its offset is skipped for training, kept for evaluation") {
  SquadReadStats train_stats, eval_stats;
  const auto train = read_squad(kDir + "/v1.1-unicode.json", {.training = true}, &train_stats);
  const auto eval = read_squad(kDir + "/v1.1-unicode.json", {}, &eval_stats);
  // u-byte-offset gives a byte offset past the 85-code-point context; u-wrong-text says
  // "tea" where the offset points at "coffee."
  CHECK(train_stats.questions == 5);
  CHECK(train_stats.unrecoverable == 2);
  CHECK(train.size() == 3);
  CHECK(train_stats.first_problem.find("question 'u-byte-offset'") != std::string::npos);
  CHECK(train_stats.first_problem.find("past the end of the context (85 characters)") != std::string::npos);
  CHECK(eval.size() == 5);
  CHECK(eval_stats.unrecoverable == 2);
  CHECK(by_id(eval, "u-wrong-text").start_word == -1);
  CHECK(by_id(eval, "u-wrong-text").answers[0].text == "tea");
  for (const auto& e : train) CHECK(e.id != "u-wrong-text");
}

TEST_CASE("squad reader: v2.0 impossible questions have no answers and no answer words") {
  SquadReadStats stats;
  const auto examples = read_squad(kDir + "/v2.0-impossible.json", {.training = true}, &stats);
  REQUIRE(examples.size() == 3);
  CHECK(stats.impossible == 2);
  CHECK(stats.unrecoverable == 0);
  CHECK_FALSE(examples[0].is_impossible);
  CHECK(examples[0].doc_words[examples[0].start_word] == "10th");
  CHECK(examples[0].doc_words[examples[0].end_word] == "centuries.");
  CHECK(examples[1].is_impossible);
  CHECK(examples[1].answers.empty());  // plausible_answers are not answers
  CHECK(examples[1].start_word == -1);
  CHECK(examples[1].end_word == -1);
}

TEST_CASE("squad reader: malformed files are errors naming the file and the question") {
  test::check_throws_with<io_error>([] { read_squad(kDir + "/malformed-truncated.json"); },
                                    {"malformed-truncated.json", "invalid JSON at byte 168"});
  test::check_throws_with<io_error>([] { read_squad(kDir + "/malformed-answer-start.json"); },
                                    {"malformed-answer-start.json", "question 'q-string-offset'",
                                     "'answer_start' must be a JSON integer, got a JSON string"});
  test::check_throws_with<io_error>([] { read_squad(kDir + "/malformed-duplicate-id.json"); },
                                    {"malformed-duplicate-id.json", "question 'q1' appears twice"});
  test::check_throws_with<io_error>([] { read_squad(kDir + "/no-such-file.json"); },
                                    {"cannot open SQuAD file", "no-such-file.json"});

  const auto read = [](const std::string& qa, SquadReadOptions o = {}) {
    read_squad_text(R"({"data": [{"paragraphs": [{"context": "A cat sat.", "qas": [)" + qa + "]}]}]}", "inline.json",
                    o);
  };
  test::check_throws_with<io_error>([] { read_squad_text(R"({"version": "1.1"})", "inline.json"); },
                                    {"inline.json", "missing 'data'"});
  test::check_throws_with<io_error>([&] { read(R"({"question": "Who?", "answers": []})"); },
                                    {"inline.json: data[0].paragraphs[0].qas[0]", "missing 'id'"});
  test::check_throws_with<io_error>(
      [&] { read(R"({"id": "q1", "question": "Who?", "answers": [], "is_impossible": "yes"})"); },
      {"inline.json: question 'q1'", "'is_impossible' must be a JSON boolean"});
  test::check_throws_with<io_error>(
      [&] { read(R"({"id": "q1", "question": "Who?", "answers": [{"text": "cat", "answer_start": -2}]})"); },
      {"question 'q1': answer 0", "'answer_start' is negative (-2)"});
  test::check_throws_with<io_error>(
      [&] { read(R"({"id": "q1", "question": "Who?", "answers": [{"answer_start": 2}]})"); },
      {"question 'q1': answer 0", "missing 'text'"});
  // The answer text is looked for case-insensitively in its words (ELECTRA; BERT is exact).
  SquadReadStats st;
  const auto cased = read_squad_text(
      R"({"data": [{"paragraphs": [{"context": "A Cat sat.", "qas": [{"id": "q1", "question": "Who?", "answers": [{"text": "CAT", "answer_start": 2}]}]}]}]})",
      "inline.json", {.training = true}, &st);
  CHECK(st.unrecoverable == 0);
  REQUIRE(cased.size() == 1);
  CHECK(cased[0].start_word == 1);
  // Evaluation accepts an answerable question without answers (scored like a v2 no-answer);
  // training cannot learn from it.
  CHECK_NOTHROW(read(R"({"id": "q1", "question": "Who?", "answers": []})"));
  test::check_throws_with<io_error>(
      [&] { read(R"({"id": "q1", "question": "Who?", "answers": []})", {.training = true}); },
      {"question 'q1'", "no answers"});
}

// ---- features ------------------------------------------------------------------------------

TEST_CASE("squad features: [CLS] question [SEP] context [SEP], segments 0 then 1, context words mapped") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json");
  const auto features = featurize_squad(examples, bert(), {}, false);
  REQUIRE(features.size() == examples.size());  // short contexts: one window each
  const SquadFeature& f = features[0];          // u-owner
  const std::vector<std::string> head = {"[CLS]", "who", "owned", "the", "cafe", "?", "[SEP]", "zurich", "’", "s"};
  CHECK(std::vector<std::string>(f.tokens.begin(), f.tokens.begin() + 10) == head);
  CHECK(f.tokens.back() == "[SEP]");
  CHECK(f.ids.size() == 7 + 27 + 1);  // 5 question pieces, 27 context pieces
  for (std::size_t t = 0; t < f.ids.size(); ++t) {
    CHECK(f.ids[t] == bert().vocab().id(f.tokens[t]));
    CHECK(f.segments[t] == (t < 7 ? 0 : 1));
    CHECK(f.token_is_max_context[t] == (t >= 7 && t + 1 < f.ids.size()));
    if (t < 7 || t + 1 == f.ids.size()) CHECK(f.token_to_word[t] == -1);
  }
  CHECK(f.token_to_word[pos(f, "emile")] == 9);
  CHECK(f.token_to_word[pos(f, "##ch")] == 10);  // "Ruch," -> ru ##ch ,
  CHECK(f.token_to_word[pos(f, "##ch") + 1] == 10);
  CHECK(f.start_position == 0);  // evaluation features carry no targets
}

TEST_CASE("squad features: training targets the pieces that spell the answer (improved span)") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json", {.training = true});
  const auto features = featurize_squad(examples, bert(), {}, true);
  REQUIRE(features.size() == 3);      // u-owner, u-opened, u-stairs
  CHECK(features[0].tokens.empty());  // training features carry no pieces
  // u-owner: the words "Émile Ruch," -> pieces emile ru ##ch, without the comma.
  const SquadFeature& owner = features[0];
  CHECK(owner.ids[std::size_t(owner.start_position)] == bert().vocab().id("emile"));
  CHECK(owner.end_position == owner.start_position + 2);
  CHECK(owner.ids[std::size_t(owner.end_position)] == bert().vocab().id("##ch"));
  // u-opened: the word "(1911–1925)." narrows to its first "1911" piece.
  const SquadFeature& opened = features[1];
  CHECK(opened.start_position == opened.end_position);
  CHECK(opened.ids[std::size_t(opened.start_position)] == bert().vocab().id("1911"));
  CHECK(opened.token_to_word[std::size_t(opened.start_position)] == 6);
  // u-stairs: the words "the stairs\u3000and" narrow to "the stairs".
  const SquadFeature& stairs = features[2];
  CHECK(stairs.end_position == stairs.start_position + 1);
  CHECK(stairs.ids[std::size_t(stairs.end_position)] == bert().vocab().id("stairs"));
}

TEST_CASE("squad features: windows slide by doc_stride and overlap, each piece is max-context in one window") {
  const std::vector<SquadExample> examples = {numbers_example(20, 21)};
  for (const auto& w : examples[0].doc_words) REQUIRE(bert().encode(w).size() == 1);
  const auto features = featurize_squad(examples, bert(), kSmallWindows, false);
  // 10 doc pieces per window, starts 0, 4, …, 28, then 32 with the last 8 pieces.
  REQUIRE(features.size() == 9);
  for (std::size_t s = 0; s < features.size(); ++s) {
    const SquadFeature& f = features[s];
    CHECK(f.span_index == int(s));
    CHECK(f.ids.size() == (s < 8 ? 15u : 13u));
    CHECK(f.token_to_word[4] == int(4 * s));  // doc pieces start after [CLS] how many [SEP]
  }
  // Max context = min(left, right) + 0.01·length: word 6 (left 6, right 3 in window 0;
  // 2 and 7 in window 1) belongs to window 0, word 7 (2 vs 3) to window 1, word 35 to the
  // shorter last window (3.08 vs 2.1).
  const auto is_max = [&](std::size_t window, int word) {
    const SquadFeature& f = features[window];
    return bool(f.token_is_max_context[std::size_t(word - f.token_to_word[4] + 4)]);
  };
  CHECK(is_max(0, 6));
  CHECK_FALSE(is_max(1, 6));
  CHECK_FALSE(is_max(0, 7));
  CHECK(is_max(1, 7));
  CHECK(is_max(8, 35));
  CHECK_FALSE(is_max(7, 35));
  CHECK(is_max(7, 34));
  // Equal scores go to the earlier window: with stride 5, word 7 has min(7, 2) in window 0
  // and min(2, 7) in window 1.
  const auto stride5 =
      featurize_squad(examples, bert(), {.max_seq_len = 15, .doc_stride = 5, .max_query_len = 8}, false);
  REQUIRE(stride5.size() == 7);
  CHECK(stride5[0].token_is_max_context[4 + 7]);
  CHECK_FALSE(stride5[1].token_is_max_context[4 + 2]);
  std::vector<int> owners(40, 0);
  for (const auto& f : features)
    for (std::size_t t = 0; t < f.ids.size(); ++t)
      if (f.token_is_max_context[t]) ++owners[std::size_t(f.token_to_word[t])];
  for (int w = 0; w < 40; ++w) CHECK_MESSAGE(owners[std::size_t(w)] == 1, "word " << w);
}

TEST_CASE("squad features: training answers inside a window get its positions, elsewhere [CLS] = 0") {
  const std::vector<SquadExample> examples = {numbers_example(20, 21), numbers_example(9, 10)};
  const auto features = featurize_squad(examples, bert(), kSmallWindows, true);
  REQUIRE(features.size() == 18);
  std::vector<std::pair<int, int>> first, second;
  for (const auto& f : features) (f.example_index == 0 ? first : second).emplace_back(f.start_position, f.end_position);
  // Words 20..21 lie wholly in the windows starting at 12 (its last two pieces), 16 and 20.
  const std::vector<std::pair<int, int>> want_first = {{0, 0}, {0, 0}, {0, 0}, {12, 13}, {8, 9},
                                                       {4, 5}, {0, 0}, {0, 0}, {0, 0}};
  CHECK(first == want_first);
  // Words 9..10 straddle the edge of window 0 (pieces 0..9): only windows 1 and 2 hold both.
  const std::vector<std::pair<int, int>> want_second = {{0, 0}, {9, 10}, {5, 6}, {0, 0}, {0, 0},
                                                        {0, 0}, {0, 0},  {0, 0}, {0, 0}};
  CHECK(second == want_second);
}

TEST_CASE("squad features: impossible questions target [CLS], long questions are cut to max_query_len") {
  const auto examples = read_squad(kDir + "/v2.0-impossible.json", {.training = true});
  const auto features =
      featurize_squad(examples, bert(), {.max_seq_len = 384, .doc_stride = 128, .max_query_len = 4}, true);
  REQUIRE(features.size() == 3);
  CHECK(features[0].start_position == 4 + 2 + 16);  // "10th" is context piece 16
  CHECK(features[0].end_position == 4 + 2 + 19);    // "centuries"
  CHECK(features[1].start_position == 0);
  CHECK(features[1].end_position == 0);
  // "When did the Normans name Normandy?" keeps its first 4 pieces: when did the norman.
  CHECK(features[0].ids[5] == bert().sep_id());
  CHECK(features[0].ids[4] == bert().vocab().id("norman"));
}

TEST_CASE("squad features: invalid options and unlocated answers are errors") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json");
  test::check_throws_with<value_error>(
      [&] { featurize_squad(examples, bert(), {.max_seq_len = 67, .doc_stride = 128, .max_query_len = 64}, false); },
      {"max_seq_len (67) must be greater than max_query_len (64) + 3"});
  test::check_throws_with<value_error>(
      [&] { featurize_squad(examples, bert(), {.max_seq_len = 384, .doc_stride = 0, .max_query_len = 64}, false); },
      {"doc_stride must be positive"});
  // Read for evaluation, u-byte-offset keeps its unrecoverable answer: nothing to train on.
  test::check_throws_with<value_error>([&] { featurize_squad(examples, bert(), {}, true); },
                                       {"'u-byte-offset' has no located answer", "training = true"});
}

// ---- decoding -------------------------------------------------------------------------------

TEST_CASE("squad final_text: the predicted words cut out of the original text, or all of it") {
  CHECK(final_text("steve smith", "Steve Smith's") == "Steve Smith");
  CHECK(final_text("cafe", "“Café”,") == "Café");  // accents and case come back
  CHECK(final_text("1895", "(1895-1943).") == "1895");
  CHECK(final_text("emile ruch", "Émile Ruch,") == "Émile Ruch");
  // Not found: the whole original text.
  CHECK(final_text("smith jones", "Steve Smith's") == "Steve Smith's");
  // A decomposed accent (e + U+0301) shortens the tokenized text: no alignment, whole text.
  CHECK(final_text("ecole", "l'e\u0301cole") == "l'e\u0301cole");
  CHECK(final_text("ecole", "l'\u00E9cole") == "\u00E9cole");
  CHECK(final_text("", "Steve") == "Steve");
}

TEST_CASE("squad decode: the best in-context span by start + end logit, mapped back to the text") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json");
  const std::vector<SquadExample> owner = {by_id(examples, "u-owner")};
  const auto features = featurize_squad(owner, bert(), {}, false);
  const SquadFeature& f = features[0];
  Logits l(features);
  // Higher scores that are invalid: [CLS] and the question, ends before the start, ends on
  // the final [SEP].
  l.start[0][0] = 50, l.end[0][0] = 50;
  l.start[0][1] = 40, l.end[0].back() = 40;
  l.start[0][pos(f, "coffee")] = 30, l.end[0][pos(f, "owner")] = 30;
  l.start[0][pos(f, "emile")] = 2, l.end[0][pos(f, "##ch")] = 2;
  const auto preds = decode_squad(owner, features, l.start, l.end, {});
  REQUIRE(preds.size() == 1);
  CHECK(preds[0].id == "u-owner");
  CHECK(preds[0].text == "Émile Ruch");  // not "emile ruch", not "Émile Ruch,"
  CHECK(preds[0].nbest.front().first == "Émile Ruch");
}

TEST_CASE("squad decode: answers longer than max_answer_len pieces are never chosen") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json");
  const std::vector<SquadExample> owner = {by_id(examples, "u-owner")};
  const auto features = featurize_squad(owner, bert(), {}, false);
  Logits l(features, 0.f);
  l.start[0][pos(features[0], "zurich")] = 10;  // zurich … ##ch: 23 pieces, score 20
  l.start[0][pos(features[0], "emile")] = 1;    // emile … ##ch: 3 pieces, score 11
  l.end[0][pos(features[0], "##ch")] = 10;
  CHECK(decode_squad(owner, features, l.start, l.end, {}).front().text ==
        "Zürich’s café “Odéon” opened in 1911 (1911–1925). Its owner, Émile Ruch");
  CHECK(decode_squad(owner, features, l.start, l.end, {.max_answer_len = 3}).front().text == "Émile Ruch");
}

TEST_CASE("squad decode: a start outside its max-context window is not a candidate") {
  const std::vector<SquadExample> examples = {numbers_example(0, 0)};
  const auto features = featurize_squad(examples, bert(), kSmallWindows, false);
  Logits l(features);
  l.start[0][4 + 7] = 10, l.end[0][4 + 7] = 10;  // word "8" in window 0, which is not its max context
  l.start[1][4 + 4] = 1, l.end[1][4 + 4] = 1;    // word "9" in window 1, its max context
  CHECK(decode_squad(examples, features, l.start, l.end, {}).front().text == "9");
}

TEST_CASE("squad decode: n-best keeps distinct texts, with softmax probabilities over them") {
  const auto examples = read_squad(kDir + "/v1.1-unicode.json");
  const std::vector<SquadExample> owner = {by_id(examples, "u-owner")};
  const auto features = featurize_squad(owner, bert(), {}, false);
  Logits l(features);
  l.start[0][pos(features[0], "emile")] = 2, l.start[0][pos(features[0], "ru")] = 1;
  l.end[0][pos(features[0], "##ch")] = 2;
  const auto p = decode_squad(owner, features, l.start, l.end, {.n_best = 2}).front();
  REQUIRE(p.nbest.size() == 2);
  CHECK(p.nbest[0].first == "Émile Ruch");
  CHECK(p.nbest[1].first == "Ruch");
  CHECK(p.nbest[0].second == doctest::Approx(1 / (1 + std::exp(-1.0))).epsilon(1e-12));  // scores 4 and 3
  CHECK(p.nbest[1].second == doctest::Approx(1 / (1 + std::exp(1.0))).epsilon(1e-12));

  // Three spans inside "Ode\u0301on" (decomposed é) all fall back to the whole word: one entry.
  // (With n_best 3 the other starts and ends considered are [CLS], never valid.)
  const auto odeon = read_squad_text(
      R"({"data": [{"paragraphs": [{"context": "Café Ode\u0301on", "qas": [{"id": "o", "question": "Which?", "answers": []}]}]}]})",
      "inline.json");
  const auto of = featurize_squad(odeon, bert(), {}, false);
  Logits lo(of);
  lo.start[0][pos(of[0], "ode")] = 3, lo.start[0][pos(of[0], "##on")] = 2;
  lo.end[0][pos(of[0], "ode")] = 2, lo.end[0][pos(of[0], "##on")] = 3;
  const auto po = decode_squad(odeon, of, lo.start, lo.end, {.n_best = 3}).front();
  CHECK(po.text == "Ode\u0301on");
  REQUIRE(po.nbest.size() == 1);
  CHECK(po.nbest[0].second == 1.0);
}

TEST_CASE("squad decode v2: \"\" when null score − best non-null score exceeds the threshold") {
  const auto examples = read_squad(kDir + "/v2.0-impossible.json");
  const std::vector<SquadExample> who = {examples[1]};
  const auto features = featurize_squad(who, bert(), {}, false);
  Logits l(features);
  l.start[0][0] = 3, l.end[0][0] = 3;                                                 // null score 6
  l.start[0][pos(features[0], "norman")] = 2, l.end[0][pos(features[0], "##s")] = 2;  // "Normans", 4
  const auto at = [&](double threshold) {
    return decode_squad(who, features, l.start, l.end, {.v2 = true, .null_threshold = threshold}).front();
  };
  CHECK(at(0).null_score_diff == 2.0);
  CHECK(at(0).text == "");
  CHECK(at(2.0).text == "Normans");  // strictly greater predicts ""
  CHECK(at(1.9).text == "");
  const auto nbest = at(0).nbest;
  CHECK(nbest.front().first == "");  // the null answer ranks first, with its probability
  CHECK(nbest.front().second > 0.5);
  // v1 decoding ignores the null score.
  CHECK(decode_squad(who, features, l.start, l.end, {}).front().text == "Normans");
}

TEST_CASE("squad decode v2: the null score is the smallest [CLS] score over the windows") {
  const std::vector<SquadExample> examples = {numbers_example(0, 0)};
  const auto features = featurize_squad(examples, bert(), kSmallWindows, false);
  Logits l(features);
  for (std::size_t i = 0; i < features.size(); ++i) l.start[i][0] = 5, l.end[i][0] = 5;
  l.start[1][0] = 1, l.end[1][0] = 1;          // window 1: null score 2, the minimum
  l.start[1][4 + 4] = 1, l.end[1][4 + 4] = 1;  // "9", score 2
  const auto p = decode_squad(examples, features, l.start, l.end, {.v2 = true}).front();
  CHECK(p.null_score_diff == 0.0);
  CHECK(p.text == "9");
}

TEST_CASE("squad decode: without any valid span the prediction is the official nonce \"empty\"") {
  const auto examples = read_squad(kDir + "/v2.0-impossible.json");
  const std::vector<SquadExample> when = {examples[0]};
  const auto features = featurize_squad(when, bert(), {}, false);
  Logits l(features, 0.f);
  l.start[0][0] = 10;  // with n_best 1 the only start considered is [CLS]
  const auto v1 = decode_squad(when, features, l.start, l.end, {.n_best = 1}).front();
  CHECK(v1.text == "empty");
  CHECK(v1.nbest.size() == 1);
  const auto v2 = decode_squad(when, features, l.start, l.end, {.n_best = 1, .v2 = true}).front();
  CHECK(v2.text == "");
  CHECK(v2.null_score_diff == 10.0);  // null 10 + 0 against the nonce's 0 + 0
  REQUIRE(v2.nbest.size() == 2);
  CHECK(v2.nbest[0].first == "empty");
  CHECK(v2.nbest[1].first == "");
}

TEST_CASE("squad decode: mismatched logits and training features are errors") {
  const auto examples = read_squad(kDir + "/v2.0-impossible.json");
  const auto features = featurize_squad(examples, bert(), {}, false);
  Logits l(features);
  auto fewer = l.start;
  fewer.pop_back();
  test::check_throws_with<value_error>([&] { decode_squad(examples, features, fewer, l.end, {}); },
                                       {"3 features but 2 start and 3 end logit vectors"});
  auto short_end = l.end;
  short_end[1].pop_back();
  test::check_throws_with<value_error>([&] { decode_squad(examples, features, l.start, short_end, {}); },
                                       {"feature 1 has", "end logits"});
  auto nan = l.start;
  nan[2][3] = std::nanf("");
  test::check_throws_with<value_error>([&] { decode_squad(examples, features, nan, l.end, {}); },
                                       {"start logit 3 of feature 2 is nan"});
  const auto train = featurize_squad(read_squad(kDir + "/v2.0-impossible.json", {.training = true}), bert(), {}, true);
  test::check_throws_with<value_error>([&] { decode_squad(examples, train, l.start, l.end, {}); },
                                       {"lacks its word pieces", "training = false"});
}

TEST_CASE("squad predictions.json and null_odds.json: one object keyed by question id") {
  test::TempDir dir;
  const std::vector<SquadPrediction> preds = {{"q1", "Émile Ruch", -1.5, {}}, {"q2", "", 2.25, {}}};
  write_squad_predictions(dir / "predictions.json", preds);
  write_squad_null_odds(dir / "null_odds.json", preds);
  const json::Value p = json::parse(read_text(dir / "predictions.json"), "predictions.json");
  REQUIRE(p.as_object().size() == 2);
  CHECK(p.as_object()[0].first == "q1");
  CHECK(p.at("q1").as_string() == "Émile Ruch");
  CHECK(p.at("q2").as_string() == "");
  const json::Value n = json::parse(read_text(dir / "null_odds.json"), "null_odds.json");
  CHECK(n.at("q1").as_double() == -1.5);
  CHECK(n.at("q2").as_double() == 2.25);
  test::check_throws_with<value_error>(
      [&] {
        write_squad_predictions(dir / "dup.json", {{"q1", "a", 0, {}}, {"q1", "b", 0, {}}});
      },
      {"dup.json", "question id 'q1' appears twice"});
  CHECK(dir.listing() == std::vector<std::string>{"null_odds.json", "predictions.json"});
}

// ---- evaluation ----------------------------------------------------------------------------

TEST_CASE("squad normalize_answer: lower-case, drop ASCII punctuation and a/an/the, collapse whitespace") {
  CHECK(normalize_answer("The  Cat!") == "cat");
  CHECK(normalize_answer("an apple a day") == "apple day");
  CHECK(normalize_answer("Theater, anthem") == "theater anthem");  // articles only as whole words
  CHECK(normalize_answer("the 1950s, an era") == "1950s era");
  CHECK(normalize_answer("A-ha: the_a") == "aha thea");  // '-' ':' '_' go first, then no article is left
  CHECK(normalize_answer("“the” end") == "“ ” end");     // non-ASCII punctuation stays
  CHECK(normalize_answer("\tNew\u00A0York\u2028City ") == "new york city");  // Python's str.split() whitespace
  CHECK(normalize_answer("the\u200Bcat") == "\u200Bcat");                    // U+200B is neither space nor word
  CHECK(normalize_answer("café the") == "café");
  // Python's str.lower beyond ASCII: İ -> i + U+0307, a final capital sigma -> ς.
  CHECK(normalize_answer("İzmir") == "i\u0307zmir");
  CHECK(normalize_answer("ΟΔΟΣ ΣΑΣ") == "οδος σας");
  CHECK(normalize_answer(" . ") == "");
}

TEST_CASE("squad exact_match and token_f1 by hand") {
  CHECK(exact_match("The Eiffel Tower!", "eiffel tower") == 1.0);
  CHECK(exact_match("Eiffel Towers", "eiffel tower") == 0.0);
  // "big red car" vs "red car": 2 common words, P = 2/3, R = 1, F1 = 0.8.
  CHECK(token_f1("the big red car", "red car") == doctest::Approx(0.8).epsilon(1e-15));
  // Multiset overlap: "x y y" vs "y y y" share two y's: P = R = 2/3.
  CHECK(token_f1("x y y", "y y y") == doctest::Approx(2.0 / 3).epsilon(1e-15));
  CHECK(token_f1("red car", "blue bus") == 0.0);
  // v2 rule: no words on either side is a full match, on one side none.
  CHECK(token_f1("", "") == 1.0);
  CHECK(token_f1("the", "") == 1.0);
  CHECK(token_f1("", "red car") == 0.0);
  CHECK(token_f1("red car", "") == 0.0);
}

TEST_CASE("squad evaluate: maximum over gold answers, HasAns / NoAns breakdowns, missing counts as \"\"") {
  const auto gold = read_squad(kDir + "/v2.0-impossible.json");
  // n-when: the period and "the" normalize away, EM with the second gold answer;
  // n-who-gave: a wrong answer to an impossible question; n-region: no prediction = "".
  std::map<std::string, std::string> preds = {{"n-when", "in the 10th and 11th centuries."},
                                              {"n-who-gave", "The Normans"}};
  SquadScores s = evaluate_squad(gold, preds);
  CHECK(s.total == 3);
  CHECK(s.has_ans_total == 1);
  CHECK(s.no_ans_total == 2);
  CHECK(s.missing == 1);
  CHECK(s.exact == doctest::Approx(200.0 / 3));
  CHECK(s.f1 == doctest::Approx(200.0 / 3));
  CHECK(s.has_ans_exact == 100.0);
  CHECK(s.no_ans_exact == 50.0);
  CHECK(s.no_ans_f1 == 50.0);

  // "11th centuries": F1 2/3 against "10th and 11th centuries", 4/7 against the longer gold.
  preds["n-when"] = "11th centuries";
  s = evaluate_squad(gold, preds);
  CHECK(s.has_ans_exact == 0.0);
  CHECK(s.has_ans_f1 == doctest::Approx(100.0 * 2 / 3));

  const json::Value j = to_json(s);
  CHECK(j.as_object()[0].first == "exact");
  CHECK(j.at("HasAns_total").as_int() == 1);
  CHECK(j.at("NoAns_total").as_int() == 2);
}

TEST_CASE("squad evaluate: gold answers that normalize to \"\" are dropped (v2 rule), no NoAns on v1.1 data") {
  SquadExample ex;
  ex.id = "q";
  ex.answers = {{".", 0}, {"the cat", 0}};
  const std::vector<SquadExample> gold = {ex};
  SquadScores s = evaluate_squad(gold, {{"q", ""}});
  CHECK(s.exact == 0.0);  // evaluate-v1.1.py would match "" with "."
  s = evaluate_squad(gold, {{"q", "Cat"}});
  CHECK(s.exact == 100.0);
  CHECK(s.no_ans_total == 0);
  CHECK(to_json(s).find("NoAns_exact") == nullptr);
}
