// The run's metrics file: JSON lines, one object per logged step ("split": "train" or
// "eval"), appended and flushed as training goes, so a killed run keeps its curve. On resume
// the lines from steps after the checkpoint are dropped, so the curve has no duplicates.
#pragma once
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../io/atomic_file.hpp"
#include "../io/json.hpp"
#include "plot.hpp"

namespace electra::train {

class RunLog {
 public:
  explicit RunLog(std::filesystem::path path) : path_(std::move(path)) {}

  void append(const json::Value& record) {
    std::ofstream out(path_, std::ios::app);
    ELECTRA_CHECK(out, io_error, "cannot append to metrics file '", path_.string(), "'");
    out << record.dump() << '\n';
    out.flush();
  }

  // Keeps only records whose "step" is below `step` (after resuming from a checkpoint there).
  void truncate_to(std::int64_t step) const {
    if (!std::filesystem::exists(path_)) return;
    std::string kept;
    for (const json::Value& r : read()) {
      if (r.at("step").as_int() < step) kept += r.dump() + '\n';
    }
    io::write_file_atomically(path_, kept);
  }

  // Every record; a torn last line (a run killed mid-write) is skipped.
  std::vector<json::Value> read() const {
    std::vector<json::Value> records;
    std::ifstream in(path_);
    ELECTRA_CHECK(in, io_error, "cannot read metrics file '", path_.string(), "'");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        records.push_back(json::parse(line, path_.string()));
      } catch (const io_error&) {
        if (in.peek() != EOF) throw;  // only the last line may be torn
      }
    }
    return records;
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The curves of a run: both losses, accuracies/AUC, learning rate; train and held-out points.
inline std::string plot_run(const std::vector<json::Value>& records, const std::string& title) {
  auto series = [&](const char* key, const char* split, const std::string& label) {
    Series s{label, {}, {}};
    for (const auto& r : records) {
      const json::Value* v = r.find(key);
      const json::Value* sp = r.find("split");
      if (!v || !v->is_number() || !sp || sp->as_string() != split) continue;
      s.x.push_back(double(r.at("step").as_int()));
      s.y.push_back(v->as_double());
    }
    return s;
  };
  // A run of the MLM-only objective logs zeros for the discriminator: leave its curves out.
  bool has_discriminator = false;
  for (const auto& r : records) {
    const json::Value* v = r.find("rtd_loss");
    has_discriminator = has_discriminator || (v && v->is_number() && v->as_double() != 0);
  }
  std::vector<Panel> panels{
      {"generator: MLM loss", {series("mlm_loss", "train", "train"), series("mlm_loss", "eval", "held out")}}};
  if (has_discriminator) {
    panels.push_back(
        {"discriminator: RTD loss", {series("rtd_loss", "train", "train"), series("rtd_loss", "eval", "held out")}});
    panels.push_back({"accuracy",
                      {series("mlm_accuracy", "train", "MLM accuracy"), series("disc_accuracy", "train", "disc. accuracy"),
                       series("disc_auc", "train", "disc. AUC"), series("disc_auc", "eval", "disc. AUC (eval)"),
                       series("mlm_accuracy", "eval", "MLM accuracy (eval)")}});
  } else {
    panels.push_back({"accuracy", {series("mlm_accuracy", "train", "MLM accuracy"),
                                   series("mlm_accuracy", "eval", "MLM accuracy (eval)")}});
  }
  panels.push_back({"learning rate", {series("lr", "train", "learning rate")}});
  return render_svg(title, panels);
}

}  // namespace electra::train
