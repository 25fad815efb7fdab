// GLUE TSV files (the glue_data/<TASK>/{train,dev,test}.tsv layout of download_glue_data.py)
// read into examples, and test-split predictions written in the GLUE submission format.
//
// Columns, header skipping and labels per task and split follow the official
// google-research/electra finetune/classification/classification_tasks.py (negative columns
// count from the end, as there):
//   task  header  train/dev: a, b, label      test: a, b
//   cola  no/yes  3, -, 1  (no header)         1, -  (header "index sentence")
//   sst2  yes     0, -, 1                      1, -
//   mrpc  yes     3, 4, 0  (header has a BOM)  3, 4
//   stsb  yes     -3, -2, -1 (score, 0..5)     -2, -1
//   qqp   yes     3, 4, 5                      1, 2
//   mnli  yes     8, 9, -1                     8, 9
//   qnli, rte, wnli  yes  1, 2, 3              1, 2
// A split is a test split when it starts with "test" (official: `"test" in split`).
//
// Reading rules: lines split on '\t' only, with no CSV quoting (quotes are literal text in
// MRPC, RTE, QNLI, STS-B, WNLI and CoLA); a trailing '\r' is stripped; a UTF-8 BOM at the
// start of the file is dropped; the last line may lack its '\n'; blank lines at the end are
// ignored. Every row must have as many columns as the header (CoLA train/dev: exactly 4):
// that catches stray tabs yet fits MNLI's 12 (train), 16 (dev) and 10 (test) columns.
// Where the official reader logs and drops a bad row, this one throws io_error
// "FILE:LINE: ..." unless skip_malformed is set, which counts the row in `skipped`.
// An example's number (in guid "<split>-<n>") is its line's position after the header, as
// the official eid, so skipped rows leave gaps rather than renumbering the rest.
#pragma once
#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "glue_tasks.hpp"

namespace electra::finetune {

struct GlueExample {
  std::string guid;            // "<split>-<n>", n the row's position after the header
  std::string text_a, text_b;  // text_b empty for single-sentence tasks
  int label = -1;              // index into task.labels; -1 for regression and test rows
  double score = 0;            // STS-B similarity in [0, 5]
  std::string index;           // the id written in prediction files: column 0 of test rows, n otherwise
};

struct GlueReadOptions {
  bool skip_malformed = false;  // drop (and count) bad rows instead of throwing
};

struct GlueReadResult {
  std::vector<GlueExample> examples;
  std::size_t skipped = 0;
  std::string first_problem;  // "FILE:LINE: ..." of the first skipped row, for the log
};

namespace detail {

inline constexpr int kNoColumn = INT_MIN;

struct GlueLayout {
  bool header;
  int a, b, label;  // column indices; negative ones count from the end; kNoColumn if absent
};

inline bool is_test_split(std::string_view split) { return split.starts_with("test"); }

inline void check_glue_split(const GlueTask& t, std::string_view split) {
  std::vector<std::string> valid = {"train"};
  valid.insert(valid.end(), t.dev_splits.begin(), t.dev_splits.end());
  valid.insert(valid.end(), t.test_splits.begin(), t.test_splits.end());
  if (std::find(valid.begin(), valid.end(), split) != valid.end()) return;
  std::string list;
  for (const auto& s : valid) list += (list.empty() ? "" : ", ") + s;
  throw value_error(
      ::electra::detail::concat("GLUE task '", t.name, "' has no split '", split, "'; valid splits: ", list));
}

inline GlueLayout glue_layout(const GlueTask& t, std::string_view split) {
  const bool test = is_test_split(split);
  const int none = kNoColumn;
  const std::string& n = t.name;
  if (n == "cola") return test ? GlueLayout{true, 1, none, none} : GlueLayout{false, 3, none, 1};
  if (n == "sst2") return test ? GlueLayout{true, 1, none, none} : GlueLayout{true, 0, none, 1};
  if (n == "mrpc") return {true, 3, 4, test ? none : 0};
  if (n == "stsb") return test ? GlueLayout{true, -2, -1, none} : GlueLayout{true, -3, -2, -1};
  if (n == "qqp") return test ? GlueLayout{true, 1, 2, none} : GlueLayout{true, 3, 4, 5};
  if (n == "mnli") return {true, 8, 9, test ? none : -1};
  if (n == "qnli" || n == "rte" || n == "wnli") return {true, 1, 2, test ? none : 3};
  throw value_error(::electra::detail::concat("no GLUE file layout for task '", n, "'"));
}

// Columns a row needs for the layout's indices (and column 0, the test id).
inline std::size_t glue_columns_needed(const GlueLayout& l) {
  std::size_t need = 1;
  for (int c : {l.a, l.b, l.label})
    if (c != kNoColumn) need = std::max(need, std::size_t(c >= 0 ? c + 1 : -c));
  return need;
}

inline void split_tabs(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  for (std::size_t start = 0;;) {
    const std::size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return;
    start = tab + 1;
  }
}

}  // namespace detail

inline GlueReadResult read_glue_file(const GlueTask& task, const std::filesystem::path& file, std::string_view split,
                                     const GlueReadOptions& options = {}) {
  detail::check_glue_split(task, split);
  const detail::GlueLayout layout = detail::glue_layout(task, split);
  const bool test = detail::is_test_split(split);
  const std::string where = file.string();
  ELECTRA_CHECK(!std::filesystem::is_directory(file), io_error, "GLUE ", task.dir, " ", split, " file '", where,
                "' is a directory");
  std::ifstream in(file, std::ios::binary);
  ELECTRA_CHECK(in, io_error, "cannot open GLUE ", task.dir, " ", split, " file '", where, "'");

  GlueReadResult result;
  const auto malformed = [&](std::size_t line_no, const auto&... parts) {
    std::string msg = ::electra::detail::concat(where, ":", line_no, ": ", parts...);
    if (!options.skip_malformed) throw io_error(msg);
    if (result.skipped++ == 0) result.first_problem = std::move(msg);
  };

  const std::size_t needed = detail::glue_columns_needed(layout);
  std::size_t columns = layout.header ? 0 : needed;  // CoLA train/dev: exactly its 4 columns
  const std::size_t first_row_line = layout.header ? 2 : 1;
  std::vector<std::size_t> blank_lines;  // blank lines not (yet) known to be trailing
  std::vector<std::string_view> f;
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    detail::split_tabs(line, f);
    if (line_no == 1 && layout.header) {  // skipped by position: MRPC's begins with a BOM
      columns = f.size();
      ELECTRA_CHECK(columns >= needed, io_error, where, ":1: the header has ", columns, " column(s); GLUE ", task.dir,
                    " ", split, " rows need at least ", needed, " (wrong task or split?)");
      continue;
    }
    if (line.empty()) {
      blank_lines.push_back(line_no);
      continue;
    }
    for (std::size_t b : blank_lines) malformed(b, "blank line between rows");
    blank_lines.clear();

    if (f.size() != columns) {
      malformed(line_no, "expected ", columns, " tab-separated columns", layout.header ? " (as in the header)" : "",
                ", found ", f.size());
      continue;
    }
    const auto col = [&](int c) { return f[c >= 0 ? std::size_t(c) : f.size() - std::size_t(-c)]; };
    const std::size_t n = line_no - first_row_line;
    GlueExample ex;
    if (layout.label != detail::kNoColumn) {
      const std::string_view s = col(layout.label);
      if (task.is_regression()) {
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
          malformed(line_no, task.dir, " score '", s, "' is not a number");
          continue;
        }
        if (!(v >= 0 && v <= 5)) {
          malformed(line_no, task.dir, " score ", s, " is outside [0, 5]");
          continue;
        }
        ex.score = v;
      } else {
        const auto it = std::find(task.labels.begin(), task.labels.end(), s);
        if (it == task.labels.end()) {
          std::string valid;
          for (const auto& l : task.labels) valid += (valid.empty() ? "" : ", ") + l;
          malformed(line_no, task.dir, " label '", s, "' is not one of ", valid);
          continue;
        }
        ex.label = int(it - task.labels.begin());
      }
    }
    ex.guid = ::electra::detail::concat(split, "-", n);
    ex.text_a = std::string(col(layout.a));
    if (layout.b != detail::kNoColumn) ex.text_b = std::string(col(layout.b));
    ex.index = test ? std::string(f[0]) : std::to_string(n);
    result.examples.push_back(std::move(ex));
  }
  ELECTRA_CHECK(!in.bad(), io_error, "read error in GLUE file '", where, "'");
  ELECTRA_CHECK(!result.examples.empty(), io_error, where, ": no examples",
                result.skipped
                    ? ::electra::detail::concat(" (", result.skipped,
                                                " malformed rows skipped; first: ", result.first_problem, ")")
                    : std::string());
  return result;
}

// The official double_unordered for MRPC and STS-B training: appends a copy of every pair
// with a and b swapped. A copy's number is its original's plus the count of originals (the
// official eid_offset).
inline void append_swapped_pairs(std::vector<GlueExample>& examples) {
  const std::size_t count = examples.size();
  examples.reserve(2 * count);
  for (std::size_t i = 0; i < count; ++i) {
    GlueExample ex = examples[i];
    std::swap(ex.text_a, ex.text_b);
    const std::size_t dash = ex.guid.rfind('-');
    std::size_t n = 0;
    const char* first = ex.guid.data() + dash + 1;
    const auto [end, ec] = std::from_chars(first, ex.guid.data() + ex.guid.size(), n);
    ELECTRA_CHECK(dash != std::string::npos && ec == std::errc() && end == ex.guid.data() + ex.guid.size(), value_error,
                  "append_swapped_pairs: guid '", ex.guid, "' is not '<split>-<n>'");
    ex.guid = ::electra::detail::concat(ex.guid.substr(0, dash), "-", n + count);
    examples.push_back(std::move(ex));
  }
}

// data_dir is either glue_data/ (the file is data_dir/<task.dir>/<split>.tsv) or the task's
// own folder (used when data_dir/<split>.tsv exists, or data_dir is named <task.dir>).
inline std::filesystem::path glue_split_path(const std::filesystem::path& data_dir, const GlueTask& task,
                                             std::string_view split) {
  detail::check_glue_split(task, split);
  const std::string name = std::string(split) + ".tsv";
  if (std::filesystem::exists(data_dir / name)) return data_dir / name;
  const std::filesystem::path nested = data_dir / task.dir / name;
  const std::filesystem::path base =
      data_dir.filename().empty() ? data_dir.parent_path().filename() : data_dir.filename();
  if (!std::filesystem::is_directory(data_dir / task.dir) && base == task.dir) return data_dir / name;
  return nested;
}

// The GLUE server's format: "index\tprediction" then one row per test example, in order.
// Classes are written as their label strings (MNLI, QNLI, RTE words; 0/1 for the others);
// STS-B scores with 3 decimals, on the 0..5 scale of the data and not clipped.
// predictions[i] is example i's class index (integral) or score. Written atomically.
inline void write_glue_submission(const std::filesystem::path& file, const GlueTask& task,
                                  const std::vector<GlueExample>& test_examples,
                                  const std::vector<double>& predictions) {
  ELECTRA_CHECK(test_examples.size() == predictions.size(), value_error, "GLUE ", task.dir, " submission '",
                file.string(), "': ", predictions.size(), " predictions for ", test_examples.size(), " examples");
  std::string out = "index\tprediction\n";
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const double p = predictions[i];
    const GlueExample& ex = test_examples[i];
    ELECTRA_CHECK(!ex.index.empty(), value_error, "GLUE ", task.dir, " submission: example ", ex.guid, " has no index");
    out += ex.index;
    out += '\t';
    if (task.is_regression()) {
      ELECTRA_CHECK(std::isfinite(p), value_error, "GLUE ", task.dir, " submission: prediction ", p, " for example ",
                    ex.guid, " is not finite");
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3f", p);
      out += buf;
    } else {
      ELECTRA_CHECK(p >= 0 && p < double(task.labels.size()) && p == std::floor(p), value_error, "GLUE ", task.dir,
                    " submission: prediction ", p, " for example ", ex.guid, " is not a class index in [0, ",
                    task.labels.size(), ")");
      out += task.labels[std::size_t(p)];
    }
    out += '\n';
  }
  io::write_file_atomically(file, out);
}

}  // namespace electra::finetune
