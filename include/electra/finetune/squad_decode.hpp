// From span logits to answer texts: BERT's run_squad.py write_predictions / get_final_text,
// per example (ELECTRA's qa_metrics.py ranks spans the same way but, for v2, keeps the best
// non-null text and leaves the null decision to the evaluation script's na-prob threshold):
//
//   candidates: in every window, each pair of the n_best highest start and end logits with
//     both positions in the context, start ≤ end, end − start + 1 ≤ max_answer_len and the
//     start in its max-context window; v2 adds the null answer ("" at [CLS]) of the window
//     whose start_logit[0] + end_logit[0] is smallest;
//   ranked by start + end logit (stable: earlier windows and higher start logits first on ties);
//   the first n_best distinct texts, each mapped back to the context by final_text;
//   probabilities: softmax over the kept candidates' start + end logits;
//   v1: the best text; v2: null_score_diff = null score − best non-null score, and the
//     prediction is "" when null_score_diff > null_threshold.
// The official nonce "empty" (logits 0) stands in when no candidate survives, and, as in
// HuggingFace's port, when v2 would otherwise keep only the null answer (BERT's code fails
// there). Logits are added in double, as BERT's code does with its Python floats.
#pragma once
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/json.hpp"
#include "../text/basic_tokenizer.hpp"
#include "../text/unicode.hpp"
#include "squad_data.hpp"

namespace electra::finetune {

struct SquadDecodeOptions {
  int n_best = 20, max_answer_len = 30;
  bool v2 = false;              // SQuAD 2.0: may predict "" (no answer)
  double null_threshold = 0.0;  // predict "" when null score − best non-null score exceeds it
};

struct SquadPrediction {
  std::string id, text;
  double null_score_diff = 0;                         // v2: null score − best non-null score (null_odds.json)
  std::vector<std::pair<std::string, double>> nbest;  // text, probability; best first
};

namespace detail {

struct CodePoints {
  std::u32string cps;
  std::vector<std::size_t> byte_at;  // [n + 1], byte offset of each code point, then the size
  explicit CodePoints(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
      byte_at.push_back(i);
      cps.push_back(text::unicode::decode_utf8(s, i));
    }
    byte_at.push_back(s.size());
  }
};

// Python's str.replace(from, to) for a non-empty `from`.
inline std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  for (std::size_t at = 0;;) {
    const std::size_t hit = s.find(from, at);
    out.append(s.substr(at, hit == std::string_view::npos ? std::string_view::npos : hit - at));
    if (hit == std::string_view::npos) return out;
    out.append(to);
    at = hit + from.size();
  }
}

// The predicted pieces as text: joined by spaces, "##" continuations glued on.
inline std::string pieces_text(const std::vector<std::string>& tokens, std::size_t first, std::size_t last) {
  std::string s;
  for (std::size_t t = first; t <= last; ++t) {
    if (t > first) s += ' ';
    s += tokens[t];
  }
  return py_split_join(replace_all(replace_all(s, " ##", ""), "##", ""));
}

// _get_best_indexes: positions of the n largest logits, largest first, lower position on ties.
inline std::vector<std::size_t> best_indexes(const std::vector<float>& logits, std::size_t n) {
  std::vector<std::size_t> idx(logits.size());
  std::iota(idx.begin(), idx.end(), std::size_t(0));
  n = std::min(n, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(n), idx.end(), [&](std::size_t a, std::size_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  idx.resize(n);
  return idx;
}

inline void check_logits(const std::vector<float>& logits, const SquadFeature& f, std::size_t i, const char* which) {
  ELECTRA_CHECK(logits.size() >= f.ids.size(), value_error, "decode_squad: feature ", i, " has ", f.ids.size(),
                " tokens but ", logits.size(), " ", which, " logits");
  for (std::size_t t = 0; t < logits.size(); ++t)
    ELECTRA_CHECK(std::isfinite(logits[t]), value_error, "decode_squad: ", which, " logit ", t, " of feature ", i,
                  " is ", logits[t]);
}

}  // namespace detail

// get_final_text: the part of orig_text (the context's whitespace words the predicted
// pieces came from, joined by spaces) that spells pred_text (the predicted pieces, "##"
// removed). orig_text is basic-tokenized (lower-cased, accents stripped, punctuation split)
// and searched for pred_text; when the tokenized text has as many non-space code points as
// orig_text they are aligned one to one and the match is cut out of orig_text. Otherwise
// (not found, lengths differ, ends on a space) orig_text is returned whole, as officially.
inline std::string final_text(std::string_view pred_text, std::string_view orig_text) {
  if (pred_text.empty()) return std::string(orig_text);  // officially: end position −1, not mappable
  std::string tok_text;
  text::for_each_word(orig_text, [&](std::string_view w, std::size_t) {
    if (!tok_text.empty()) tok_text += ' ';
    tok_text += w;
  });
  const std::size_t byte_start = tok_text.find(pred_text);
  if (byte_start == std::string::npos) return std::string(orig_text);
  const detail::CodePoints orig(orig_text), tok(tok_text);
  const std::size_t start =
      std::size_t(std::lower_bound(tok.byte_at.begin(), tok.byte_at.end(), byte_start) - tok.byte_at.begin());
  const std::size_t end = start + detail::count_code_points(pred_text) - 1;

  // Non-space code point number of every code point (npos for spaces), and the reverse.
  const auto strip_spaces = [](const std::u32string& s, std::vector<std::size_t>& ns_of,
                               std::vector<std::size_t>& s_of) {
    ns_of.assign(s.size(), std::string::npos);
    for (std::size_t i = 0; i < s.size(); ++i)
      if (s[i] != U' ') ns_of[i] = s_of.size(), s_of.push_back(i);
  };
  std::vector<std::size_t> orig_ns_of, orig_s_of, tok_ns_of, tok_s_of;
  strip_spaces(orig.cps, orig_ns_of, orig_s_of);
  strip_spaces(tok.cps, tok_ns_of, tok_s_of);
  if (orig_s_of.size() != tok_s_of.size()) return std::string(orig_text);
  if (tok_ns_of[start] == std::string::npos || tok_ns_of[end] == std::string::npos) return std::string(orig_text);
  const std::size_t orig_start = orig_s_of[tok_ns_of[start]], orig_end = orig_s_of[tok_ns_of[end]];
  return std::string(orig_text.substr(orig.byte_at[orig_start], orig.byte_at[orig_end + 1] - orig.byte_at[orig_start]));
}

// Predictions for every example, in example order. features are those of
// featurize_squad(examples, ..., training = false); start_logits[i] and end_logits[i]
// belong to features[i] and have at least features[i].ids.size() entries (padded logits
// are fine: positions past the tokens are never chosen, as officially).
inline std::vector<SquadPrediction> decode_squad(const std::vector<SquadExample>& examples,
                                                 const std::vector<SquadFeature>& features,
                                                 const std::vector<std::vector<float>>& start_logits,
                                                 const std::vector<std::vector<float>>& end_logits,
                                                 const SquadDecodeOptions& o) {
  ELECTRA_CHECK(o.n_best >= 1 && o.max_answer_len >= 1, value_error, "decode_squad: n_best (", o.n_best,
                ") and max_answer_len (", o.max_answer_len, ") must be positive");
  ELECTRA_CHECK(start_logits.size() == features.size() && end_logits.size() == features.size(), value_error,
                "decode_squad: ", features.size(), " features but ", start_logits.size(), " start and ",
                end_logits.size(), " end logit vectors");
  std::vector<std::vector<std::size_t>> features_of(examples.size());
  for (std::size_t i = 0; i < features.size(); ++i) {
    const SquadFeature& f = features[i];
    ELECTRA_CHECK(f.example_index < examples.size(), value_error, "decode_squad: feature ", i, " is of example ",
                  f.example_index, " but there are ", examples.size(), " examples");
    ELECTRA_CHECK(f.tokens.size() == f.ids.size() && f.token_to_word.size() == f.ids.size() &&
                      f.token_is_max_context.size() == f.ids.size(),
                  value_error, "decode_squad: feature ", i,
                  " lacks its word pieces; make evaluation features with featurize_squad(..., training = false)");
    detail::check_logits(start_logits[i], f, i, "start");
    detail::check_logits(end_logits[i], f, i, "end");
    features_of[f.example_index].push_back(i);
  }

  struct Candidate {
    std::size_t feature, start, end;  // start = end = 0: the null answer
    double start_logit, end_logit;
  };
  struct Entry {
    std::string text;
    double start_logit, end_logit;
  };
  std::vector<SquadPrediction> predictions;
  predictions.reserve(examples.size());
  std::vector<Candidate> candidates;
  for (std::size_t e = 0; e < examples.size(); ++e) {
    const SquadExample& ex = examples[e];
    candidates.clear();
    double score_null = 1000000;  // officially "large and positive"
    Candidate null{0, 0, 0, 0, 0};
    for (std::size_t i : features_of[e]) {
      const SquadFeature& f = features[i];
      const std::vector<float>&sl = start_logits[i], &el = end_logits[i];
      if (o.v2 && double(sl[0]) + double(el[0]) < score_null) {
        score_null = double(sl[0]) + double(el[0]);
        null = {i, 0, 0, double(sl[0]), double(el[0])};
      }
      const auto starts = detail::best_indexes(sl, std::size_t(o.n_best));
      const auto ends = detail::best_indexes(el, std::size_t(o.n_best));
      const std::size_t T = f.ids.size();
      for (std::size_t s : starts) {
        for (std::size_t t : ends) {
          if (s >= T || t >= T || f.token_to_word[s] < 0 || f.token_to_word[t] < 0) continue;
          if (!f.token_is_max_context[s] || t < s || t - s + 1 > std::size_t(o.max_answer_len)) continue;
          candidates.push_back({i, s, t, double(sl[s]), double(el[t])});
        }
      }
    }
    if (o.v2) candidates.push_back(null);
    std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      return a.start_logit + a.end_logit > b.start_logit + b.end_logit;
    });

    std::vector<Entry> nbest;
    std::unordered_set<std::string> seen;
    for (const Candidate& c : candidates) {
      if (nbest.size() >= std::size_t(o.n_best)) break;
      std::string text;
      if (c.start > 0) {
        const SquadFeature& f = features[c.feature];
        const std::string orig = detail::join_words(ex.doc_words, std::size_t(f.token_to_word[c.start]),
                                                    std::size_t(f.token_to_word[c.end]));
        text = final_text(detail::pieces_text(f.tokens, c.start, c.end), orig);
        if (!seen.insert(text).second) continue;
      } else {
        seen.insert(text);
      }
      nbest.push_back({std::move(text), c.start_logit, c.end_logit});
    }
    if (o.v2) {
      if (!seen.count("")) nbest.push_back({"", null.start_logit, null.end_logit});
      // Only the null answer left (HuggingFace's guard; the official code would crash).
      if (std::none_of(nbest.begin(), nbest.end(), [](const Entry& n) { return !n.text.empty(); }))
        nbest.insert(nbest.begin(), Entry{"empty", 0.0, 0.0});
    }
    if (nbest.empty()) nbest.push_back({"empty", 0.0, 0.0});

    SquadPrediction p;
    p.id = ex.id;
    double max_score = -INFINITY;
    for (const Entry& n : nbest) max_score = std::max(max_score, n.start_logit + n.end_logit);
    double total = 0;
    for (const Entry& n : nbest) total += std::exp(n.start_logit + n.end_logit - max_score);
    for (const Entry& n : nbest)
      p.nbest.emplace_back(n.text, std::exp(n.start_logit + n.end_logit - max_score) / total);
    if (!o.v2) {
      p.text = nbest.front().text;
    } else {
      const Entry& best = *std::find_if(nbest.begin(), nbest.end(), [](const Entry& n) { return !n.text.empty(); });
      p.null_score_diff = score_null - best.start_logit - best.end_logit;
      p.text = p.null_score_diff > o.null_threshold ? "" : best.text;
    }
    predictions.push_back(std::move(p));
  }
  return predictions;
}

namespace detail {

template <class Get>
void write_squad_json(const std::filesystem::path& path, const std::vector<SquadPrediction>& preds, Get&& get) {
  json::Object o;
  o.reserve(preds.size());
  std::unordered_set<std::string_view> ids;
  for (const SquadPrediction& p : preds) {
    ELECTRA_CHECK(ids.insert(p.id).second, value_error, "cannot write '", path.string(), "': question id '", p.id,
                  "' appears twice");
    o.emplace_back(p.id, get(p));
  }
  io::write_file_atomically(path, json::Value(std::move(o)).dump(4) + "\n");
}

}  // namespace detail

// predictions.json in the official format: {"<question id>": "<answer text>", ...}.
inline void write_squad_predictions(const std::filesystem::path& path, const std::vector<SquadPrediction>& preds) {
  detail::write_squad_json(path, preds, [](const SquadPrediction& p) { return json::Value(p.text); });
}

// null_odds.json (v2): {"<question id>": null_score_diff, ...}, the file evaluate-v2.0.py
// takes as --na-prob-file.
inline void write_squad_null_odds(const std::filesystem::path& path, const std::vector<SquadPrediction>& preds) {
  detail::write_squad_json(path, preds, [](const SquadPrediction& p) { return json::Value(p.null_score_diff); });
}

}  // namespace electra::finetune
