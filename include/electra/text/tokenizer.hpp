// BERT's uncased WordPiece tokenizer: basic_tokenizer.hpp's words, then greedy
// longest-match-first WordPiece with "##" continuation pieces. Equal, id for id, to
// HuggingFace's BertTokenizer(do_lower_case=True) / its Rust BertNormalizer +
// BertPreTokenizer + WordPiece(max_input_chars_per_word=100), without [CLS]/[SEP]; the
// fixtures in tests/fixtures/tokenizer were made by HF's Rust code (docs/tokenizer.md).
//
// Special-token strings in the text ("[MASK]") are ordinary text here: they split into
// '[', 'mask', ']' as in HF's fast tokenizer without added tokens (HF's Python BertTokenizer
// would keep them whole).
//
// A word of more than 100 code points, or one with no segmentation into vocab pieces,
// becomes a single [UNK]. Copies share the (immutable) tables, so a Tokenizer is cheap to
// copy and safe to use from several threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "basic_tokenizer.hpp"
#include "piece_table.hpp"
#include "vocab.hpp"

namespace electra::text {

inline constexpr std::size_t kMaxInputCharsPerWord = 100;

class Tokenizer {
 public:
  // Checks that the vocab has BERT's special tokens; the error names the file and token.
  explicit Tokenizer(Vocab vocab) : t_(std::make_shared<Tables>(std::move(vocab))) {}
  static Tokenizer from_file(const std::filesystem::path& vocab_path) { return Tokenizer(Vocab::load(vocab_path)); }

  const Vocab& vocab() const { return t_->vocab; }
  std::int32_t pad_id() const { return t_->pad; }
  std::int32_t unk_id() const { return t_->unk; }
  std::int32_t cls_id() const { return t_->cls; }
  std::int32_t sep_id() const { return t_->sep; }
  std::int32_t mask_id() const { return t_->mask; }

  // Lower-cased, accent-stripped words, split on whitespace and punctuation.
  static std::vector<std::string> basic_tokenize(std::string_view text) { return text::basic_tokenize(text); }

  // Appends the ids of `text` to `out` (no [CLS]/[SEP]); the allocation-free core.
  void encode_into(std::string_view text, std::vector<std::int32_t>& out) const {
    for_each_word(text, [&](std::string_view w, std::size_t n_chars) { wordpiece(w, n_chars, out); });
  }
  std::vector<std::int32_t> encode(std::string_view text) const {
    std::vector<std::int32_t> ids;
    ids.reserve(text.size() / 4 + 4);
    encode_into(text, ids);
    return ids;
  }
  // The word pieces, e.g. "unaffable" -> {"una", "##ffa", "##ble"}.
  std::vector<std::string> tokenize(std::string_view text) const {
    std::vector<std::string> pieces;
    for (std::int32_t id : encode(text)) pieces.push_back(t_->vocab.token(id));
    return pieces;
  }

  // WordPiece on one normalized word of n_chars code points; appends its ids to `out`.
  void wordpiece(std::string_view word, std::size_t n_chars, std::vector<std::int32_t>& out) const {
    const Tables& t = *t_;
    if (n_chars > kMaxInputCharsPerWord) return out.push_back(t.unk);
    if (const std::int32_t id = t.first.find(word); id >= 0) return out.push_back(id);  // the common case
    const std::size_t mark = out.size();
    const auto boundary = [&](std::size_t i) { return i >= word.size() || (static_cast<unsigned char>(word[i]) & 0xC0) != 0x80; };
    for (std::size_t start = 0; start < word.size();) {
      const auto& pieces = start == 0 ? t.first : t.cont;
      // No piece is longer than the longest vocab entry: start there, on a character boundary.
      std::size_t end = std::min(word.size(), start + (start == 0 ? t.max_first : t.max_cont));
      while (!boundary(end)) --end;
      std::int32_t id = -1;
      for (; end > start; --end) {
        if (!boundary(end)) continue;
        if ((id = pieces.find(word.substr(start, end - start))) >= 0) break;
      }
      if (id < 0) {  // no piece fits here: the whole word is unknown
        out.resize(mark);
        return out.push_back(t.unk);
      }
      out.push_back(id);
      start = end;
    }
  }

 private:
  struct Tables {
    Vocab vocab;
    PieceTable first;  // every token, as is
    PieceTable cont;   // "##x" tokens keyed by "x": no "##" + piece string per lookup
    std::size_t max_first = 0, max_cont = 0;                  // longest key, in bytes
    std::int32_t pad, unk, cls, sep, mask;

    explicit Tables(Vocab v) : vocab(std::move(v)) {
      pad = special("[PAD]"), unk = special("[UNK]"), cls = special("[CLS]"), sep = special("[SEP]");
      mask = special("[MASK]");
      std::vector<std::pair<std::string_view, std::int32_t>> all, suffixes;
      for (std::size_t i = 0; i < vocab.size(); ++i) {
        const std::string_view tok = vocab.token(std::int32_t(i));
        all.emplace_back(tok, std::int32_t(i));
        max_first = std::max(max_first, tok.size());
        if (tok.size() > 2 && tok.substr(0, 2) == "##") {
          suffixes.emplace_back(tok.substr(2), std::int32_t(i));
          max_cont = std::max(max_cont, tok.size() - 2);
        }
      }
      first.build(all);
      cont.build(suffixes);
    }
    std::int32_t special(const char* token) const {
      const std::int32_t id = vocab.find(token);
      ELECTRA_CHECK(id >= 0, value_error, "vocabulary '", vocab.source(), "' lacks the special token '", token,
                    "' (a BERT vocabulary needs [PAD], [UNK], [CLS], [SEP] and [MASK])");
      return id;
    }
  };
  std::shared_ptr<const Tables> t_;
};

}  // namespace electra::text
