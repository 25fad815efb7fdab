// GLUE for `electra finetune`: the task table, the TSV readers on hand-written fixtures
// (tests/fixtures/glue/README.md lists the quirk each file shows), featurisation, the
// metrics against hand-computed values, and the submission files.
#include <electra/finetune/features.hpp>
#include <electra/finetune/glue_reader.hpp>
#include <electra/finetune/glue_tasks.hpp>
#include <electra/finetune/metrics.hpp>
#include <fstream>
#include <sstream>

#include "helpers.hpp"

using namespace electra;
using namespace electra::finetune;
namespace fs = std::filesystem;

namespace {
const fs::path kGlue = fs::path(ELECTRA_TEST_FIXTURES) / "glue";
const std::string kVocab = std::string(ELECTRA_SOURCE_DIR) + "/data/vocab/bert-uncased-vocab.txt";

const text::Tokenizer& bert() {
  static const text::Tokenizer t = text::Tokenizer::from_file(kVocab);
  return t;
}

GlueReadResult read(std::string_view task, std::string_view split, const GlueReadOptions& o = {}) {
  const GlueTask& t = glue_task(task);
  return read_glue_file(t, glue_split_path(kGlue, t, split), split, o);
}

std::vector<GlueExample> examples(std::string_view task, std::string_view split) { return read(task, split).examples; }

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::int32_t> cat(std::initializer_list<std::vector<std::int32_t>> parts) {
  std::vector<std::int32_t> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Task table

TEST_CASE("glue tasks: the nine tasks with the official label order, splits, epochs and files") {
  std::vector<std::string> names;
  for (const GlueTask& t : glue_tasks()) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"});

  const GlueTask& mnli = glue_task("mnli");
  CHECK(mnli.dir == "MNLI");
  CHECK(mnli.labels == std::vector<std::string>{"contradiction", "entailment", "neutral"});
  CHECK(mnli.dev_splits == std::vector<std::string>{"dev_matched", "dev_mismatched"});
  CHECK(mnli.test_splits == std::vector<std::string>{"test_matched", "test_mismatched"});
  CHECK(mnli.submission_files == std::vector<std::string>{"MNLI-m.tsv", "MNLI-mm.tsv"});
  CHECK(mnli.submission_file("test_mismatched") == "MNLI-mm.tsv");
  CHECK(mnli.num_labels() == 3);

  CHECK(glue_task("rte").labels == std::vector<std::string>{"entailment", "not_entailment"});
  CHECK(glue_task("qnli").labels == std::vector<std::string>{"entailment", "not_entailment"});
  for (const char* n : {"cola", "sst2", "mrpc", "qqp", "wnli"})
    CHECK(glue_task(n).labels == std::vector<std::string>{"0", "1"});

  const GlueTask& stsb = glue_task("stsb");
  CHECK(stsb.is_regression());
  CHECK(stsb.labels.empty());
  CHECK(stsb.num_labels() == 1);
  CHECK(stsb.submission_files == std::vector<std::string>{"STS-B.tsv"});

  // Single-sentence tasks; paper epochs (10 for RTE and STS-B); official double_unordered.
  for (const GlueTask& t : glue_tasks()) {
    CAPTURE(t.name);
    CHECK(t.has_pair() == (t.name != "cola" && t.name != "sst2"));
    CHECK(t.epochs == (t.name == "rte" || t.name == "stsb" ? 10 : 3));
    CHECK(t.swap_augment == (t.name == "mrpc" || t.name == "stsb"));
    CHECK(t.submission_files.size() == t.test_splits.size());
  }
}

TEST_CASE("glue tasks: looked up by name, directory or the official name, unknown names list the valid ones") {
  CHECK(glue_task("STS-B").name == "stsb");
  CHECK(glue_task("sst").name == "sst2");
  CHECK(glue_task("CoLA").name == "cola");
  test::check_throws_with<value_error>([] { glue_task("squad"); }, {"'squad'", "cola", "mnli", "wnli"});
  test::check_throws_with<value_error>([] { glue_task("mnli").submission_file("test"); }, {"test"});
}

// ---------------------------------------------------------------------------------------------
// Readers: one per task layout

TEST_CASE("CoLA train has no header: every line is a row, sentence from column 3, label from column 1") {
  const auto ex = examples("cola", "train");
  REQUIRE(ex.size() == 4);
  CHECK(ex[0].guid == "train-0");
  CHECK(ex[0].text_a == "The cat sat on the mat.");
  CHECK(ex[0].text_b.empty());
  CHECK(ex[0].label == 1);
  CHECK(ex[1].label == 0);
  // No CSV quoting: an unclosed quote does not swallow the following lines.
  CHECK(ex[2].text_a == "\"Hello, she said and left.");
  CHECK(ex[3].text_a == "She said \"hi\" twice.");
  CHECK(ex[3].guid == "train-3");
  CHECK(ex[3].index == "3");
}

TEST_CASE("CoLA dev: a last line without a newline is a row like any other") {
  const auto ex = examples("cola", "dev");
  REQUIRE(ex.size() == 2);
  CHECK(ex[1].text_a == "Sing birds the.");
  CHECK(ex[1].label == 0);
}

TEST_CASE("test splits: header skipped, no label, index from column 0") {
  const auto cola = examples("cola", "test");
  REQUIRE(cola.size() == 2);
  CHECK(cola[1].guid == "test-1");
  CHECK(cola[1].index == "1");
  CHECK(cola[1].text_a == "Bark dogs the loudly.");
  CHECK(cola[1].label == -1);

  const auto sst = examples("sst2", "test");
  REQUIRE(sst.size() == 1);
  CHECK(sst[0].text_a == "an odd little movie .");

  const auto qqp = examples("qqp", "test");  // id, question1, question2
  REQUIRE(qqp.size() == 1);
  CHECK(qqp[0].text_a == "Is tea healthy?");
  CHECK(qqp[0].text_b == "Is green tea good for you?");

  const auto rte = examples("rte", "test");
  REQUIRE(rte.size() == 1);
  CHECK(rte[0].text_b == "It was cold.");
  CHECK(rte[0].label == -1);
}

TEST_CASE("SST-2: header skipped, text kept as written, blank lines at the end ignored") {
  const auto train = examples("sst2", "train");
  REQUIRE(train.size() == 2);
  CHECK(train[0].guid == "train-0");  // numbered after the header, as the official eid
  CHECK(train[0].text_a == "a gentle , funny film ");
  CHECK(train[0].label == 1);
  const auto dev = examples("sst2", "dev");  // "...\n\n\n"
  REQUIRE(dev.size() == 2);
  CHECK(dev[1].text_a == "flat ");
}

TEST_CASE("MRPC: the header is skipped by position even though it starts with a UTF-8 BOM") {
  const auto ex = examples("mrpc", "train");
  REQUIRE(ex.size() == 2);
  CHECK(ex[0].label == 1);  // Quality, column 0
  CHECK(ex[0].text_a == "The firm said profits rose.");
  CHECK(ex[0].text_b == "Profits rose, the firm said.");
  CHECK(ex[1].label == 0);
  CHECK(ex[1].text_a == "He left on \"Monday\".");

  const auto test = examples("mrpc", "test");
  REQUIRE(test.size() == 2);
  CHECK(test[1].index == "1");
  CHECK(test[1].text_a == "It is cold.");
  CHECK(test[1].text_b == "The shop is closed.");
}

TEST_CASE("a BOM before the first row of a headerless file leaves that row readable") {
  // The BOM sits in column 0, which no headerless layout reads (CoLA: source code), so all
  // this can show is that the row still parses with the right column count and label.
  test::TempDir dir;
  write_bytes(dir / "train.tsv", "\xEF\xBB\xBFhm09\t1\t\tA row.\n");
  const auto ex = read_glue_file(glue_task("cola"), dir / "train.tsv", "train").examples;
  REQUIRE(ex.size() == 1);
  CHECK(ex[0].label == 1);
}

TEST_CASE("STS-B: sentences from columns -3 and -2, the score (0..5) from the last, test files have 9 columns") {
  const auto train = examples("stsb", "train");
  REQUIRE(train.size() == 3);
  CHECK(train[0].text_a == "A man is singing.");
  CHECK(train[0].text_b == "A man sings.");
  CHECK(train[0].score == 5.0);
  CHECK(train[1].score == 0.25);
  CHECK(train[2].score == 3.8);
  CHECK(train[2].label == -1);

  const auto test = examples("stsb", "test");
  REQUIRE(test.size() == 2);
  CHECK(test[1].text_a == "Markets rose.");
  CHECK(test[1].text_b == "A bird flew.");
  CHECK(test[1].index == "1");
}

TEST_CASE("MNLI: sentences from columns 8 and 9, the label from the last column (gold_label) of 12 or 16") {
  const auto train = examples("mnli", "train");
  REQUIRE(train.size() == 2);
  CHECK(train[0].text_a == "It rained all day.");
  CHECK(train[0].text_b == "It was dry all day.");
  CHECK(train[0].label == 0);  // contradiction
  CHECK(train[1].label == 1);  // entailment

  const auto matched = examples("mnli", "dev_matched");  // label1 "entailment", gold_label "neutral"
  REQUIRE(matched.size() == 1);
  CHECK(matched[0].guid == "dev_matched-0");
  CHECK(matched[0].label == 2);
  CHECK(examples("mnli", "dev_mismatched")[0].label == 0);

  const auto test = examples("mnli", "test_matched");  // 10 columns
  REQUIRE(test.size() == 2);
  CHECK(test[1].text_a == "He sold the car.");
  CHECK(test[1].text_b == "He owns a boat.");
  CHECK(test[1].guid == "test_matched-1");
}

TEST_CASE("QQP, QNLI, RTE and WNLI: their pair and label columns") {
  const auto qqp = examples("qqp", "train");  // id qid1 qid2 question1 question2 is_duplicate
  REQUIRE(qqp.size() == 2);
  CHECK(qqp[0].text_a == "How do I learn C++?");
  CHECK(qqp[0].text_b == "What is the best way to learn C++?");
  CHECK(qqp[0].label == 1);
  CHECK(qqp[1].label == 0);

  const auto qnli = examples("qnli", "dev");
  REQUIRE(qnli.size() == 2);
  CHECK(qnli[0].text_a == "What melts ice?");
  CHECK(qnli[0].text_b == "Salt lowers the melting point of ice.");
  CHECK(qnli[0].label == 0);
  CHECK(qnli[1].label == 1);  // not_entailment

  const auto rte = examples("rte", "train");
  REQUIRE(rte.size() == 2);
  CHECK(rte[1].text_a == "She plays \"chess\" well.");
  CHECK(rte[1].label == 1);

  const auto wnli = examples("wnli", "train");
  REQUIRE(wnli.size() == 2);
  CHECK(wnli[0].text_b == "The case was small.");
  CHECK(wnli[0].label == 1);
  CHECK(wnli[1].label == 0);
}

TEST_CASE("CRLF line endings: the '\\r' is stripped before splitting, so labels and last fields are clean") {
  test::TempDir dir;
  write_bytes(dir / "dev.tsv",
              "index\tsentence1\tsentence2\tlabel\r\n0\tA.\tB.\tnot_entailment\r\n1\tC.\tD.\tentailment");
  const auto ex = read_glue_file(glue_task("rte"), dir / "dev.tsv", "dev").examples;
  REQUIRE(ex.size() == 2);
  CHECK(ex[0].label == 1);
  CHECK(ex[0].text_b == "B.");
  CHECK(ex[1].label == 0);
}

// ---------------------------------------------------------------------------------------------
// Reader errors

TEST_CASE("malformed rows are errors naming the file, the line and the problem") {
  const fs::path bad = kGlue / "malformed";
  test::check_throws_with<io_error>([&] { read_glue_file(glue_task("cola"), bad / "cola_short_row.tsv", "train"); },
                                    {"cola_short_row.tsv:2:", "expected 4 tab-separated columns, found 3"});
  test::check_throws_with<io_error>(
      [&] { read_glue_file(glue_task("rte"), bad / "rte_unknown_label.tsv", "dev"); },
      {"rte_unknown_label.tsv:3:", "label 'maybe' is not one of entailment, not_entailment"});
  test::check_throws_with<io_error>([&] { read_glue_file(glue_task("stsb"), bad / "stsb_bad_score.tsv", "train"); },
                                    {"stsb_bad_score.tsv:2:", "score 'n/a' is not a number"});
  test::check_throws_with<io_error>([&] { read_glue_file(glue_task("cola"), bad / "cola_blank_line.tsv", "train"); },
                                    {"cola_blank_line.tsv:2:", "blank line between rows"});
  // A row whose column count differs from the header's (a stray tab in a sentence).
  test::TempDir dir;
  write_bytes(dir / "train.tsv", "sentence\tlabel\nfine \t1\nstray\ttab \t0\n");
  test::check_throws_with<io_error>([&] { read_glue_file(glue_task("sst2"), dir / "train.tsv", "train"); },
                                    {"train.tsv:3:", "expected 2 tab-separated columns (as in the header), found 3"});
  // A score outside STS-B's range.
  write_bytes(dir / "dev.tsv", "i\tg\tf\ty\to\ts1\ts2\ta\tb\tscore\n0\tg\tf\ty\t0\tn\tn\tA.\tB.\t5.5\n");
  test::check_throws_with<io_error>([&] { read_glue_file(glue_task("stsb"), dir / "dev.tsv", "dev"); },
                                    {"dev.tsv:2:", "score 5.5 is outside [0, 5]"});
}

TEST_CASE("skip_malformed drops bad rows, counts them, and keeps the other rows' numbers") {
  const fs::path bad = kGlue / "malformed";
  const auto r = read_glue_file(glue_task("cola"), bad / "cola_short_row.tsv", "train", {.skip_malformed = true});
  CHECK(r.skipped == 1);
  CHECK(r.first_problem.find("cola_short_row.tsv:2:") != std::string::npos);
  REQUIRE(r.examples.size() == 2);
  CHECK(r.examples[0].guid == "train-0");
  CHECK(r.examples[1].guid == "train-2");  // not renumbered
  CHECK(r.examples[1].text_a == "Another good row.");

  const auto s = read_glue_file(glue_task("stsb"), bad / "stsb_bad_score.tsv", "train", {.skip_malformed = true});
  CHECK(s.skipped == 1);
  REQUIRE(s.examples.size() == 1);
  CHECK(s.examples[0].score == 2.5);

  const auto b = read_glue_file(glue_task("cola"), bad / "cola_blank_line.tsv", "train", {.skip_malformed = true});
  CHECK(b.skipped == 1);
  CHECK(b.examples.size() == 2);
}

TEST_CASE("reader errors: missing file, unknown split, a header too narrow for the task, no rows") {
  test::check_throws_with<io_error>([] { read_glue_file(glue_task("qqp"), kGlue / "QQP" / "dev.tsv", "dev"); },
                                    {"cannot open", "QQP/dev.tsv"});
  test::check_throws_with<value_error>([] { read("mnli", "dev"); },
                                       {"no split 'dev'", "dev_matched", "test_mismatched"});
  // MNLI's label is column 9 (of 10+); reading an RTE file as MNLI fails at its header.
  test::check_throws_with<io_error>([] { read_glue_file(glue_task("mnli"), kGlue / "RTE" / "train.tsv", "train"); },
                                    {"RTE/train.tsv:1:", "header has 4 column(s)", "need at least 10"});
  test::TempDir dir;
  write_bytes(dir / "train.tsv", "sentence\tlabel\n");
  test::check_throws_with<io_error>([&] { read_glue_file(glue_task("sst2"), dir / "train.tsv", "train"); },
                                    {"train.tsv", "no examples"});
  write_bytes(dir / "dev.tsv", "hm\tx\t\tA.\n");
  test::check_throws_with<io_error>(
      [&] { read_glue_file(glue_task("cola"), dir / "dev.tsv", "dev", {.skip_malformed = true}); },
      {"no examples", "1 malformed rows skipped", "label 'x'"});
}

TEST_CASE("glue_split_path: glue_data/<TASK>/<split>.tsv, or <split>.tsv in the task folder itself") {
  const GlueTask& cola = glue_task("cola");
  CHECK(glue_split_path(kGlue, cola, "dev") == kGlue / "CoLA" / "dev.tsv");
  CHECK(glue_split_path(kGlue / "CoLA", cola, "dev") == kGlue / "CoLA" / "dev.tsv");
  // The task folder named as data_dir still gets its own path when the file is missing,
  // so the error names a file that could exist.
  CHECK(glue_split_path(kGlue / "MNLI", glue_task("mnli"), "test_mismatched") ==
        kGlue / "MNLI" / "test_mismatched.tsv");
  CHECK(glue_split_path(kGlue / "MNLI" / "", glue_task("mnli"), "test_mismatched") ==  // trailing slash
        kGlue / "MNLI" / "test_mismatched.tsv");
  CHECK(glue_split_path(kGlue, glue_task("qqp"), "dev") == kGlue / "QQP" / "dev.tsv");
}

TEST_CASE("append_swapped_pairs: (b, a) copies numbered after the originals, as official double_unordered") {
  auto ex = examples("mrpc", "train");
  append_swapped_pairs(ex);
  REQUIRE(ex.size() == 4);
  CHECK(ex[2].guid == "train-2");
  CHECK(ex[2].text_a == "Profits rose, the firm said.");
  CHECK(ex[2].text_b == "The firm said profits rose.");
  CHECK(ex[2].label == ex[0].label);
  CHECK(ex[3].guid == "train-3");
  CHECK(ex[3].text_b == ex[1].text_a);
}

// ---------------------------------------------------------------------------------------------
// Features

TEST_CASE("truncate_pair pops from the longer sequence first, and from b when they are equal") {
  std::vector<std::int32_t> a = {1, 2, 3, 4, 5}, b = {6, 7};
  truncate_pair(a, b, 4);  // 5+2: a, a, a -> 2+2
  CHECK(a == std::vector<std::int32_t>{1, 2});
  CHECK(b == std::vector<std::int32_t>{6, 7});

  a = {1, 2, 3}, b = {4, 5, 6};
  truncate_pair(a, b, 4);  // 3+3: equal, so b -> 3+2: a -> 2+2
  CHECK(a == std::vector<std::int32_t>{1, 2});
  CHECK(b == std::vector<std::int32_t>{4, 5});

  a = {1, 2}, b = {3};
  truncate_pair(a, b, 5);  // fits: untouched
  CHECK(a.size() + b.size() == 3);
  truncate_pair(a, b, 0);
  CHECK((a.empty() && b.empty()));
}

TEST_CASE("featurize_pair: [CLS] a [SEP] b [SEP] with segments 0 then 1, cut to max_len longer-first") {
  const std::int32_t CLS = 101, SEP = 102;
  // BERT uncased ids: the 1996, big 2502, black 2304, cat 4937, sat 2938; on 2006, mat 13523.
  const std::vector<std::int32_t> a = {1996, 2502, 2304, 4937, 2938}, b = {2006, 1996, 13523};

  const PairFeatures full = featurize_pair(bert(), "The big black cat sat", "on the mat", true, 128);
  CHECK(full.ids == cat({{CLS}, a, {SEP}, b, {SEP}}));
  CHECK(full.segments == std::vector<std::int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1});
  CHECK_FALSE(full.truncated);

  // max_len 8 leaves 5 word pieces for 5 + 3: a loses 2 (5>3, 4>3), then b loses 1 (3 = 3).
  const PairFeatures cut = featurize_pair(bert(), "The big black cat sat", "on the mat", true, 8);
  CHECK(cut.ids == std::vector<std::int32_t>{CLS, 1996, 2502, 2304, SEP, 2006, 1996, SEP});
  CHECK(cut.segments == std::vector<std::int32_t>{0, 0, 0, 0, 0, 1, 1, 1});
  CHECK(cut.truncated);
}

TEST_CASE("featurize_pair: single sentences get [CLS] a [SEP], all segment 0, cut to their first max_len - 2") {
  const PairFeatures s = featurize_pair(bert(), "The big black cat sat", "ignored", false, 5);
  CHECK(s.ids == std::vector<std::int32_t>{101, 1996, 2502, 2304, 102});
  CHECK(s.segments == std::vector<std::int32_t>(5, 0));
  CHECK(s.truncated);
  // As officially, a second text with no word pieces gives the single-sentence layout.
  const PairFeatures e = featurize_pair(bert(), "on the mat", "   ", true, 16);
  CHECK(e.ids == std::vector<std::int32_t>{101, 2006, 1996, 13523, 102});
  CHECK(e.segments == std::vector<std::int32_t>(5, 0));
  test::check_throws_with<value_error>([] { featurize_pair(bert(), "a", "b", true, 2); }, {"max_len 2"});
}

// ---------------------------------------------------------------------------------------------
// Metrics

TEST_CASE("accuracy, F1 and MCC on one hand-counted binary confusion matrix") {
  //            0  1  2  3  4  5  6  7
  // pred       1  1  1  0  0  1  0  1
  // gold       1  1  0  0  1  1  0  0
  // TP = 3 (0,1,5), FP = 2 (2,7), FN = 1 (4), TN = 2 (3,6)
  const std::vector<int> pred = {1, 1, 1, 0, 0, 1, 0, 1}, gold = {1, 1, 0, 0, 1, 1, 0, 0};
  CHECK(accuracy(pred, gold) == doctest::Approx(5.0 / 8));  // TP + TN = 5 of 8
  // P = 3/5, R = 3/4, F1 = 2PR/(P+R) = 0.9/1.35 = 2TP/(2TP+FP+FN) = 6/9
  CHECK(f1_binary(pred, gold) == doctest::Approx(6.0 / 9).epsilon(1e-12));
  // MCC = (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (6 − 2) / √(5·4·4·3) = 4/√240 = 0.2581989
  CHECK(matthews_corrcoef(pred, gold) == doctest::Approx(4.0 / std::sqrt(240.0)).epsilon(1e-12));
  CHECK(matthews_corrcoef(pred, gold) == doctest::Approx(0.2581989).epsilon(1e-6));
  // Perfect and inverted predictions: +1 and −1.
  CHECK(matthews_corrcoef(gold, gold) == doctest::Approx(1.0));
  std::vector<int> inverted;
  for (int g : gold) inverted.push_back(1 - g);
  CHECK(matthews_corrcoef(inverted, gold) == doctest::Approx(-1.0));
}

TEST_CASE("F1 and MCC edge cases follow sklearn: no true positive gives F1 0, a zero denominator gives MCC 0") {
  CHECK(f1_binary({0, 0, 0}, {1, 0, 1}) == 0.0);
  CHECK(f1_binary({1, 0}, {0, 0}) == 0.0);
  CHECK(f1_binary({0, 0}, {0, 0}) == 0.0);
  // Constant predictions: (s² − Σp²) = 0, so MCC is 0 rather than NaN.
  CHECK(matthews_corrcoef({1, 1, 1, 1}, {1, 0, 1, 0}) == 0.0);
  CHECK(matthews_corrcoef({1, 0, 1, 0}, {0, 0, 0, 0}) == 0.0);
  test::check_throws_with<value_error>([] { f1_binary({2, 0}, {1, 0}); }, {"0 or 1", "prediction 2"});
}

TEST_CASE("MCC for three classes uses sklearn's multiclass form") {
  // pred 0 1 2 0 1 2, gold 0 1 2 1 2 0: c = 3 correct, s = 6, p_k = t_k = 2 for every k.
  // (c·s − Σ p_k t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)) = (18 − 12) / √(24·24) = 0.25
  CHECK(matthews_corrcoef({0, 1, 2, 0, 1, 2}, {0, 1, 2, 1, 2, 0}) == doctest::Approx(0.25).epsilon(1e-12));
}

TEST_CASE("Pearson and Spearman by hand, Spearman ranks ties by their mean rank") {
  const std::vector<double> x = {1, 2, 3, 4, 5}, y = {2, 4, 5, 4, 5};
  // Pearson: means 3 and 4; dx = −2 −1 0 1 2, dy = −2 0 1 0 1
  //   Σdxdy = 4 + 0 + 0 + 0 + 2 = 6, Σdx² = 10, Σdy² = 6, r = 6/√60 = 0.7745967
  CHECK(pearson(x, y) == doctest::Approx(6.0 / std::sqrt(60.0)).epsilon(1e-12));
  // Ranks of y: 2 → 1; the two 4s share ranks 2, 3 → 2.5; the two 5s share 4, 5 → 4.5.
  CHECK(average_ranks(y) == std::vector<double>{1, 2.5, 4.5, 2.5, 4.5});
  // Spearman = Pearson(ranks): dr_y = −2 −0.5 1.5 −0.5 1.5 (mean 3)
  //   Σdx·dr = 4 + 0.5 + 0 − 0.5 + 3 = 7, Σdr² = 4 + 0.25 + 2.25 + 0.25 + 2.25 = 9, ρ = 7/√90 = 0.7378648
  // (the no-ties shortcut 1 − 6Σd²/(n(n²−1)) would give 1 − 30/120 = 0.75)
  CHECK(spearman(x, y) == doctest::Approx(7.0 / std::sqrt(90.0)).epsilon(1e-12));
  CHECK(spearman(x, y) == doctest::Approx(0.7378648).epsilon(1e-6));
  CHECK(average_ranks({3, 1, 3, 3}) == std::vector<double>{3, 1, 3, 3});  // ranks 2, 3, 4 → 3
  // Monotone but not linear: Spearman 1, Pearson below 1.
  CHECK(spearman({1, 2, 3}, {1, 10, 100}) == doctest::Approx(1.0));
  CHECK(pearson({1, 2, 3}, {1, 10, 100}) < 0.99);
  CHECK(std::isnan(pearson({1, 2, 3}, {4, 4, 4})));  // scipy: constant input → nan
  // The mean of seven 0.1s is not 0.1 in binary, so Σ(x − mean)² is tiny but not 0: still nan.
  CHECK(std::isnan(pearson({0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, {1, 2, 3, 4, 5, 6, 7})));
}

TEST_CASE("metrics reject mismatched sizes and empty inputs") {
  test::check_throws_with<value_error>([] { accuracy({1, 0}, {1}); }, {"accuracy", "2 predictions for 1"});
  test::check_throws_with<value_error>([] { matthews_corrcoef({}, {}); }, {"no examples"});
  test::check_throws_with<value_error>([] { pearson({1.0}, {1.0, 2.0}); }, {"pearson"});
  test::check_throws_with<value_error>([] { spearman({}, {}); }, {"spearman"});
  test::check_throws_with<value_error>([] { average_ranks({1.0, std::nan("")}); }, {"NaN"});
}

TEST_CASE("glue_scores: each task's GLUE metrics, primary first") {
  const auto names = [](const std::vector<Score>& s) {
    std::vector<std::string> n;
    for (const auto& x : s) n.push_back(x.name);
    return n;
  };
  const auto cola = examples("cola", "train");  // gold 1 0 1 1
  const auto c = glue_scores(glue_task("cola"), {1, 1, 1, 1}, cola);
  CHECK(names(c) == std::vector<std::string>{"mcc"});
  CHECK(c[0].value == 0.0);  // constant predictions

  const auto mrpc = examples("mrpc", "train");                  // gold 1 0
  const auto m = glue_scores(glue_task("mrpc"), {1, 1}, mrpc);  // TP 1, FP 1: F1 = 2/3, accuracy 1/2
  CHECK(names(m) == std::vector<std::string>{"f1", "accuracy"});
  CHECK(m[0].value == doctest::Approx(2.0 / 3));
  CHECK(m[1].value == doctest::Approx(0.5));
  CHECK(names(glue_scores(glue_task("qqp"), {1, 0}, examples("qqp", "train"))) ==
        std::vector<std::string>{"f1", "accuracy"});

  const auto stsb = examples("stsb", "train");  // gold 5.0 0.25 3.8
  const auto s = glue_scores(glue_task("stsb"), {4.0, 1.0, 3.0}, stsb);
  CHECK(names(s) == std::vector<std::string>{"pearson", "spearman"});
  CHECK(s[1].value == doctest::Approx(1.0));  // same order
  CHECK(s[0].value == doctest::Approx(pearson({4.0, 1.0, 3.0}, {5.0, 0.25, 3.8})));

  const auto mnli = examples("mnli", "train");  // gold 0 1
  const auto a = glue_scores(glue_task("mnli"), {0, 2}, mnli);
  CHECK(names(a) == std::vector<std::string>{"accuracy"});
  CHECK(a[0].value == 0.5);

  const GlueTask& mnli_task = glue_task("mnli");
  test::check_throws_with<value_error>([&] { glue_scores(mnli_task, {0, 3}, mnli); }, {"prediction 3", "[0, 3)"});
  const auto cola_test = examples("cola", "test"), stsb_test = examples("stsb", "test");
  test::check_throws_with<value_error>([&] { glue_scores(glue_task("cola"), {0, 1}, cola_test); }, {"no gold label"});
  test::check_throws_with<value_error>([&] { glue_scores(glue_task("stsb"), {1, 2}, stsb_test); }, {"no gold score"});
}

// ---------------------------------------------------------------------------------------------
// Submission files

TEST_CASE("write_glue_submission: 'index<TAB>prediction', label words for MNLI, 0/1 for CoLA, 3 decimals for STS-B") {
  test::TempDir dir;
  write_glue_submission(dir / "MNLI-m.tsv", glue_task("mnli"), examples("mnli", "test_matched"), {1, 2});
  CHECK(read_bytes(dir / "MNLI-m.tsv") == "index\tprediction\n0\tentailment\n1\tneutral\n");

  write_glue_submission(dir / "CoLA.tsv", glue_task("cola"), examples("cola", "test"), {1, 0});
  CHECK(read_bytes(dir / "CoLA.tsv") == "index\tprediction\n0\t1\n1\t0\n");

  write_glue_submission(dir / "RTE.tsv", glue_task("rte"), examples("rte", "test"), {1});
  CHECK(read_bytes(dir / "RTE.tsv") == "index\tprediction\n0\tnot_entailment\n");

  write_glue_submission(dir / "STS-B.tsv", glue_task("stsb"), examples("stsb", "test"), {4.12345, 0.5});
  CHECK(read_bytes(dir / "STS-B.tsv") == "index\tprediction\n0\t4.123\n1\t0.500\n");
  // Only the four files: no temporary files left behind.
  CHECK(dir.listing() == std::vector<std::string>{"CoLA.tsv", "MNLI-m.tsv", "RTE.tsv", "STS-B.tsv"});

  const auto cola = examples("cola", "test");
  test::check_throws_with<value_error>([&] { write_glue_submission(dir / "x.tsv", glue_task("cola"), cola, {1}); },
                                       {"1 predictions for 2 examples"});
  const GlueTask& cola_task = glue_task("cola");
  const auto half_class = [&] { write_glue_submission(dir / "x.tsv", cola_task, cola, {0.5, 1}); };
  test::check_throws_with<value_error>(half_class, {"prediction 0.5", "class index"});
  CHECK_FALSE(fs::exists(dir / "x.tsv"));
}
