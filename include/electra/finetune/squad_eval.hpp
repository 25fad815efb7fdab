// The official SQuAD evaluation (evaluate-v2.0.py; on SQuAD 1.1 data it gives
// evaluate-v1.1.py's numbers, see below):
//
//   normalize_answer: lower-case (Python's str.lower), delete Python's string.punctuation
//     (the 32 ASCII marks; “ ” – and other non-ASCII punctuation stay), replace the whole
//     words a, an, the (regex \b(a|an|the)\b, Unicode word characters) by a space, then
//     collapse whitespace (str.split() on Unicode whitespace, joined by single spaces);
//   EM = normalized texts equal; F1 = token F1 on the normalized words (multiset overlap),
//     1 if both have no words and 0 if only one has none;
//   per question, the maximum over its gold answers; gold answers that normalize to ""
//     are dropped, and a question left without any (an unanswerable one) has the single
//     gold answer "";
//   scores are percentages over all questions, and separately over those with answers
//     (HasAns) and without (NoAns).
//
// Choices where the official scripts disagree or fail:
//  - a question with no prediction scores as if "" had been predicted, and is counted in
//    `missing`. evaluate-v1.1.py scores it 0 and keeps it in the total, which is the same
//    thing for answerable questions; evaluate-v2.0.py leaves it out of the total (and then
//    fails on its HasAns/NoAns breakdown with a KeyError);
//  - on SQuAD 1.1 data the v2 rules equal v1.1's, except for a gold answer that normalizes
//    to "" (v1.1 keeps it, and then gives EM 1 / F1 0 to an empty prediction);
//  - with no questions at all (or none with / without answers) a score is 0, not a
//    division by zero.
// Non-ASCII lower-casing follows Python's str.lower() as squad_data.hpp's py_lower does.
#pragma once
#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "../io/json.hpp"
#include "../text/unicode.hpp"
#include "squad_data.hpp"

namespace electra::finetune {

namespace detail {

// Python's \w for str patterns: letters, numbers and '_'.
inline bool is_py_word_char(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  const auto cat = text::unicode::category(c);
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

inline std::vector<std::string> split_spaces(const std::string& normalized) {
  std::vector<std::string> words;
  for (std::size_t at = 0; at < normalized.size();) {
    const std::size_t space = std::min(normalized.find(' ', at), normalized.size());
    words.emplace_back(normalized, at, space - at);
    at = space + 1;
  }
  return words;
}

}  // namespace detail

inline std::string normalize_answer(std::string_view s) {
  std::string lower = detail::py_lower(s);
  // ASCII bytes never occur inside a multi-byte UTF-8 sequence, so bytes can be dropped.
  std::erase_if(lower,
                [](char c) { return text::unicode::is_ascii_punctuation(char32_t(static_cast<unsigned char>(c))); });
  // Each maximal run of word characters that is exactly a, an or the becomes one space.
  std::string no_articles;
  for (std::size_t i = 0; i < lower.size();) {
    std::size_t j = i;
    const std::size_t run_start = i;
    while (j < lower.size()) {
      std::size_t k = j;
      if (!detail::is_py_word_char(text::unicode::decode_utf8(lower, k))) break;
      j = k;
    }
    if (j > run_start) {
      const std::string_view run(lower.data() + run_start, j - run_start);
      no_articles += (run == "a" || run == "an" || run == "the") ? std::string_view(" ") : run;
      i = j;
    } else {
      text::unicode::decode_utf8(lower, j);
      no_articles.append(lower, i, j - i);
      i = j;
    }
  }
  return detail::py_split_join(no_articles);
}

// compute_exact: 1 if the normalized texts are equal, else 0.
inline double exact_match(std::string_view pred, std::string_view gold) {
  return normalize_answer(pred) == normalize_answer(gold) ? 1.0 : 0.0;
}

// compute_f1 (v2.0): harmonic mean of word precision and recall on normalized texts.
inline double token_f1(std::string_view pred, std::string_view gold) {
  const std::vector<std::string> p = detail::split_spaces(normalize_answer(pred));
  const std::vector<std::string> g = detail::split_spaces(normalize_answer(gold));
  if (p.empty() || g.empty()) return p.empty() && g.empty() ? 1.0 : 0.0;
  std::unordered_map<std::string_view, long> gold_count;
  for (const auto& w : g) ++gold_count[w];
  long same = 0;
  for (const auto& w : p)
    if (auto it = gold_count.find(w); it != gold_count.end() && it->second > 0) --it->second, ++same;
  if (same == 0) return 0.0;
  const double precision = 1.0 * double(same) / double(p.size());
  const double recall = 1.0 * double(same) / double(g.size());
  return (2 * precision * recall) / (precision + recall);
}

struct SquadScores {
  double exact = 0, f1 = 0;  // percentages, 0..100
  std::size_t total = 0;
  double has_ans_exact = 0, has_ans_f1 = 0;
  std::size_t has_ans_total = 0;  // questions with gold answers
  double no_ans_exact = 0, no_ans_f1 = 0;
  std::size_t no_ans_total = 0;  // questions without (SQuAD 2.0's unanswerable ones)
  std::size_t missing = 0;       // questions with no prediction, scored as ""
};

// Scores predictions {question id -> answer text} against the gold examples (read with
// training = false so that every question counts). A question "has an answer" when its
// answer list is non-empty, as officially (is_impossible itself is not consulted).
inline SquadScores evaluate_squad(const std::vector<SquadExample>& gold,
                                  const std::map<std::string, std::string>& predictions) {
  SquadScores s;
  double has_exact = 0, has_f1 = 0, no_exact = 0, no_f1 = 0;
  std::vector<std::string> golds;
  for (const SquadExample& ex : gold) {
    golds.clear();
    for (const SquadAnswer& a : ex.answers)
      if (!normalize_answer(a.text).empty()) golds.push_back(a.text);
    if (golds.empty()) golds.push_back("");
    const auto it = predictions.find(ex.id);
    s.missing += it == predictions.end();
    const std::string_view pred = it == predictions.end() ? std::string_view() : std::string_view(it->second);
    double exact = 0, f1 = 0;
    for (const std::string& g : golds) {
      exact = std::max(exact, exact_match(pred, g));
      f1 = std::max(f1, token_f1(pred, g));
    }
    ++s.total;
    s.exact += exact, s.f1 += f1;
    if (!ex.answers.empty()) {
      ++s.has_ans_total, has_exact += exact, has_f1 += f1;
    } else {
      ++s.no_ans_total, no_exact += exact, no_f1 += f1;
    }
  }
  const auto percent = [](double sum, std::size_t n) { return n ? 100.0 * sum / double(n) : 0.0; };
  s.exact = percent(s.exact, s.total), s.f1 = percent(s.f1, s.total);
  s.has_ans_exact = percent(has_exact, s.has_ans_total), s.has_ans_f1 = percent(has_f1, s.has_ans_total);
  s.no_ans_exact = percent(no_exact, s.no_ans_total), s.no_ans_f1 = percent(no_f1, s.no_ans_total);
  return s;
}

// The official script's output: exact, f1, total, then HasAns_* / NoAns_* when there are
// such questions.
inline json::Value to_json(const SquadScores& s) {
  json::Object o = {{"exact", s.exact}, {"f1", s.f1}, {"total", s.total}};
  if (s.has_ans_total) {
    o.emplace_back("HasAns_exact", s.has_ans_exact);
    o.emplace_back("HasAns_f1", s.has_ans_f1);
    o.emplace_back("HasAns_total", s.has_ans_total);
  }
  if (s.no_ans_total) {
    o.emplace_back("NoAns_exact", s.no_ans_exact);
    o.emplace_back("NoAns_f1", s.no_ans_f1);
    o.emplace_back("NoAns_total", s.no_ans_total);
  }
  return json::Value(std::move(o));
}

}  // namespace electra::finetune
