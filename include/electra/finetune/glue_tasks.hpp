// The nine GLUE tasks: names, directories, label lists, splits, epochs and submission files.
//
// Label lists are in the official order (google-research/electra
// finetune/classification/classification_tasks.py), so a label index means the same
// class as there: MNLI contradiction/entailment/neutral, QNLI and RTE
// entailment/not_entailment, the rest "0"/"1". WNLI is not in the official code; it
// follows BERT's WnliProcessor ("0"/"1"). Epochs are the paper's (3, and 10 for RTE and
// STS-B); swap_augment is the official `double_unordered` (on by default), which doubles
// MRPC and STS-B training pairs by swapping the two sentences.
#pragma once
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"

namespace electra::finetune {

enum class TaskKind { classification, regression };

struct GlueTask {
  std::string name;  // "cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"
  std::string dir;   // folder under glue_data/: "CoLA", "SST-2", ...
  TaskKind kind = TaskKind::classification;
  std::vector<std::string> labels;       // label strings in index order; empty for regression
  std::vector<std::string> dev_splits;   // {"dev"} or {"dev_matched", "dev_mismatched"}
  std::vector<std::string> test_splits;  // {"test"} or {"test_matched", "test_mismatched"}
  int epochs = 3;
  bool swap_augment = false;                  // training pairs doubled by swapping a and b
  std::vector<std::string> submission_files;  // one per test split: "CoLA.tsv", "MNLI-m.tsv", ...

  bool has_pair() const { return name != "cola" && name != "sst2"; }
  bool is_regression() const { return kind == TaskKind::regression; }
  int num_labels() const { return is_regression() ? 1 : int(labels.size()); }

  // The submission file name for one of test_splits.
  const std::string& submission_file(std::string_view test_split) const {
    for (std::size_t i = 0; i < test_splits.size(); ++i)
      if (test_splits[i] == test_split) return submission_files[i];
    throw value_error(electra::detail::concat("GLUE task '", name, "' has no test split '", test_split, "'"));
  }
};

inline const std::vector<GlueTask>& glue_tasks() {
  using K = TaskKind;
  static const std::vector<GlueTask> tasks = [] {
    const std::vector<std::string> binary = {"0", "1"}, nli2 = {"entailment", "not_entailment"};
    const std::vector<std::string> dev = {"dev"}, test = {"test"};
    const std::vector<std::string> nli3 = {"contradiction", "entailment", "neutral"};
    const std::vector<std::string> mnli_dev = {"dev_matched", "dev_mismatched"};
    const std::vector<std::string> mnli_test = {"test_matched", "test_mismatched"};
    return std::vector<GlueTask>{
        {"cola", "CoLA", K::classification, binary, dev, test, 3, false, {"CoLA.tsv"}},
        {"sst2", "SST-2", K::classification, binary, dev, test, 3, false, {"SST-2.tsv"}},
        {"mrpc", "MRPC", K::classification, binary, dev, test, 3, true, {"MRPC.tsv"}},
        {"stsb", "STS-B", K::regression, {}, dev, test, 10, true, {"STS-B.tsv"}},
        {"qqp", "QQP", K::classification, binary, dev, test, 3, false, {"QQP.tsv"}},
        {"mnli", "MNLI", K::classification, nli3, mnli_dev, mnli_test, 3, false, {"MNLI-m.tsv", "MNLI-mm.tsv"}},
        {"qnli", "QNLI", K::classification, nli2, dev, test, 3, false, {"QNLI.tsv"}},
        {"rte", "RTE", K::classification, nli2, dev, test, 10, false, {"RTE.tsv"}},
        {"wnli", "WNLI", K::classification, binary, dev, test, 3, false, {"WNLI.tsv"}},
    };
  }();
  return tasks;
}

// By name ("stsb"), directory ("STS-B"), either case, or the official code's names "sst"/"sts".
inline const GlueTask& glue_task(std::string_view name) {
  const auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  std::string key = lower(name);
  if (key == "sst") key = "sst2";
  if (key == "sts") key = "stsb";
  std::string valid;
  for (const GlueTask& t : glue_tasks()) {
    if (key == t.name || key == lower(t.dir)) return t;
    valid += (valid.empty() ? "" : ", ") + t.name;
  }
  throw value_error(electra::detail::concat("unknown GLUE task '", name, "'; valid tasks: ", valid));
}

}  // namespace electra::finetune
