// Reading and writing HuggingFace .safetensors files, the format pretrained ELECTRA
// checkpoints ship in.
//
// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the first
// byte after the header) plus an optional "__metadata__" object of strings, then the raw
// little-endian, row-major data.
//
// The reader loads the whole file into memory (no mmap: a file truncated underneath us must
// not turn into SIGBUS) and validates the header completely on open, following the rules of
// the reference Rust implementation: the tensors, sorted by offset, must tile the data
// section exactly (no overlap, no gap, nothing after the last one), and each tensor's byte
// count must equal numel × dtype size. After that every read is in bounds by construction.
// Dtypes the reader cannot convert are allowed in the file; reading one is an error.
//
// The writer emits names sorted bytewise, data in that same order with no gaps, and pads
// the header with spaces so the data section starts 8-byte aligned (as HuggingFace does).
#pragma once
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "atomic_file.hpp"
#include "json.hpp"

namespace electra::io {

// Headers above this size are rejected (the reference implementation's limit); it bounds
// the memory and time a hostile file can cost before any validation.
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct SafetensorsTensorInfo {
  std::string dtype;  // as spelled in the file: "F32", "BF16", ...
  Shape shape;
  std::uint64_t begin = 0, end = 0;  // byte range [begin, end) within the data section
};

// Bytes per element for the dtypes of the safetensors specification; 0 when unknown
// (sub-byte types such as F4 are treated as unknown: their size is not a whole byte).
inline std::size_t safetensors_dtype_size(std::string_view dtype) {
  static constexpr std::pair<std::string_view, std::size_t> table[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
      {"F32", 4},  {"I64", 8}, {"U64", 8}, {"F64", 8},     {"C64", 8}};
  for (const auto& [name, size] : table)
    if (name == dtype) return size;
  return 0;
}

namespace detail {

template <class U>
U load_le(const std::uint8_t* p) {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v |= U(p[i]) << (8 * i);
  return v;
}

// IEEE binary16 → binary32 bit pattern, exact for every input (subnormals, ±0, inf, NaN
// payloads): every half value is representable as a float.
inline std::uint32_t f16_to_f32_bits(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  if (exp == 0x1F) return sign | 0x7F800000u | (mant << 13);
  if (exp != 0) return sign | ((exp + 127 - 15) << 23) | (mant << 13);
  if (mant == 0) return sign;
  // Subnormal mant × 2^-24 becomes a normal float: move the leading 1 to the implicit bit.
  const std::uint32_t k = std::uint32_t(std::bit_width(mant)) - 1;  // leading bit, 0..9
  return sign | ((k + 127 - 24) << 23) | ((mant << (23 - k)) & 0x7FFFFFu);
}

// float bits → T. Widening to double keeps NaN payloads bit-for-bit (a cast would quiet
// a signalling NaN); every other float converts exactly.
template <class T>
T from_f32_bits(std::uint32_t b) {
  if constexpr (std::is_same_v<T, float>) {
    return std::bit_cast<float>(b);
  } else {
    if ((b & 0x7F800000u) == 0x7F800000u && (b & 0x7FFFFFu))
      return std::bit_cast<double>((std::uint64_t(b >> 31) << 63) | 0x7FF0000000000000ull |
                                   (std::uint64_t(b & 0x7FFFFFu) << 29));
    return double(std::bit_cast<float>(b));
  }
}

// double → float, rounding to nearest even; overflow gives ±inf explicitly (an out-of-range
// cast is undefined behaviour in C++) and NaN keeps the top of its payload.
inline float f64_to_f32(double d) {
  const std::uint64_t b = std::bit_cast<std::uint64_t>(d);
  if (d != d) {
    std::uint32_t mant = std::uint32_t((b >> 29) & 0x7FFFFFu);
    if (!mant) mant = 0x400000u;  // payload only in the dropped bits: stay a NaN
    return std::bit_cast<float>(std::uint32_t(b >> 63 << 31) | 0x7F800000u | mant);
  }
  // Halfway between FLT_MAX and 2^128: from here on, rounding goes to infinity.
  constexpr double kOverflow = 0x1.ffffffp127;
  if (d >= kOverflow) return std::numeric_limits<float>::infinity();
  if (d <= -kOverflow) return -std::numeric_limits<float>::infinity();
  return float(d);
}

template <class T>
T from_f64_bits(std::uint64_t b) {
  if constexpr (std::is_same_v<T, double>) return std::bit_cast<double>(b);
  else return f64_to_f32(std::bit_cast<double>(b));
}

}  // namespace detail

class SafetensorsFile {
 public:
  // Reads and validates the whole file; errors are io_error naming the file.
  explicit SafetensorsFile(const std::filesystem::path& path) : label_(path.string()) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
      const int err = errno;
      throw io_error(::electra::detail::concat("cannot open safetensors file '", label_, "': ",
                                               detail::errno_text(err)));
    }
    std::error_code ec;
    const auto expected = std::filesystem::file_size(path, ec);
    // One byte more than the expected size, so a file that grew meanwhile is read whole.
    std::size_t want = (ec ? 0 : std::size_t(expected)) + 1, have = 0;
    int err = 0;
    for (;;) {
      bytes_.resize(want);
      have += std::fread(bytes_.data() + have, 1, want - have, f);
      if (have < want) {
        if (std::ferror(f)) err = errno ? errno : EIO;
        break;
      }
      want += std::max<std::size_t>(want, std::size_t(1) << 16);
    }
    bytes_.resize(have);
    std::fclose(f);
    if (err)
      throw io_error(::electra::detail::concat("cannot read safetensors file '", label_, "': ",
                                               detail::errno_text(err)));
    parse();
  }

  // The same validation for a file image already in memory; `label` stands in for the
  // file name in error messages.
  static SafetensorsFile from_bytes(std::vector<std::uint8_t> bytes, std::string label = "<memory>") {
    return SafetensorsFile(std::move(bytes), std::move(label));
  }

  const std::string& label() const { return label_; }
  std::size_t size() const { return entries_.size(); }

  // Tensor names in the order the header lists them.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const Entry& e : entries_) out.push_back(e.name);
    return out;
  }
  bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }

  // Throws io_error for an unknown name or a rank above kMaxRank.
  SafetensorsTensorInfo info(std::string_view name) const {
    const Entry& e = entry(name);
    return {e.dtype, shape_of(e), e.begin, e.end};
  }

  // The tensor's raw little-endian bytes, for dtypes read() does not convert.
  std::span<const std::uint8_t> raw(std::string_view name) const {
    const Entry& e = entry(name);
    return {data() + e.begin, std::size_t(e.end - e.begin)};
  }

  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Converts F32, F16, BF16 and F64 to T. Every conversion is exact except F64 → float,
  // which rounds to nearest even.
  template <class T>
  Tensor<T> read(std::string_view name) const {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "read<T>: T must be float or double");
    const Entry& e = entry(name);
    if (e.dtype != "F32" && e.dtype != "F64" && e.dtype != "F16" && e.dtype != "BF16")
      fail(e.name, "dtype '", e.dtype, "' cannot be read as floating point (supported: F32, F16, BF16, F64)");
    Tensor<T> t(shape_of(e));
    const std::uint8_t* src = data() + e.begin;
    T* dst = t.data();
    const std::size_t n = std::size_t(t.numel());
    constexpr bool little = std::endian::native == std::endian::little;
    if (e.dtype == "F32") {
      if constexpr (little && std::is_same_v<T, float>) {
        if (n) std::memcpy(dst, src, n * 4);
      } else {
        for (std::size_t i = 0; i < n; ++i) dst[i] = detail::from_f32_bits<T>(detail::load_le<std::uint32_t>(src + 4 * i));
      }
    } else if (e.dtype == "F64") {
      if constexpr (little && std::is_same_v<T, double>) {
        if (n) std::memcpy(dst, src, n * 8);
      } else {
        for (std::size_t i = 0; i < n; ++i) dst[i] = detail::from_f64_bits<T>(detail::load_le<std::uint64_t>(src + 8 * i));
      }
    } else if (e.dtype == "F16") {
      for (std::size_t i = 0; i < n; ++i)
        dst[i] = detail::from_f32_bits<T>(detail::f16_to_f32_bits(detail::load_le<std::uint16_t>(src + 2 * i)));
    } else {  // BF16 is the top half of an F32
      for (std::size_t i = 0; i < n; ++i)
        dst[i] = detail::from_f32_bits<T>(std::uint32_t(detail::load_le<std::uint16_t>(src + 2 * i)) << 16);
    }
    return t;
  }

 private:
  struct Entry {
    std::string name, dtype;
    std::vector<std::uint64_t> dims;
    std::uint64_t begin = 0, end = 0;
  };

  SafetensorsFile(std::vector<std::uint8_t> bytes, std::string label)
      : label_(std::move(label)), bytes_(std::move(bytes)) {
    parse();
  }

  template <class... Parts>
  [[noreturn]] void fail_file(Parts&&... parts) const {
    throw io_error(::electra::detail::concat("safetensors file '", label_, "': ", std::forward<Parts>(parts)...));
  }
  template <class... Parts>
  [[noreturn]] void fail(std::string_view tensor, Parts&&... parts) const {
    fail_file("tensor '", tensor, "': ", std::forward<Parts>(parts)...);
  }

  const std::uint8_t* data() const { return bytes_.data() + data_start_; }

  const Entry& entry(std::string_view name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) fail_file("no tensor named '", name, "'");
    return entries_[it->second];
  }

  Shape shape_of(const Entry& e) const {
    if (e.dims.size() > std::size_t(kMaxRank))
      fail(e.name, "rank ", e.dims.size(), " exceeds electra's maximum rank ", kMaxRank);
    Shape s;
    for (std::uint64_t d : e.dims) s.push_back(index_t(d));
    return s;
  }

  static std::string dims_text(const std::vector<std::uint64_t>& dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size() && i < 8; ++i) s += (i ? "," : "") + std::to_string(dims[i]);
    return s + (dims.size() > 8 ? ",...]" : "]");  // a hostile shape may be very long
  }

  // A non-negative JSON integer, or an error naming `what`.
  std::uint64_t non_negative(const json::Value& v, const std::string& tensor, const std::string& what) const {
    if (!v.is_int()) {
      std::string text = v.dump();
      if (text.size() > 40) text = text.substr(0, 40) + "...";  // a hostile value may be huge
      fail(tensor, what, " is a JSON ", json::kind_name(v.kind()), " (", text, "), expected a non-negative integer");
    }
    if (v.as_int() < 0) fail(tensor, what, " is negative (", v.as_int(), ")");
    return std::uint64_t(v.as_int());
  }

  const json::Value& member(const json::Value& obj, const std::string& tensor, const char* key, json::Kind kind) const {
    const json::Value* v = obj.find(key);
    if (!v) fail(tensor, "missing \"", key, "\"");
    if (v->kind() != kind) fail(tensor, "\"", key, "\" is a JSON ", json::kind_name(v->kind()), ", expected a JSON ", json::kind_name(kind));
    return *v;
  }

  void parse() {
    const std::uint64_t total = bytes_.size();
    if (total < 8) fail_file("file is ", total, " bytes long, shorter than the 8-byte header length field");
    const std::uint64_t n = detail::load_le<std::uint64_t>(bytes_.data());
    if (n > total - 8)
      fail_file("header length ", n, " exceeds the ", total - 8, " bytes that follow the length field");
    if (n > kSafetensorsMaxHeaderBytes)
      fail_file("header length ", n, " exceeds the limit of ", kSafetensorsMaxHeaderBytes, " bytes");
    data_start_ = 8 + std::size_t(n);
    const std::uint64_t data_size = total - data_start_;

    const std::string_view text(reinterpret_cast<const char*>(bytes_.data()) + 8, std::size_t(n));
    const json::Value root = json::parse(text, ::electra::detail::concat("safetensors file '", label_, "': header"));
    if (!root.is_object()) fail_file("header is a JSON ", json::kind_name(root.kind()), ", expected a JSON object");

    for (const auto& [key, v] : root.as_object()) {
      if (key == "__metadata__") {
        if (v.is_null()) continue;  // what serde reads as "no metadata"
        if (!v.is_object()) fail_file("\"__metadata__\" is a JSON ", json::kind_name(v.kind()), ", expected an object of strings");
        for (const auto& [mk, mv] : v.as_object()) {
          if (!mv.is_string())
            fail_file("\"__metadata__\" entry '", mk, "' is a JSON ", json::kind_name(mv.kind()), ", expected a string");
          metadata_.emplace(mk, mv.as_string());
        }
        continue;
      }
      if (!v.is_object()) fail(key, "entry is a JSON ", json::kind_name(v.kind()), ", expected an object with dtype, shape and data_offsets");
      // Unknown members are ignored, as the reference implementation does.
      Entry e;
      e.name = key;
      e.dtype = member(v, key, "dtype", json::Kind::string).as_string();
      const json::Array& shape = member(v, key, "shape", json::Kind::array).as_array();
      for (std::size_t i = 0; i < shape.size(); ++i)
        e.dims.push_back(non_negative(shape[i], key, "shape extent " + std::to_string(i)));
      const json::Array& offs = member(v, key, "data_offsets", json::Kind::array).as_array();
      if (offs.size() != 2) fail(key, "\"data_offsets\" has ", offs.size(), " elements, expected [begin, end]");
      e.begin = non_negative(offs[0], key, "data_offsets begin");
      e.end = non_negative(offs[1], key, "data_offsets end");
      if (e.begin > e.end) fail(key, "data_offsets [", e.begin, ", ", e.end, "] has begin after end");
      if (e.end > data_size)
        fail(key, "data_offsets [", e.begin, ", ", e.end, "] ends beyond the data section of ", data_size, " bytes");
      std::uint64_t numel = 1;
      for (std::uint64_t d : e.dims) {
        if (d && numel > std::uint64_t(std::numeric_limits<index_t>::max()) / d)
          fail(key, "shape ", dims_text(e.dims), " has too many elements");
        numel *= d;
      }
      if (const std::uint64_t size = safetensors_dtype_size(e.dtype); size) {
        const bool overflow = numel > std::numeric_limits<std::uint64_t>::max() / size;
        if (overflow || numel * size != e.end - e.begin)
          fail(key, "shape ", dims_text(e.dims), " of dtype ", e.dtype, " needs ",
               overflow ? "more than 2^64" : std::to_string(numel * size), " bytes, but data_offsets [", e.begin,
               ", ", e.end, "] span ", e.end - e.begin);
      }
      index_.emplace(key, entries_.size());
      entries_.push_back(std::move(e));
    }

    // The tensors, in offset order, must tile the data section exactly.
    std::vector<const Entry*> order;
    for (const Entry& e : entries_) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    std::uint64_t covered = 0;
    const Entry* prev = nullptr;
    for (const Entry* e : order) {
      if (e->begin < covered)
        fail(e->name, "data_offsets [", e->begin, ", ", e->end, "] overlap tensor '", prev->name, "' at [",
             prev->begin, ", ", prev->end, ")");
      if (e->begin > covered)
        fail(e->name, "gap: bytes [", covered, ", ", e->begin,
             ") of the data section before this tensor belong to no tensor");
      covered = e->end;
      prev = e;
    }
    if (covered != data_size)
      fail_file("gap: bytes [", covered, ", ", data_size, ") at the end of the data section belong to no tensor");
  }

  std::string label_;
  std::vector<std::uint8_t> bytes_;
  std::size_t data_start_ = 0;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// How a Tensor<double> is stored.
enum class StoreAs { F64, F32 };

// Collects named tensors and writes them as one safetensors file. Contiguous tensors are
// referenced, not copied (a checkpoint of a large model should not double its memory), so
// write() and bytes() see their values at that moment; non-contiguous views are copied by add().
class SafetensorsWriter {
 public:
  SafetensorsWriter& add(std::string name, const Tensor<float>& t) {
    return insert(std::move(name), Item{t.contiguous(), {}, false});
  }
  SafetensorsWriter& add(std::string name, const Tensor<double>& t, StoreAs as = StoreAs::F64) {
    return insert(std::move(name), Item{{}, t.contiguous(), as == StoreAs::F32});
  }
  SafetensorsWriter& set_metadata(std::string key, std::string value) {
    ELECTRA_CHECK(json::is_valid_utf8(key) && json::is_valid_utf8(value), value_error,
                  "safetensors: metadata '", key, "' is not valid UTF-8");
    metadata_[std::move(key)] = std::move(value);
    return *this;
  }
  std::size_t size() const { return items_.size(); }

  // The complete file image.
  std::vector<std::uint8_t> bytes() const {
    std::vector<std::uint8_t> out;
    stream([&](const void* p, std::size_t n) {
      const auto* b = static_cast<const std::uint8_t*>(p);
      out.insert(out.end(), b, b + n);
    });
    return out;
  }

  // Writes atomically: the target is either replaced whole or left as it was.
  void write(const std::filesystem::path& path) const {
    write_file_atomically(path, [&](const ByteSink& sink) { stream(sink); });
  }

 private:
  struct Item {
    Tensor<float> f;
    Tensor<double> d;
    bool double_as_f32 = false;
    bool is_double() const { return d.defined(); }
    index_t numel() const { return is_double() ? d.numel() : f.numel(); }
    const Shape& shape() const { return is_double() ? d.shape() : f.shape(); }
    const char* dtype() const { return is_double() && !double_as_f32 ? "F64" : "F32"; }
    std::uint64_t nbytes() const { return std::uint64_t(numel()) * (is_double() && !double_as_f32 ? 8 : 4); }
  };

  SafetensorsWriter& insert(std::string name, Item item) {
    ELECTRA_CHECK(name != "__metadata__", value_error, "safetensors: '__metadata__' is reserved and cannot name a tensor");
    ELECTRA_CHECK(json::is_valid_utf8(name), value_error, "safetensors: tensor name is not valid UTF-8");
    ELECTRA_CHECK(!items_.count(name), value_error, "safetensors: duplicate tensor name '", name, "'");
    items_.emplace(std::move(name), std::move(item));
    return *this;
  }

  std::string header() const {
    json::Value root{json::Object{}};
    if (!metadata_.empty()) {
      json::Value meta{json::Object{}};
      for (const auto& [k, v] : metadata_) meta.set(k, v);
      root.set("__metadata__", std::move(meta));
    }
    std::uint64_t offset = 0;
    for (const auto& [name, item] : items_) {
      json::Array shape;
      for (index_t d : item.shape()) shape.emplace_back(d);
      json::Value info{json::Object{}};
      info.set("dtype", item.dtype());
      info.set("shape", std::move(shape));
      info.set("data_offsets", json::Array{json::Value(offset), json::Value(offset + item.nbytes())});
      root.as_object().emplace_back(name, std::move(info));  // names are unique already
      offset += item.nbytes();
    }
    std::string text = root.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // so the data starts 8-byte aligned
    return text;
  }

  void stream(const ByteSink& sink) const {
    const std::string text = header();
    std::uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = std::uint8_t(std::uint64_t(text.size()) >> (8 * i));
    sink(len, 8);
    sink(text.data(), text.size());
    for (const auto& [name, item] : items_) {
      const std::size_t n = std::size_t(item.numel());
      if (!item.is_double()) {
        put_le(sink, item.f.data(), n, [](float x) { return std::bit_cast<std::uint32_t>(x); });
      } else if (item.double_as_f32) {
        put_le(sink, item.d.data(), n, [](double x) { return std::bit_cast<std::uint32_t>(detail::f64_to_f32(x)); });
      } else {
        put_le(sink, item.d.data(), n, [](double x) { return std::bit_cast<std::uint64_t>(x); });
      }
    }
  }

  // Emits n values as little-endian words from bits(x), in bounded chunks so a large
  // tensor does not need a second full-size copy.
  template <class T, class Bits>
  static void put_le(const ByteSink& sink, const T* src, std::size_t n, Bits bits) {
    using U = decltype(bits(T{}));
    if constexpr (std::endian::native == std::endian::little && sizeof(U) == sizeof(T)) {
      if (n) sink(src, n * sizeof(T));
    } else {
      constexpr std::size_t kChunk = 16384;
      std::vector<std::uint8_t> buf(kChunk * sizeof(U));
      for (std::size_t i = 0; i < n; i += kChunk) {
        const std::size_t m = std::min(kChunk, n - i);
        for (std::size_t j = 0; j < m; ++j) {
          const U u = bits(src[i + j]);
          for (std::size_t k = 0; k < sizeof(U); ++k) buf[j * sizeof(U) + k] = std::uint8_t(u >> (8 * k));
        }
        sink(buf.data(), m * sizeof(U));
      }
    }
  }

  std::map<std::string, Item> items_;  // std::string orders bytewise, i.e. by code point
  std::map<std::string, std::string> metadata_;
};

// Writes float tensors as F32, atomically.
inline void write_safetensors(const std::filesystem::path& path,
                              const std::vector<std::pair<std::string, Tensor<float>>>& entries,
                              const std::map<std::string, std::string>& metadata = {}) {
  SafetensorsWriter w;
  for (const auto& [name, t] : entries) w.add(name, t);
  for (const auto& [k, v] : metadata) w.set_metadata(k, v);
  w.write(path);
}

}  // namespace electra::io
