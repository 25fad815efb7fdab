// GLUE metrics, computed as GLUE and the official scorers do
// (google-research/electra finetune/classification/classification_metrics.py, which calls
// sklearn and scipy):
//   accuracy                 correct / n
//   f1_binary                sklearn f1_score, positive class 1: 2·TP / (2·TP + FP + FN); 0 without TP
//   matthews_corrcoef        sklearn's multiclass form (c·s − Σ p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)),
//                            c correct, s samples, p_k / t_k predicted / true counts of class k; 0 when
//                            the denominator is 0
//   pearson                  scipy pearsonr's r; NaN when either input is constant, as scipy
//   spearman                 Pearson of the average ranks (scipy spearmanr: ties share their mean rank)
// Values are fractions (accuracy 0.9, not 90): the official scorers print 100 × these.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "glue_reader.hpp"
#include "glue_tasks.hpp"

namespace electra::finetune {

namespace detail {
template <class T>
void check_metric_inputs(const char* metric, const std::vector<T>& pred, const std::vector<T>& gold) {
  ELECTRA_CHECK(pred.size() == gold.size(), value_error, metric, ": ", pred.size(), " predictions for ", gold.size(),
                " gold values");
  ELECTRA_CHECK(!pred.empty(), value_error, metric, ": no examples");
}
}  // namespace detail

inline double accuracy(const std::vector<int>& pred, const std::vector<int>& gold) {
  detail::check_metric_inputs("accuracy", pred, gold);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) correct += pred[i] == gold[i];
  return double(correct) / double(pred.size());
}

inline double f1_binary(const std::vector<int>& pred, const std::vector<int>& gold) {
  detail::check_metric_inputs("f1", pred, gold);
  std::size_t tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    ELECTRA_CHECK((pred[i] == 0 || pred[i] == 1) && (gold[i] == 0 || gold[i] == 1), value_error,
                  "f1: binary labels must be 0 or 1; example ", i, " has prediction ", pred[i], ", gold ", gold[i]);
    tp += pred[i] == 1 && gold[i] == 1;
    fp += pred[i] == 1 && gold[i] == 0;
    fn += pred[i] == 0 && gold[i] == 1;
  }
  return tp == 0 ? 0.0 : 2.0 * double(tp) / double(2 * tp + fp + fn);
}

inline double matthews_corrcoef(const std::vector<int>& pred, const std::vector<int>& gold) {
  detail::check_metric_inputs("matthews_corrcoef", pred, gold);
  int classes = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    ELECTRA_CHECK(pred[i] >= 0 && gold[i] >= 0, value_error, "matthews_corrcoef: class indices must be >= 0; example ",
                  i, " has prediction ", pred[i], ", gold ", gold[i]);
    classes = std::max({classes, pred[i] + 1, gold[i] + 1});
  }
  std::vector<double> p(std::size_t(classes), 0.0), t(std::size_t(classes), 0.0);
  double correct = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    p[std::size_t(pred[i])] += 1;
    t[std::size_t(gold[i])] += 1;
    correct += pred[i] == gold[i];
  }
  const double s = double(pred.size());
  double pt = 0, pp = 0, tt = 0;
  for (int k = 0; k < classes; ++k) pt += p[k] * t[k], pp += p[k] * p[k], tt += t[k] * t[k];
  const double cov_pt = correct * s - pt, cov_pp = s * s - pp, cov_tt = s * s - tt;
  if (cov_pp * cov_tt == 0) return 0.0;
  return cov_pt / std::sqrt(cov_pp * cov_tt);
}

inline double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  detail::check_metric_inputs("pearson", x, y);
  const double n = double(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;  // two passes: no cancellation from Σx² − n·mean²
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  // A constant input has no correlation (scipy: NaN). Test it exactly: the mean of n equal
  // values need not round to that value, so sxx can be a tiny positive number.
  const auto constant = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [&](double a) { return a == v.front(); });
  };
  if (sxx == 0 || syy == 0 || constant(x) || constant(y)) return std::numeric_limits<double>::quiet_NaN();
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

// 1-based ranks; a run of equal values shares the mean of the ranks it spans
// ({10, 20, 20, 30} -> {1, 2.5, 2.5, 4}), as scipy.stats.rankdata(method="average").
inline std::vector<double> average_ranks(const std::vector<double>& v) {
  for (std::size_t i = 0; i < v.size(); ++i)
    ELECTRA_CHECK(!std::isnan(v[i]), value_error, "average_ranks: value ", i, " is NaN");
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && v[order[j]] == v[order[i]]) ++j;
    const double mean_rank = double(i + 1 + j) / 2.0;  // mean of i+1 … j
    for (std::size_t k = i; k < j; ++k) ranks[order[k]] = mean_rank;
    i = j;
  }
  return ranks;
}

inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  detail::check_metric_inputs("spearman", x, y);
  return pearson(average_ranks(x), average_ranks(y));
}

struct Score {
  std::string name;
  double value;
};

// The task's GLUE metrics, primary first: cola {mcc}; mrpc, qqp {f1, accuracy};
// stsb {pearson, spearman}; the rest {accuracy}. predictions[i] is example i's class index
// (integral) or, for STS-B, its score; gold must carry labels (not a test split).
inline std::vector<Score> glue_scores(const GlueTask& task, const std::vector<double>& predictions,
                                      const std::vector<GlueExample>& gold) {
  ELECTRA_CHECK(predictions.size() == gold.size(), value_error, "GLUE ", task.name, " scores: ", predictions.size(),
                " predictions for ", gold.size(), " examples");
  if (task.is_regression()) {
    std::vector<double> g(gold.size());
    for (std::size_t i = 0; i < gold.size(); ++i) {
      // Test rows carry score 0, indistinguishable from a real 0 but for their split.
      ELECTRA_CHECK(!detail::is_test_split(gold[i].guid), value_error, "GLUE ", task.name, " scores: example ",
                    gold[i].guid, " has no gold score (a test split?)");
      g[i] = gold[i].score;
    }
    return {{"pearson", pearson(predictions, g)}, {"spearman", spearman(predictions, g)}};
  }
  std::vector<int> p(gold.size()), g(gold.size());
  for (std::size_t i = 0; i < gold.size(); ++i) {
    const double v = predictions[i];
    ELECTRA_CHECK(v >= 0 && v < double(task.num_labels()) && v == std::floor(v), value_error, "GLUE ", task.name,
                  " scores: prediction ", v, " for example ", gold[i].guid, " is not a class index in [0, ",
                  task.num_labels(), ")");
    ELECTRA_CHECK(gold[i].label >= 0 && gold[i].label < task.num_labels(), value_error, "GLUE ", task.name,
                  " scores: example ", gold[i].guid, " has no gold label (a test split?)");
    p[i] = int(v), g[i] = gold[i].label;
  }
  if (task.name == "cola") return {{"mcc", matthews_corrcoef(p, g)}};
  if (task.name == "mrpc" || task.name == "qqp") return {{"f1", f1_binary(p, g)}, {"accuracy", accuracy(p, g)}};
  return {{"accuracy", accuracy(p, g)}};
}

}  // namespace electra::finetune
