// A small, strict JSON value type with a parser and a writer (RFC 8259), for safetensors
// headers and model configs.
//
// - Objects keep their members in insertion (file) order, so a file's order is observable;
//   lookup is linear, which is fine for the tens to thousands of keys we meet. The parser
//   rejects duplicate keys: a file that says two things about one name is ambiguous.
// - Numbers: an integer literal (no fraction, no exponent) that fits int64 is kept exact as
//   int64; every other number is a double. Non-finite doubles cannot be written.
// - Strings are UTF-8. The parser validates raw UTF-8 and decodes every escape, \uXXXX
//   surrogate pairs included; lone surrogates are errors.
// - Parse errors throw electra::io_error: "<context>: invalid JSON at byte <offset>: expected
//   <what>". Nesting is limited (default 128) so hostile input cannot exhaust the stack.
#pragma once
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../core/error.hpp"

namespace electra::json {

class Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;

// `integer` holds int64, `number` a double (any number that is not an integer literal).
enum class Kind { null, boolean, integer, number, string, array, object };

inline const char* kind_name(Kind k) {
  constexpr const char* names[] = {"null", "boolean", "integer", "number", "string", "array", "object"};
  return names[int(k)];
}

class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  Value(I i) : v_(std::int64_t(i)) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t))
      ELECTRA_CHECK(i <= I(std::numeric_limits<std::int64_t>::max()), value_error, "JSON integer ", i, " does not fit int64");
  }
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}

  Kind kind() const { return Kind(v_.index()); }
  bool is_null() const { return kind() == Kind::null; }
  bool is_bool() const { return kind() == Kind::boolean; }
  bool is_int() const { return kind() == Kind::integer; }
  bool is_number() const { return is_int() || kind() == Kind::number; }  // int or double
  bool is_string() const { return kind() == Kind::string; }
  bool is_array() const { return kind() == Kind::array; }
  bool is_object() const { return kind() == Kind::object; }

  // Typed access; a kind mismatch throws io_error, since JSON values come from files.
  bool as_bool() const { return get<bool>(Kind::boolean); }
  std::int64_t as_int() const { return get<std::int64_t>(Kind::integer); }
  double as_double() const { return is_int() ? double(as_int()) : get<double>(Kind::number); }
  const std::string& as_string() const { return get<std::string>(Kind::string); }
  const Array& as_array() const { return get<Array>(Kind::array); }
  Array& as_array() { return const_cast<Array&>(std::as_const(*this).as_array()); }
  const Object& as_object() const { return get<Object>(Kind::object); }
  Object& as_object() { return const_cast<Object&>(std::as_const(*this).as_object()); }

  // Object member by key, or nullptr when absent.
  const Value* find(std::string_view key) const {
    for (const auto& [k, v] : as_object())
      if (k == key) return &v;
    return nullptr;
  }
  const Value& at(std::string_view key) const {
    const Value* v = find(key);
    ELECTRA_CHECK(v, io_error, "JSON object has no member '", key, "'");
    return *v;
  }
  // Replaces an existing member or appends a new one (keeping insertion order).
  Value& set(std::string_view key, Value v) {
    Object& o = as_object();
    for (auto& [k, old] : o)
      if (k == key) return old = std::move(v);
    o.emplace_back(std::string(key), std::move(v));
    return o.back().second;
  }

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

  // Compact text when indent < 0, otherwise pretty-printed with `indent` spaces per level.
  std::string dump(int indent = -1) const {
    std::string out;
    write(out, indent, 0);
    return out;
  }

 private:
  template <class T>
  const T& get(Kind want) const {
    ELECTRA_CHECK(kind() == want, io_error, "expected a JSON ", kind_name(want), ", got a JSON ",
                  kind_name(kind()));
    return std::get<T>(v_);
  }
  void write(std::string& out, int indent, int level) const;

  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> v_;
};

namespace detail {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if it is malformed
// (overlong forms, UTF-16 surrogates and code points above U+10FFFF are malformed).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return k < s.size() ? std::uint8_t(s[k]) : 0u; };
  const unsigned c = b(i);
  const auto cont = [&](std::size_t k) { return (b(k) & 0xC0u) == 0x80u; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return b(i + 1) >= lo && b(i + 1) <= hi && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return b(i + 1) >= lo && b(i + 1) <= hi && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

}  // namespace detail

inline bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0, n = 0; i < s.size(); i += n)
    if (!(n = detail::utf8_sequence_length(s, i))) return false;
  return true;
}

namespace detail {

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

inline void write_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence_length(s, i);
    ELECTRA_CHECK(n, value_error, "cannot write JSON: string has invalid UTF-8 at byte ", i);
    const unsigned char c = std::uint8_t(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      static constexpr char short_esc[] = "btn\0fr";  // by c - 8: \b \t \n, no \v in JSON, \f \r
      if (c >= 8 && c <= 13 && c != 11) {
        out += '\\';
        out += short_esc[c - 8];
      } else {
        static constexpr char hex[] = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '"';
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view context, int max_depth)
      : s_(text), context_(context), max_depth_(max_depth) {}

  Value parse_document() {
    Value v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("end of input after the top-level value");
    return v;
  }

 private:
  [[noreturn]] void fail(std::string_view expected, std::size_t at) const {
    throw io_error(::electra::detail::concat(context_, ": invalid JSON at byte ", at, ": expected ", expected));
  }
  [[noreturn]] void fail(std::string_view expected) const { fail(expected, pos_); }

  bool at_end() const { return pos_ >= s_.size(); }
  // '\0' at the end never matches a structural character, so callers need no bounds test.
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void skip_ws() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c, std::string_view what) {
    if (peek() != c) fail(what);
    ++pos_;
  }

  Value parse_value(int depth) {
    skip_ws();
    if (at_end()) fail("a value");
    switch (s_[pos_]) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Value(parse_string());
      case 't': return literal("true", Value(true));
      case 'f': return literal("false", Value(false));
      case 'n': return literal("null", Value());
      default: return parse_number();
    }
  }

  Value literal(std::string_view word, Value v) {
    if (s_.substr(pos_, word.size()) != word) fail(std::string("'") + std::string(word) + "'");
    pos_ += word.size();
    return v;
  }

  void enter(int depth) {
    if (depth > max_depth_)
      fail(::electra::detail::concat("at most ", max_depth_, " levels of nesting"));
  }

  Value parse_array(int depth) {
    enter(depth);
    ++pos_;
    Array a;
    skip_ws();
    if (peek() == ']') return ++pos_, Value(std::move(a));
    for (;;) {
      a.push_back(parse_value(depth));
      skip_ws();
      if (peek() == ']') return ++pos_, Value(std::move(a));
      expect(',', "',' or ']' in an array");
    }
  }

  Value parse_object(int depth) {
    enter(depth);
    ++pos_;
    Object o;
    std::vector<std::size_t> key_at;
    skip_ws();
    if (peek() == '}') return ++pos_, Value(std::move(o));
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("a string key in an object");
      key_at.push_back(pos_);
      std::string key = parse_string();
      skip_ws();
      expect(':', "':' after an object key");
      o.emplace_back(std::move(key), parse_value(depth));
      skip_ws();
      if (peek() == '}') break;
      expect(',', "',' or '}' in an object");
    }
    ++pos_;
    // Sorting indices keeps duplicate detection O(n log n) even for hostile headers.
    std::vector<std::size_t> idx(o.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      return o[a].first != o[b].first ? o[a].first < o[b].first : a < b;
    });
    for (std::size_t i = 1; i < idx.size(); ++i)
      if (o[idx[i]].first == o[idx[i - 1]].first)
        fail("unique keys, but '" + o[idx[i]].first.substr(0, 64) + "' is repeated", key_at[idx[i]]);
    return Value(std::move(o));
  }

  unsigned hex4() {
    unsigned v = 0;
    for (int k = 0; k < 4; ++k, ++pos_) {
      const char c = peek();
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("four hex digits after \\u");
      v = v * 16 + unsigned(d);
    }
    return v;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("'\"' to close the string");
      const unsigned char c = std::uint8_t(s_[pos_]);
      if (c == '"') return ++pos_, out;
      if (c < 0x20) fail("no raw control character in a string (escape it)");
      if (c >= 0x80) {
        const std::size_t n = utf8_sequence_length(s_, pos_);
        if (!n) fail("valid UTF-8");
        out.append(s_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += char(c);
        continue;
      }
      const std::size_t esc_at = pos_ - 1;
      if (at_end()) fail("an escape character after '\\'");
      switch (s_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("a high surrogate before low surrogate \\u" + std::string(s_.substr(pos_ - 4, 4)), esc_at);
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail("a low surrogate \\uDC00-\\uDFFF after a high surrogate", pos_);
            pos_ += 2;
            const std::uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("a low surrogate \\uDC00-\\uDFFF after a high surrogate", pos_ - 6);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("an escape character (one of \"\\/bfnrtu)", esc_at + 1);
      }
    }
  }

  Value parse_number() {
    const std::size_t start = pos_;
    const auto digits = [&] {
      const std::size_t d = pos_;
      while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d;
    };
    if (peek() == '-') ++pos_;
    const std::size_t int_at = pos_;
    const std::size_t n_int = digits();
    if (n_int == 0) fail(pos_ == start ? "a value" : "a digit after '-'");
    if (n_int > 1 && s_[int_at] == '0') fail("no leading zeros in a number", int_at);
    bool integral = true;
    if (peek() == '.') {
      ++pos_, integral = false;
      if (!digits()) fail("a digit after the decimal point");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_, integral = false;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digits()) fail("a digit in the exponent");
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integral) {
      std::int64_t i = 0;
      const auto r = std::from_chars(first, last, i);
      if (r.ec == std::errc() && r.ptr == last) return Value(i);
      // Too large for int64: keep it as the nearest double.
    }
    double d = 0;
    const auto r = std::from_chars(first, last, d);
    if (r.ec == std::errc::result_out_of_range && decimal_exponent(int_at, n_int) < 0)
      return Value(s_[start] == '-' ? -0.0 : 0.0);  // underflow: as close to the value as a double gets
    if (r.ec != std::errc() || r.ptr != last) fail("a number within the range of a double", start);
    return Value(d);
  }

  // Decimal exponent of the leading nonzero digit of the (validated) number whose integer
  // digits start at int_at; saturates instead of overflowing. Only its sign matters: it
  // tells underflow from overflow, which from_chars reports alike.
  long long decimal_exponent(std::size_t int_at, std::size_t n_int) const {
    long long e10 = 0;
    std::size_t i = int_at;
    if (s_[i] != '0') {
      e10 = (long long)n_int - 1;
    } else {
      ++i;  // a leading "0" integer part: look for the first nonzero fraction digit
      if (i < pos_ && s_[i] == '.') ++i;
      e10 = -1;
      while (i < pos_ && s_[i] == '0') --e10, ++i;
    }
    const std::size_t e_at = s_.substr(int_at, pos_ - int_at).find_first_of("eE");
    if (e_at != std::string_view::npos) {
      std::size_t k = int_at + e_at + 1;
      const bool neg = s_[k] == '-';
      if (s_[k] == '+' || s_[k] == '-') ++k;
      long long x = 0;
      for (; k < pos_; ++k) x = std::min(x * 10 + (s_[k] - '0'), 1000000000LL);
      e10 += neg ? -x : x;
    }
    return e10;
  }

  std::string_view s_;
  std::string_view context_;
  int max_depth_;
  std::size_t pos_ = 0;
};

}  // namespace detail

// Parses one JSON document; `context` (e.g. a file name) starts every error message.
inline Value parse(std::string_view text, std::string_view context = "JSON", int max_depth = 128) {
  return detail::Parser(text, context, max_depth).parse_document();
}

inline void Value::write(std::string& out, int indent, int level) const {
  const auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append(std::size_t(indent) * std::size_t(lvl), ' ');
  };
  switch (kind()) {
    case Kind::null: out += "null"; break;
    case Kind::boolean: out += as_bool() ? "true" : "false"; break;
    case Kind::integer: out += std::to_string(as_int()); break;
    case Kind::number: {
      const double d = std::get<double>(v_);
      ELECTRA_CHECK(std::isfinite(d), value_error, "cannot write JSON: ", d, " is not a finite number");
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest text that reads back exactly
      std::string_view text(buf, std::size_t(r.ptr - buf));
      out += text;
      // Keep it a double on re-reading: "2" would come back as an integer.
      if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
      break;
    }
    case Kind::string: detail::write_string(out, as_string()); break;
    case Kind::array: {
      const Array& a = as_array();
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        newline(level + 1);
        a[i].write(out, indent, level + 1);
      }
      if (!a.empty()) newline(level);
      out += ']';
      break;
    }
    case Kind::object: {
      const Object& o = as_object();
      out += '{';
      for (std::size_t i = 0; i < o.size(); ++i) {
        if (i) out += ',';
        newline(level + 1);
        detail::write_string(out, o[i].first);
        out += indent < 0 ? ":" : ": ";
        o[i].second.write(out, indent, level + 1);
      }
      if (!o.empty()) newline(level);
      out += '}';
      break;
    }
  }
}

}  // namespace electra::json
