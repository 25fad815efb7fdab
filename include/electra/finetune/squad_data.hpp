// SQuAD 1.1 / 2.0 in: the reader and the sliding-window features of BERT's run_squad.py
// (read_squad_examples, convert_examples_to_features) and ELECTRA's finetune/qa/qa_tasks.py
// (_add_examples, featurize), step for step:
//
//   context -> doc_words: split on ' ' \t \r \n and U+202F only (the official is_whitespace),
//     char_to_word per code point, since answer_start counts code points (Python str);
//   every doc word -> WordPieces (Tokenizer::encode of the word), remembering each piece's word;
//   training: the first answer's words, narrowed to the pieces that spell its tokenized text
//     when they can (_improve_answer_span: "(1895-1943)." -> "1895");
//   windows: [CLS] query[:max_query_len] [SEP] doc[start, start + len) [SEP], segments 0 then 1,
//     len = max_seq_len − |query| − 3; the next window starts min(len, doc_stride) later;
//   token_is_max_context: a piece belongs to the window where min(left, right context)
//     + 0.01 · window length is largest (the first such window on ties);
//   training targets: the answer's positions in the window, or 0 ([CLS]) when the question
//     is impossible or the answer is not wholly inside the window.
// Features are not padded: the batcher pads ids and segments with 0 and builds the mask.
//
// Unrecoverable answers (ELECTRA's example_failures): when the first answer's offset runs
// past the context, or its whitespace-joined text is not found (case-insensitively, as in
// ELECTRA) in the doc words its offset covers, training skips the question and counts it,
// as officially. Evaluation keeps every question (its answers are still the gold answers)
// and leaves start_word/end_word at -1; the official eval reader never looks at offsets.
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "../core/error.hpp"
#include "../io/json.hpp"
#include "../text/tokenizer.hpp"
#include "../text/unicode.hpp"

namespace electra::finetune {

struct SquadAnswer {
  std::string text;
  std::int64_t char_start = 0;  // in code points, as in the file
};

struct SquadExample {
  std::string id, question, context;
  std::vector<SquadAnswer> answers;  // empty for impossible questions
  bool is_impossible = false;
  std::vector<std::string> doc_words;  // the whitespace split of context
  int start_word = -1, end_word = -1;  // the first answer's words; -1 if impossible or unrecoverable
};

struct SquadReadOptions {
  // Training drops questions whose first answer cannot be recovered from the context and
  // requires every answerable question to have an answer; evaluation keeps all questions.
  bool training = false;
};

struct SquadReadStats {
  std::size_t questions = 0;      // in the file
  std::size_t impossible = 0;     // marked is_impossible
  std::size_t unrecoverable = 0;  // first answer not found at its offset (skipped when training)
  std::string first_problem;      // what was wrong with the first unrecoverable answer, for the log
};

namespace detail {

// The official is_whitespace for splitting contexts: note U+202F but not U+00A0.
constexpr bool is_squad_doc_space(char32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0x202F; }

// Python's str.isspace() (what str.split() splits on): the code points whose bidirectional
// class is WS, B or S, or whose category is Zs (CPython's _PyUnicode_IsWhitespace table).
constexpr bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

inline std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) text::unicode::decode_utf8(s, i);
  return n;
}

// Python's " ".join(s.split()).
inline std::string py_split_join(std::string_view s) {
  std::string out;
  bool gap = false;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t at = i;
    if (is_py_space(text::unicode::decode_utf8(s, i))) {
      gap = true;
      continue;
    }
    if (gap && !out.empty()) out += ' ';
    gap = false;
    out.append(s.substr(at, i - at));
  }
  return out;
}

inline bool is_cased(char32_t c) {
  const auto cat = text::unicode::category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}
inline bool is_case_ignorable(char32_t c) {
  if (c == '\'' || c == '.' || c == ':' || c == 0xB7 || c == 0x2018 || c == 0x2019 || c == 0x2024 || c == 0x2027)
    return true;  // Word_Break MidLetter / MidNumLet / Single_Quote
  const auto cat = text::unicode::category(c);
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
         cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK;
}

// Python's str.lower(): ASCII exactly; other code points by utf8proc's simple lower-case
// mapping, plus the two rules where Python's full mapping differs: U+0130 'İ' -> "i̇" and
// the Final_Sigma context (Σ after a cased letter and not before one -> 'ς'). Cased and
// case-ignorable are approximated from general categories (Lu Ll Lt; Mn Me Cf Lm Sk and
// the word-internal apostrophes, dots and colons).
inline std::string py_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::u32string cps;
  bool ascii = true;
  for (char ch : s) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
  if (ascii) {
    for (char ch : s) out += (ch >= 'A' && ch <= 'Z') ? char(ch + 32) : ch;
    return out;
  }
  for (std::size_t i = 0; i < s.size();) cps.push_back(text::unicode::decode_utf8(s, i));
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    if (c == 0x130) {
      out += "i\xCC\x87";
    } else if (c == 0x3A3) {
      std::size_t j = i;
      while (j > 0 && is_case_ignorable(cps[j - 1])) --j;
      bool final_sigma = j > 0 && is_cased(cps[j - 1]);
      std::size_t k = i + 1;
      while (k < cps.size() && is_case_ignorable(cps[k])) ++k;
      final_sigma = final_sigma && (k == cps.size() || !is_cased(cps[k]));
      text::unicode::append_utf8(out, final_sigma ? 0x3C2 : 0x3C3);
    } else {
      text::unicode::append_utf8(out, char32_t(utf8proc_tolower(utf8proc_int32_t(c))));
    }
  }
  return out;
}

inline std::string join_words(const std::vector<std::string>& words, std::size_t first, std::size_t last) {
  std::string s;
  for (std::size_t w = first; w <= last && w < words.size(); ++w) {
    if (w > first) s += ' ';
    s += words[w];
  }
  return s;
}

// A member of a JSON object with the expected kind; errors say where in the file it is.
inline const json::Value& squad_member(const json::Value& obj, std::string_view key, json::Kind kind,
                                       const std::string& where) {
  ELECTRA_CHECK(obj.is_object(), io_error, where, ": expected a JSON object, got a JSON ", json::kind_name(obj.kind()));
  const json::Value* v = obj.find(key);
  ELECTRA_CHECK(v, io_error, where, ": missing '", key, "'");
  ELECTRA_CHECK(v->kind() == kind, io_error, where, ": '", key, "' must be a JSON ", json::kind_name(kind),
                ", got a JSON ", json::kind_name(v->kind()));
  return *v;
}

// Sets start_word/end_word from the first answer, or returns why that is impossible.
inline std::string locate_first_answer(SquadExample& ex, const std::vector<int>& char_to_word) {
  const SquadAnswer& a = ex.answers.front();
  const std::size_t length = count_code_points(a.text);
  if (length == 0) return "its answer text is empty";
  if (std::size_t(a.char_start) + length > char_to_word.size())
    return ::electra::detail::concat("its answer ends at character ", std::size_t(a.char_start) + length,
                                     ", past the end of the context (", char_to_word.size(), " characters)");
  // An answer starting in the context's leading whitespace starts at the first word.
  const int start = std::max(0, char_to_word[std::size_t(a.char_start)]);
  const int end = char_to_word[std::size_t(a.char_start) + length - 1];
  if (end < start) return "its answer lies in the whitespace before the first word";
  const std::string actual = py_lower(join_words(ex.doc_words, std::size_t(start), std::size_t(end)));
  const std::string cleaned = py_lower(py_split_join(a.text));
  if (actual.find(cleaned) == std::string::npos)
    return ::electra::detail::concat("answer '", a.text, "' is not in the words '", actual, "' at character ",
                                     a.char_start);
  ex.start_word = start, ex.end_word = end;
  return {};
}

}  // namespace detail

// Reads SQuAD JSON text; `source` (a file name) starts every error message.
inline std::vector<SquadExample> read_squad_text(std::string_view json_text, const std::string& source,
                                                 const SquadReadOptions& options = {},
                                                 SquadReadStats* stats = nullptr) {
  using json::Kind;
  const json::Value doc = json::parse(json_text, source);
  const json::Value& data = detail::squad_member(doc, "data", Kind::array, source);
  SquadReadStats local;
  SquadReadStats& st = stats ? *stats : local;
  st = {};
  std::vector<SquadExample> examples;
  std::unordered_set<std::string> ids;
  std::vector<std::string> doc_words;
  std::vector<int> char_to_word;
  for (std::size_t d = 0; d < data.as_array().size(); ++d) {
    const std::string at_article = ::electra::detail::concat(source, ": data[", d, "]");
    const json::Value& paragraphs = detail::squad_member(data.as_array()[d], "paragraphs", Kind::array, at_article);
    for (std::size_t p = 0; p < paragraphs.as_array().size(); ++p) {
      const json::Value& paragraph = paragraphs.as_array()[p];
      const std::string at_paragraph = ::electra::detail::concat(at_article, ".paragraphs[", p, "]");
      const std::string& context = detail::squad_member(paragraph, "context", Kind::string, at_paragraph).as_string();
      doc_words.clear();
      char_to_word.clear();
      bool prev_space = true;
      for (std::size_t i = 0; i < context.size();) {
        const std::size_t at = i;
        const char32_t c = text::unicode::decode_utf8(context, i);
        if (detail::is_squad_doc_space(c)) {
          prev_space = true;
        } else {
          if (prev_space) doc_words.emplace_back();
          doc_words.back().append(context, at, i - at);
          prev_space = false;
        }
        char_to_word.push_back(int(doc_words.size()) - 1);
      }
      const json::Value& qas = detail::squad_member(paragraph, "qas", Kind::array, at_paragraph);
      for (std::size_t q = 0; q < qas.as_array().size(); ++q) {
        const json::Value& qa = qas.as_array()[q];
        const std::string at_qa = ::electra::detail::concat(at_paragraph, ".qas[", q, "]");
        SquadExample ex;
        ex.id = detail::squad_member(qa, "id", Kind::string, at_qa).as_string();
        const std::string where = ::electra::detail::concat(source, ": question '", ex.id, "'");
        ELECTRA_CHECK(ids.insert(ex.id).second, io_error, where, " appears twice (ids name predictions)");
        ex.question = detail::squad_member(qa, "question", Kind::string, where).as_string();
        if (const json::Value* imp = qa.find("is_impossible")) {
          ELECTRA_CHECK(imp->is_bool(), io_error, where, ": 'is_impossible' must be a JSON boolean, got a JSON ",
                        json::kind_name(imp->kind()));
          ex.is_impossible = imp->as_bool();
        }
        const json::Value& answers = detail::squad_member(qa, "answers", Kind::array, where);
        for (std::size_t k = 0; k < answers.as_array().size(); ++k) {
          const std::string at_answer = ::electra::detail::concat(where, ": answer ", k);
          const json::Value& a = answers.as_array()[k];
          SquadAnswer answer;
          answer.text = detail::squad_member(a, "text", Kind::string, at_answer).as_string();
          answer.char_start = detail::squad_member(a, "answer_start", Kind::integer, at_answer).as_int();
          ELECTRA_CHECK(answer.char_start >= 0, io_error, at_answer, ": 'answer_start' is negative (",
                        answer.char_start, ")");
          ex.answers.push_back(std::move(answer));
        }
        ++st.questions;
        st.impossible += ex.is_impossible;
        ELECTRA_CHECK(!options.training || ex.is_impossible || !ex.answers.empty(), io_error, where,
                      ": no answers, and not marked \"is_impossible\": true (training needs an answer)");
        ex.context = context;
        ex.doc_words = doc_words;
        if (!ex.is_impossible && !ex.answers.empty()) {
          if (std::string why = detail::locate_first_answer(ex, char_to_word); !why.empty()) {
            if (st.unrecoverable++ == 0) st.first_problem = where + ": " + why;
            if (options.training) continue;
          }
        }
        examples.push_back(std::move(ex));
      }
    }
  }
  return examples;
}

// Reads a SQuAD 1.1 or 2.0 file ({"version", "data": [{"title", "paragraphs": [{"context",
// "qas": [{"id", "question", "answers": [{"text", "answer_start"}], "is_impossible"?}]}]}]}).
// Errors name the file and the question id (or the JSON path where there is no id yet).
inline std::vector<SquadExample> read_squad(const std::filesystem::path& json_file,
                                            const SquadReadOptions& options = {}, SquadReadStats* stats = nullptr) {
  ELECTRA_CHECK(!std::filesystem::is_directory(json_file), io_error, "SQuAD file '", json_file.string(),
                "' is a directory");
  std::ifstream in(json_file, std::ios::binary);
  ELECTRA_CHECK(in, io_error, "cannot open SQuAD file '", json_file.string(), "'");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ELECTRA_CHECK(!in.bad(), io_error, "error reading SQuAD file '", json_file.string(), "'");
  return read_squad_text(bytes, json_file.string(), options, stats);
}

struct SquadOptions {
  std::size_t max_seq_len = 384, doc_stride = 128, max_query_len = 64;
};

struct SquadFeature {
  std::size_t example_index = 0;             // into the examples given to featurize_squad
  int span_index = 0;                        // which window of that example
  std::vector<std::int32_t> ids, segments;   // [T], T ≤ max_seq_len, not padded
  std::vector<int> token_to_word;            // [T], the doc word of each piece; -1 outside the context
  std::vector<bool> token_is_max_context;    // [T], false outside the context
  int start_position = 0, end_position = 0;  // training targets; 0 = [CLS] (no answer in this window)
  // [T] WordPiece strings, made for evaluation features only (training == false): the
  // decoder projects the predicted pieces back onto the context with them.
  std::vector<std::string> tokens;
};

namespace detail {

struct DocSpan {
  std::size_t start, length;
};

// _check_is_max_context: min(left, right context) + 0.01 · length, the first span on ties.
inline bool is_max_context(const std::vector<DocSpan>& spans, std::size_t cur, std::size_t position) {
  double best_score = -1;
  std::size_t best = spans.size();
  for (std::size_t s = 0; s < spans.size(); ++s) {
    const std::size_t end = spans[s].start + spans[s].length - 1;
    if (position < spans[s].start || position > end) continue;
    const double score = double(std::min(position - spans[s].start, end - position)) + 0.01 * double(spans[s].length);
    if (best == spans.size() || score > best_score) best_score = score, best = s;
  }
  return cur == best;
}

}  // namespace detail

// One feature per window of every example, in example order then window order. Training
// needs examples read with training = true (located answers); impossible questions and
// windows without the whole answer get start = end = 0. An example whose context has no
// WordPiece tokens at all gets no feature, as officially.
inline std::vector<SquadFeature> featurize_squad(const std::vector<SquadExample>& examples, const text::Tokenizer& tok,
                                                 const SquadOptions& o, bool training) {
  ELECTRA_CHECK(o.max_seq_len > o.max_query_len + 3, value_error, "SQuAD: max_seq_len (", o.max_seq_len,
                ") must be greater than max_query_len (", o.max_query_len, ") + 3");
  ELECTRA_CHECK(o.doc_stride > 0, value_error, "SQuAD: doc_stride must be positive");
  std::vector<SquadFeature> features;
  std::vector<std::int32_t> doc_ids, answer_ids;
  std::vector<int> tok_to_word;
  std::vector<std::size_t> word_to_tok;
  std::vector<detail::DocSpan> spans;
  for (std::size_t e = 0; e < examples.size(); ++e) {
    const SquadExample& ex = examples[e];
    std::vector<std::int32_t> query = tok.encode(ex.question);
    if (query.size() > o.max_query_len) query.resize(o.max_query_len);

    doc_ids.clear(), tok_to_word.clear(), word_to_tok.clear();
    for (std::size_t w = 0; w < ex.doc_words.size(); ++w) {
      word_to_tok.push_back(doc_ids.size());
      tok.encode_into(ex.doc_words[w], doc_ids);
      tok_to_word.resize(doc_ids.size(), int(w));
    }

    // The answer in WordPiece positions of the whole document (training only).
    std::size_t tok_start = 0, tok_end = 0;
    bool answer_located = false;
    if (training && !ex.is_impossible) {
      const int n_words = int(ex.doc_words.size());
      ELECTRA_CHECK(ex.start_word >= 0 && ex.end_word >= ex.start_word && ex.end_word < n_words && !ex.answers.empty(),
                    value_error, "SQuAD example '", ex.id, "' has no located answer (start_word ", ex.start_word,
                    ", end_word ", ex.end_word, ", ", n_words, " words): read it with training = true");
      tok_start = word_to_tok[std::size_t(ex.start_word)];
      tok_end = ex.end_word + 1 < n_words ? word_to_tok[std::size_t(ex.end_word) + 1] : doc_ids.size();
      // Words with no pieces (all dropped by the tokenizer) can leave nothing to point at.
      answer_located = tok_end > tok_start;
      if (answer_located) {
        --tok_end;
        // _improve_answer_span: the first (leftmost, then longest) run of pieces that
        // equals the tokenized answer text; only a run of its length can match.
        answer_ids.clear();
        tok.encode_into(ex.answers.front().text, answer_ids);
        const std::size_t len = answer_ids.size();
        for (std::size_t s = tok_start; len > 0 && s + len - 1 <= tok_end; ++s) {
          if (std::equal(answer_ids.begin(), answer_ids.end(), doc_ids.begin() + std::ptrdiff_t(s))) {
            tok_start = s, tok_end = s + len - 1;
            break;
          }
        }
      }
    }

    const std::size_t max_doc = o.max_seq_len - query.size() - 3;
    spans.clear();
    for (std::size_t start = 0; start < doc_ids.size();) {
      const std::size_t length = std::min(doc_ids.size() - start, max_doc);
      spans.push_back({start, length});
      if (start + length == doc_ids.size()) break;
      start += std::min(length, o.doc_stride);
    }

    const std::size_t doc_offset = query.size() + 2;
    for (std::size_t s = 0; s < spans.size(); ++s) {
      SquadFeature f;
      f.example_index = e;
      f.span_index = int(s);
      const std::size_t T = doc_offset + spans[s].length + 1;
      f.ids.reserve(T);
      f.ids.push_back(tok.cls_id());
      f.ids.insert(f.ids.end(), query.begin(), query.end());
      f.ids.push_back(tok.sep_id());
      f.segments.assign(doc_offset, 0);
      f.token_to_word.assign(doc_offset, -1);
      f.token_is_max_context.assign(doc_offset, false);
      for (std::size_t i = 0; i < spans[s].length; ++i) {
        const std::size_t t = spans[s].start + i;
        f.ids.push_back(doc_ids[t]);
        f.token_to_word.push_back(tok_to_word[t]);
        f.token_is_max_context.push_back(detail::is_max_context(spans, s, t));
      }
      f.ids.push_back(tok.sep_id());
      f.segments.resize(T, 1);
      f.token_to_word.push_back(-1);
      f.token_is_max_context.push_back(false);
      if (answer_located && tok_start >= spans[s].start && tok_end < spans[s].start + spans[s].length) {
        f.start_position = int(tok_start - spans[s].start + doc_offset);
        f.end_position = int(tok_end - spans[s].start + doc_offset);
      }
      if (!training) {
        f.tokens.reserve(T);
        for (std::int32_t id : f.ids) f.tokens.push_back(tok.vocab().token(id));
      }
      features.push_back(std::move(f));
    }
  }
  return features;
}

}  // namespace electra::finetune
