// The Unicode pieces of BERT's basic tokenizer: UTF-8 decoding and the character classes of
// HuggingFace's BertNormalizer / BertPreTokenizer, with general categories and canonical
// decompositions from utf8proc (link -lutf8proc) instead of hand-written tables.
//
// Invalid UTF-8 policy: every byte that does not start a well-formed UTF-8 sequence (stray
// continuation bytes, truncated sequences, overlong forms, surrogates, code points above
// U+10FFFF) decodes to U+FFFD and advances by one byte. BERT's cleaning step drops U+FFFD,
// so invalid bytes vanish without splitting the word they sit in. The code points that
// survive are exactly those of Python's bytes.decode("utf-8", errors="replace") followed by
// HF's _clean_text: Python replaces a maximal ill-formed prefix with one U+FFFD, but such a
// prefix never contains a byte that could start a valid character, so only the number of
// U+FFFD differs, and they are all dropped. Callers that want strict input use
// check_utf8(), which throws io_error with the byte offset of the first bad byte.
#pragma once
#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/error.hpp"

namespace electra::text::unicode {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the character at s[i] and advances i past it; see the policy above.
inline char32_t decode_utf8(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) -> unsigned { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned b0 = byte(i);
  if (b0 < 0x80) return ++i, b0;
  // Lead byte -> sequence length and the allowed range of the second byte (RFC 3629
  // table 3-7); the narrowed ranges exclude overlong forms, surrogates and > U+10FFFF.
  std::size_t len = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2;
  else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
  else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
  if (len == 0 || byte(i + 1) < lo || byte(i + 1) > hi) return ++i, kReplacement;
  char32_t c = b0 & (0x7Fu >> len);
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned b = byte(i + k);
    if ((b & 0xC0u) != 0x80u) return ++i, kReplacement;  // truncated (also at end of input)
    c = (c << 6) | (b & 0x3Fu);
  }
  i += len;
  return c;
}

// Byte offset of the first byte that is not part of well-formed UTF-8, or npos.
inline std::size_t first_invalid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t at = i;
    if (decode_utf8(s, i) == kReplacement && i - at == 1) return at;  // a real U+FFFD takes 3 bytes
  }
  return std::string_view::npos;
}

// Throws io_error naming `context` and the offset of the first invalid byte.
inline void check_utf8(std::string_view s, std::string_view context) {
  const std::size_t at = first_invalid_utf8(s);
  ELECTRA_CHECK(at == std::string_view::npos, io_error, context, ": invalid UTF-8 at byte ", at, " (byte 0x", std::hex,
                unsigned(static_cast<unsigned char>(s[at == std::string_view::npos ? 0 : at])), ")");
}

inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

inline utf8proc_category_t category(char32_t c) { return utf8proc_category(utf8proc_int32_t(c)); }

// BertNormalizer's is_control: Rust's `is_other()` of the unicode_categories crate, i.e.
// Cc, Cf, Co and Cs, but NOT Cn (unassigned code points are kept; HF's Python drops them,
// Google's original keeps Co too). \t \n \r are whitespace, not control.
inline bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO ||
         cat == UTF8PROC_CATEGORY_CS;
}

// Rust's char::is_whitespace (the White_Space property). Once controls are dropped, the
// White_Space characters left are exactly ' ', \t \n \r and the categories Zs, Zl, Zp
// (U+2028, U+2029), so the categories stand in for the property. Python's _is_whitespace
// omits Zl/Zp, but its str.split() splits on them, so both agree.
inline bool is_whitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  if (c < 0x80) return false;
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

constexpr bool is_ascii_punctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

// _is_punctuation: all non-alphanumeric printable ASCII (so $ + < = > ^ ` | ~ too, which
// are symbols in Unicode) plus every category P*.
inline bool is_punctuation(char32_t c) {
  if (c < 0x80) return is_ascii_punctuation(c);
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// is_chinese_char: the CJK Unified Ideographs blocks as HF's Rust normalizer lists them
// (not Hangul, kana or CJK punctuation). Python's _is_chinese_char starts the range of
// Extension E at U+2B820, the Rust code at U+2B920; we follow Rust, the reference.
inline bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Canonical decomposition (NFD of one character; Hangul syllables become conjoining jamo).
// Returns the number of code points written to out[0..4); 4 is the Unicode maximum.
inline int decompose(char32_t c, char32_t (&out)[4]) {
  utf8proc_int32_t buf[4];
  int boundclass = 0;  // only used with UTF8PROC_CHARBOUND
  const utf8proc_ssize_t n = utf8proc_decompose_char(utf8proc_int32_t(c), buf, 4, UTF8PROC_DECOMPOSE, &boundclass);
  if (n < 1 || n > 4) return out[0] = c, 1;  // cannot happen for valid scalar values
  for (utf8proc_ssize_t k = 0; k < n; ++k) out[k] = char32_t(buf[k]);
  return int(n);
}

inline bool is_nonspacing_mark(char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; }

// Simple lower-case mapping. Rust's full mapping differs only for U+0130 ('İ' -> "i̇"),
// which never gets here because NFD has already split it into 'I' + U+0307.
inline char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  return char32_t(utf8proc_tolower(utf8proc_int32_t(c)));
}

}  // namespace electra::text::unicode
