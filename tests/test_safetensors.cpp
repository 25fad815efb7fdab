// safetensors reading and writing, the JSON module under it, atomic file replacement, and a
// fuzz test that feeds thousands of mutated files to the reader: any outcome other than
// success or electra::io_error (a crash, another exception, an out-of-bounds read under
// AddressSanitizer) is a bug.
#include <electra/io/atomic_file.hpp>
#include <electra/io/json.hpp>
#include <electra/io/safetensors.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace electra;
using electra::io::SafetensorsFile;
using electra::io::SafetensorsWriter;
using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

void put_file(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  REQUIRE(f.good());
}
Bytes get_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}
std::string text_of(const Bytes& b) { return std::string(b.begin(), b.end()); }

void append_le(Bytes& out, std::uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; ++i) out.push_back(std::uint8_t(v >> (8 * i)));
}

// A file image: length field, header text exactly as given (no padding), then data.
Bytes image(const std::string& header, const Bytes& data = {}) {
  Bytes out;
  append_le(out, header.size(), 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <class T>
bool bit_identical(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape()) return false;
  const auto va = a.to_vector(), vb = b.to_vector();
  return va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0;
}

// Opening `bytes` as a file must throw io_error whose message names the file and contains
// every fragment.
void check_open_fails(const Bytes& bytes, std::initializer_list<std::string> fragments) {
  TempDir dir;
  const fs::path p = dir / "broken.safetensors";
  put_file(p, bytes);
  std::string what;
  try {
    SafetensorsFile f(p);
    FAIL("opening succeeded, expected io_error containing: " << *fragments.begin());
  } catch (const io_error& e) {
    what = e.what();
  }
  CHECK_MESSAGE(what.find(p.string()) != std::string::npos, "message '" << what << "' lacks the file name");
  for (const auto& f : fragments) CHECK_MESSAGE(what.find(f) != std::string::npos, "message '" << what << "' lacks '" << f << "'");
}

std::string one_tensor(const std::string& entry) { return "{\"w\":" + entry + "}"; }

float f32(std::uint32_t bits) { return std::bit_cast<float>(bits); }
std::uint32_t bits32(float f) { return std::bit_cast<std::uint32_t>(f); }
std::uint64_t bits64(double d) { return std::bit_cast<std::uint64_t>(d); }

}  // namespace

// --------------------------------------------------------------------------- round trips

TEST_CASE("safetensors round-trips float tensors bit-exactly, including odd shapes, a scalar [] and empty tensors") {
  TempDir dir;
  auto a = test::random_tensor<float>({3, 5, 7}, 1);
  auto b = test::random_tensor<float>({1, 1, 1, 1, 1, 6}, 2);
  auto scalar = Tensor<float>::from(Shape{}, {42.5f});
  auto empty = Tensor<float>::zeros({0});
  auto empty2 = Tensor<float>::zeros({2, 0, 3});
  // Values that a lossy path would disturb: signed zero, extremes, subnormal, NaN payload.
  auto special = Tensor<float>::from({7}, {-0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                           std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                                           f32(0x7FC01234u), f32(0xFFA00001u)});
  SafetensorsWriter w;
  w.add("encoder.layer.0.weight", a).add("b", b).add("scalar", scalar).add("empty", empty).add("empty2", empty2).add("special", special);
  const fs::path p = dir / "model.safetensors";
  w.write(p);

  SafetensorsFile f(p);
  CHECK(f.size() == 6);
  CHECK(bit_identical(f.read<float>("encoder.layer.0.weight"), a));
  CHECK(bit_identical(f.read<float>("b"), b));
  CHECK(bit_identical(f.read<float>("scalar"), scalar));
  CHECK(f.read<float>("scalar").shape() == Shape{});
  CHECK(bit_identical(f.read<float>("empty"), empty));
  CHECK(bit_identical(f.read<float>("empty2"), empty2));
  CHECK(bit_identical(f.read<float>("special"), special));
  CHECK(f.info("special").dtype == "F32");
  CHECK(f.info("empty2").shape == Shape{2, 0, 3});
  CHECK(f.info("empty2").begin == f.info("empty2").end);

  // F32 read as double widens exactly, NaN payloads included.
  const auto sd = f.read<double>("special");
  for (index_t i = 0; i < 5; ++i) CHECK(bits64(sd.flat(i)) == bits64(double(special.flat(i))));
  CHECK(bits64(sd.flat(5)) == 0x7FF8024680000000ull);
  CHECK(bits64(sd.flat(6)) == 0xFFF4000020000000ull);
}

TEST_CASE("a Tensor<double> is stored as F64 by default, or rounded to nearest F32 on request") {
  TempDir dir;
  auto d = Tensor<double>::from({5}, {0.1, -1e300, 1e-320, 0x1.ffffffp127, 0x1.fffffefffffffp127});
  SafetensorsWriter w;
  w.add("f64", d).add("as_f32", d, io::StoreAs::F32);
  w.write(dir / "d.safetensors");
  SafetensorsFile f(dir / "d.safetensors");
  CHECK(f.info("f64").dtype == "F64");
  CHECK(f.info("as_f32").dtype == "F32");
  CHECK(bit_identical(f.read<double>("f64"), d));
  const auto r = f.read<float>("as_f32");
  CHECK(r.flat(0) == 0.1f);
  CHECK(r.flat(1) == -std::numeric_limits<float>::infinity());
  CHECK(r.flat(2) == 0.0f);
  CHECK(r.flat(3) == std::numeric_limits<float>::infinity());  // exactly halfway: ties to even = inf
  CHECK(r.flat(4) == std::numeric_limits<float>::max());
  // F64 read as float takes the same rounding.
  CHECK(bit_identical(f.read<float>("f64"), r));
}

TEST_CASE("non-contiguous views are written in row-major order") {
  auto t = Tensor<float>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  SafetensorsWriter w;
  w.add("t", t.transpose());
  const auto f = SafetensorsFile::from_bytes(w.bytes());
  CHECK(f.read<float>("t").to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(f.info("t").shape == Shape{3, 2});
}

TEST_CASE("write_safetensors(path, entries, metadata) writes float tensors as F32 with the metadata") {
  TempDir dir;
  const auto x = test::random_tensor<float>({4, 2}, 7);
  io::write_safetensors(dir / "m.safetensors", {{"x", x}, {"y", Tensor<float>::ones({3})}}, {{"format", "pt"}});
  SafetensorsFile f(dir / "m.safetensors");
  CHECK(f.names() == std::vector<std::string>{"x", "y"});
  CHECK(bit_identical(f.read<float>("x"), x));
  CHECK(f.metadata().at("format") == "pt");
}

// ------------------------------------------------------------------ F16 / BF16 decoding

TEST_CASE("F16 and BF16 tensors in a hand-built file convert exactly: 1.0, -2.5, 65504, subnormals, zero, infinity, NaN") {
  const std::vector<std::uint16_t> h = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x7C00, 0xFC00, 0x7D01};
  const std::vector<std::uint16_t> bf = {0x3F80, 0xC020, 0x7F7F, 0x0001, 0x8000, 0x7F80, 0xFF80, 0x7F81};
  Bytes data;
  for (auto v : h) append_le(data, v, 2);
  for (auto v : bf) append_le(data, v, 2);
  // 35 header bytes: the data starts at an odd offset, so reads must not assume alignment.
  const std::string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[10],\"data_offsets\":[0,20]},"
                             "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2,4],\"data_offsets\":[20,36]}}";
  const auto f = SafetensorsFile::from_bytes(image(header, data), "hand-built");
  CHECK(f.info("bf").shape == Shape{2, 4});

  const auto hf = f.read<float>("h").to_vector();
  CHECK(hf[0] == 1.0f);
  CHECK(hf[1] == -2.5f);
  CHECK(hf[2] == 65504.0f);
  CHECK(hf[3] == std::ldexp(1.0f, -24));          // smallest subnormal
  CHECK(hf[4] == std::ldexp(1023.0f, -24));       // largest subnormal
  CHECK(hf[5] == std::ldexp(1.0f, -14));          // smallest normal
  CHECK(bits32(hf[6]) == 0x80000000u);            // -0 keeps its sign
  CHECK(hf[7] == std::numeric_limits<float>::infinity());
  CHECK(hf[8] == -std::numeric_limits<float>::infinity());
  CHECK(bits32(hf[9]) == 0x7FA02000u);            // signalling NaN, payload kept
  const auto hd = f.read<double>("h").to_vector();
  for (int i = 0; i < 9; ++i) CHECK(bits64(hd[std::size_t(i)]) == bits64(double(hf[std::size_t(i)])));
  CHECK(bits64(hd[9]) == 0x7FF4040000000000ull);

  const auto bff = f.read<float>("bf").to_vector();
  CHECK(bff[0] == 1.0f);
  CHECK(bff[1] == -2.5f);
  CHECK(bff[2] == std::ldexp(255.0f, 127 - 7));  // largest finite BF16
  CHECK(bff[3] == std::ldexp(1.0f, -133));       // smallest subnormal BF16
  CHECK(bits32(bff[4]) == 0x80000000u);
  CHECK(bff[5] == std::numeric_limits<float>::infinity());
  CHECK(bff[6] == -std::numeric_limits<float>::infinity());
  CHECK(bits32(bff[7]) == 0x7F810000u);
  CHECK(bits64(f.read<double>("bf").flat(3)) == bits64(std::ldexp(1.0, -133)));
}

TEST_CASE("every one of the 65536 F16 bit patterns decodes to its exact value") {
  Bytes data;
  for (std::uint32_t v = 0; v < 65536; ++v) append_le(data, v, 2);
  const auto f = SafetensorsFile::from_bytes(image("{\"h\":{\"dtype\":\"F16\",\"shape\":[65536],\"data_offsets\":[0,131072]}}", data));
  const auto hf = f.read<float>("h");
  const auto hd = f.read<double>("h");
  int wrong = 0;
  for (std::uint32_t v = 0; v < 65536; ++v) {
    const int e = int(v >> 10 & 31), m = int(v & 1023);
    const double sign = v & 0x8000 ? -1.0 : 1.0;
    const float got = hf.flat(v);
    const double got_d = hd.flat(v);
    if (e == 31) {
      const bool ok = m == 0 ? got == float(sign * INFINITY) : (std::isnan(got) && (bits32(got) & 0x7FFFFF) == std::uint32_t(m) << 13);
      wrong += !ok || (m == 0 ? got_d != double(got) : (bits64(got_d) & 0xFFFFFFFFFFFFFull) != std::uint64_t(m) << 42);
    } else {
      const double want = sign * (e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25));
      wrong += double(got) != want || std::signbit(got) != bool(v & 0x8000) || got_d != want || std::signbit(got_d) != bool(v & 0x8000);
    }
  }
  CHECK(wrong == 0);
}

// --------------------------------------------------------------------------- layout

TEST_CASE("written files pad the header with spaces so the data starts 8-byte aligned") {
  for (int len = 1; len <= 17; ++len) {
    SafetensorsWriter w;
    w.add(std::string(std::size_t(len), 'n'), Tensor<float>::ones({len}));
    if (len % 3 == 0) w.add("d", Tensor<double>::ones({1}));
    if (len % 2 == 0) w.set_metadata("k", std::string(std::size_t(len), 'v'));
    const Bytes b = w.bytes();
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= std::uint64_t(b[std::size_t(i)]) << (8 * i);
    CHECK((8 + n) % 8 == 0);
    const std::string header(b.begin() + 8, b.begin() + 8 + std::ptrdiff_t(n));
    const std::size_t close = header.rfind('}');
    CHECK(header.front() == '{');
    CHECK(n - close - 1 < 8);
    CHECK(header.find_first_not_of(' ', close + 1) == std::string::npos);
    CHECK(SafetensorsFile::from_bytes(b).size() == w.size());
  }
}

TEST_CASE("written bytes match the layout HuggingFace produces: sorted compact header, space padding, raw data") {
  SafetensorsWriter w;
  w.add("attn0", Tensor<float>::from({1, 1, 2, 3}, {0, 1, 2, 3, 4, 5}));
  const std::string json = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}";
  Bytes want;
  append_le(want, 72, 8);
  want.insert(want.end(), json.begin(), json.end());
  want.insert(want.end(), 72 - json.size(), ' ');
  for (float v : {0.f, 1.f, 2.f, 3.f, 4.f, 5.f}) append_le(want, bits32(v), 4);
  CHECK(w.bytes() == want);

  // No tensors: "{}" padded to eight bytes; metadata comes first under "__metadata__".
  SafetensorsWriter none;
  CHECK(text_of(none.bytes()) == text_of(image("{}      ")));
  none.set_metadata("framework", "pt");
  CHECK(text_of(none.bytes()) == text_of(image("{\"__metadata__\":{\"framework\":\"pt\"}}     ")));

  // Names sorted bytewise, data in that order.
  SafetensorsWriter two;
  two.add("z", Tensor<float>::ones({1})).add("a", Tensor<double>::ones({1}));
  const auto f = SafetensorsFile::from_bytes(two.bytes());
  CHECK(f.names() == std::vector<std::string>{"a", "z"});
  CHECK(f.info("a").begin == 0);
  CHECK(f.info("z").begin == 8);
}

TEST_CASE("write() puts exactly bytes() on disk") {
  TempDir dir;
  SafetensorsWriter w;
  w.add("x", test::random_tensor<float>({3, 3}, 3)).add("y", test::random_tensor<double>({2}, 4), io::StoreAs::F32);
  w.write(dir / "w.safetensors");
  CHECK(get_file(dir / "w.safetensors") == w.bytes());
}

TEST_CASE("metadata round-trips, including escapes and non-ASCII text") {
  SafetensorsWriter w;
  w.set_metadata("format", "pt").set_metadata("note", "line1\n\"quoted\"\t\\ tab – ünïcødé 🎉").set_metadata("empty", "");
  w.add("t", Tensor<float>::zeros({1}));
  const auto f = SafetensorsFile::from_bytes(w.bytes());
  CHECK(f.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"note", "line1\n\"quoted\"\t\\ tab – ünïcødé 🎉"}, {"empty", ""}});
  CHECK(SafetensorsFile::from_bytes(image("{\"__metadata__\":null}")).metadata().empty());
}

TEST_CASE("a header may list tensors in any order, names() keeps the header order") {
  Bytes data;
  for (float v : {1.f, 2.f, 3.f}) append_le(data, bits32(v), 4);
  const auto f = SafetensorsFile::from_bytes(
      image("{\"second\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
            "\"first\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"extra\":[1]}}",
            data));
  CHECK(f.names() == std::vector<std::string>{"second", "first"});
  CHECK(f.contains("first"));
  CHECK_FALSE(f.contains("third"));
  CHECK(f.read<float>("first").item() == 1.f);
  CHECK(f.read<float>("second").to_vector() == std::vector<float>{2.f, 3.f});
}

TEST_CASE("unknown and integer dtypes may be stored, but reading them as floating point names the tensor and dtype") {
  TempDir dir;
  Bytes data;
  append_le(data, 7, 8);
  append_le(data, 9, 8);
  for (int i = 0; i < 3; ++i) data.push_back(std::uint8_t(i));
  append_le(data, bits32(1.5f), 4);
  put_file(dir / "mixed.safetensors",
           image("{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                 "\"q\":{\"dtype\":\"Q3_FANCY\",\"shape\":[5],\"data_offsets\":[16,19]},"
                 "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[19,23]}}",
                 data));
  SafetensorsFile f(dir / "mixed.safetensors");
  CHECK(f.read<float>("w").item() == 1.5f);
  CHECK(f.info("q").dtype == "Q3_FANCY");
  CHECK(f.raw("q").size() == 3);
  CHECK(f.raw("ids")[8] == 9);
  const std::string file = (dir / "mixed.safetensors").string();
  test::check_throws_with<io_error>([&] { f.read<float>("ids"); }, {file.c_str(), "tensor 'ids'", "dtype 'I64'"});
  test::check_throws_with<io_error>([&] { f.read<double>("q"); }, {file.c_str(), "tensor 'q'", "dtype 'Q3_FANCY'"});
  test::check_throws_with<io_error>([&] { f.info("nope"); }, {file.c_str(), "no tensor named 'nope'"});
  test::check_throws_with<io_error>([&] { f.read<float>("nope"); }, {file.c_str(), "no tensor named 'nope'"});
}

TEST_CASE("a tensor of rank above kMaxRank opens, but info and read report the rank clearly") {
  Bytes data;
  append_le(data, bits32(1.f), 4);
  const auto f = SafetensorsFile::from_bytes(
      image("{\"deep\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", data), "deep.safetensors");
  CHECK(f.names() == std::vector<std::string>{"deep"});
  test::check_throws_with<io_error>([&] { f.info("deep"); }, {"deep.safetensors", "tensor 'deep'", "rank 7", "maximum rank 6"});
  test::check_throws_with<io_error>([&] { f.read<float>("deep"); }, {"rank 7"});
}

TEST_CASE("the writer rejects duplicate names, the reserved __metadata__ name and invalid UTF-8") {
  SafetensorsWriter w;
  w.add("a", Tensor<float>::ones({1}));
  test::check_throws_with<value_error>([&] { w.add("a", Tensor<double>::ones({1})); }, {"duplicate", "'a'"});
  test::check_throws_with<value_error>([&] { w.add("__metadata__", Tensor<float>::ones({1})); }, {"reserved"});
  test::check_throws_with<value_error>([&] { w.add("bad\xff", Tensor<float>::ones({1})); }, {"UTF-8"});
  test::check_throws_with<value_error>([&] { w.set_metadata("k", "\xc0\x80"); }, {"UTF-8"});
  CHECK(w.size() == 1);
}

// ------------------------------------------------------------------------ validation

TEST_CASE("opening a missing file names it and the system's reason") {
  TempDir dir;
  const std::string p = (dir / "absent.safetensors").string();
  test::check_throws_with<io_error>([&] { SafetensorsFile f(p); }, {p.c_str(), "No such file"});
}

TEST_CASE("a file too short for the length field, or whose header length exceeds the file, is rejected with both numbers") {
  check_open_fails({}, {"0 bytes", "8-byte header length"});
  check_open_fails({1, 0, 0}, {"3 bytes", "8-byte header length"});
  Bytes b;
  append_le(b, 1000, 8);
  b.resize(28, ' ');
  check_open_fails(b, {"header length 1000", "the 20 bytes"});
  Bytes huge;
  append_le(huge, ~std::uint64_t(0), 8);
  check_open_fails(huge, {"header length 18446744073709551615", "the 0 bytes"});
}

TEST_CASE("a header that is not valid JSON reports the offset and what was expected") {
  check_open_fails(image("{\"w\": "), {"header", "invalid JSON at byte 6", "expected a value"});
  check_open_fails(image("{\"w\":{}} x"), {"invalid JSON at byte 9", "end of input"});
  check_open_fails(image("{\"\xff\":{}}"), {"invalid JSON at byte 2", "valid UTF-8"});
  check_open_fails(image("[1,2]"), {"header is a JSON array", "expected a JSON object"});
  check_open_fails(image("{\"w\":1,\"w\":2}"), {"invalid JSON at byte 7", "'w' is repeated"});
}

TEST_CASE("tensor entries with missing members or members of the wrong JSON type are rejected, naming the tensor") {
  const std::string ok_offsets = "\"data_offsets\":[0,0]";
  check_open_fails(image(one_tensor("[1]")), {"tensor 'w'", "entry is a JSON array", "expected an object"});
  check_open_fails(image(one_tensor("{\"shape\":[0]," + ok_offsets + "}")), {"tensor 'w'", "missing \"dtype\""});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\"," + ok_offsets + "}")), {"tensor 'w'", "missing \"shape\""});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[0]}")), {"tensor 'w'", "missing \"data_offsets\""});
  check_open_fails(image(one_tensor("{\"dtype\":32,\"shape\":[0]," + ok_offsets + "}")), {"\"dtype\" is a JSON integer", "expected a JSON string"});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":\"0\"," + ok_offsets + "}")), {"\"shape\" is a JSON string", "expected a JSON array"});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":{}}")), {"\"data_offsets\" is a JSON object"});
}

TEST_CASE("negative or non-integer shape extents are rejected") {
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}")), {"tensor 'w'", "shape extent 1 is negative (-1)"});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,0]}")), {"shape extent 0 is a JSON number (2.5)"});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,0]}")), {"shape extent 0 is a JSON number"});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,0]}")), {"shape extent 0 is a JSON null"});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,0]}")),
                   {"shape extent 0 is a JSON number"});
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}")),
                   {"tensor 'w'", "shape [4294967296,4294967296] has too many elements"});
}

TEST_CASE("data_offsets must be [begin, end] of non-negative integers with begin <= end inside the data section") {
  const std::string pre = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":";
  const Bytes four(4, 0);
  check_open_fails(image(one_tensor(pre + "[0]}"), four), {"tensor 'w'", "has 1 elements", "expected [begin, end]"});
  check_open_fails(image(one_tensor(pre + "[0,4,8]}"), four), {"has 3 elements"});
  check_open_fails(image(one_tensor(pre + "[\"0\",4]}"), four), {"data_offsets begin is a JSON string"});
  check_open_fails(image(one_tensor(pre + "[0,-4]}"), four), {"data_offsets end is negative (-4)"});
  check_open_fails(image(one_tensor(pre + "[4,0]}"), four), {"tensor 'w'", "data_offsets [4, 0] has begin after end"});
  check_open_fails(image(one_tensor(pre + "[0,8]}"), four), {"tensor 'w'", "data_offsets [0, 8] ends beyond the data section of 4 bytes"});
}

TEST_CASE("a byte range that differs from numel x dtype size is rejected") {
  check_open_fails(image(one_tensor("{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}"), Bytes(20, 0)),
                   {"tensor 'w'", "shape [2,3] of dtype F32 needs 24 bytes", "[0, 20] span 20"});
  check_open_fails(image(one_tensor("{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[0,4]}"), Bytes(4, 0)),
                   {"shape [] of dtype BF16 needs 2 bytes"});
}

TEST_CASE("overlapping tensors, gaps between them and bytes after the last one are rejected") {
  const auto two = [](int b0, int e0, int b1, int e1) {
    const auto entry = [](int b, int e) {
      return "{\"dtype\":\"U8\",\"shape\":[" + std::to_string(e - b) + "],\"data_offsets\":[" + std::to_string(b) + "," + std::to_string(e) + "]}";
    };
    return "{\"a\":" + entry(b0, e0) + ",\"b\":" + entry(b1, e1) + "}";
  };
  check_open_fails(image(two(0, 8, 4, 12), Bytes(12, 0)), {"tensor 'b'", "overlap tensor 'a' at [0, 8)"});
  check_open_fails(image(two(4, 12, 0, 8), Bytes(12, 0)), {"tensor 'a'", "overlap tensor 'b'"});
  check_open_fails(image(two(0, 8, 0, 8), Bytes(8, 0)), {"overlap"});
  check_open_fails(image(two(0, 4, 8, 12), Bytes(12, 0)), {"tensor 'b'", "gap: bytes [4, 8)"});
  check_open_fails(image(two(0, 4, 4, 8), Bytes(10, 0)), {"gap: bytes [8, 10) at the end of the data section"});
  check_open_fails(image("{}", Bytes(3, 0)), {"gap: bytes [0, 3)"});
  // An empty tensor may sit at any tensor boundary.
  CHECK(SafetensorsFile::from_bytes(image(two(0, 4, 4, 4), Bytes(4, 0))).size() == 2);
  CHECK(SafetensorsFile::from_bytes(image(two(0, 0, 0, 4), Bytes(4, 0))).size() == 2);
}

TEST_CASE("__metadata__ must map strings to strings") {
  check_open_fails(image("{\"__metadata__\":[\"a\"]}"), {"\"__metadata__\" is a JSON array", "expected an object of strings"});
  check_open_fails(image("{\"__metadata__\":{\"epoch\":3}}"), {"\"__metadata__\" entry 'epoch' is a JSON integer", "expected a string"});
}

// ---------------------------------------------------------------------------- JSON

TEST_CASE("JSON parses literals, integers as int64, other numbers as double, and nested containers") {
  const auto v = json::parse(R"( {"a": [1, -2, 3.5, -0.25e2, 1E3, 0, -0, 9223372036854775807, -9223372036854775808],
                                  "b": {"t": true, "f": false, "n": null, "e": {}, "ea": []}} )");
  const auto& a = v.at("a").as_array();
  REQUIRE(a.size() == 9);
  CHECK(a[0].as_int() == 1);
  CHECK(a[1].as_int() == -2);
  CHECK(a[2].as_double() == 3.5);
  CHECK_FALSE(a[2].is_int());
  CHECK(a[3].as_double() == -25.0);
  CHECK(a[4].kind() == json::Kind::number);
  CHECK(a[4].as_double() == 1000.0);
  CHECK(a[5].as_int() == 0);
  CHECK(a[7].as_int() == std::numeric_limits<std::int64_t>::max());
  CHECK(a[8].as_int() == std::numeric_limits<std::int64_t>::min());
  CHECK(json::parse("9223372036854775808").as_double() == 9223372036854775808.0);  // beyond int64: a double
  CHECK(json::parse("1e-400").as_double() == 0.0);  // underflow rounds to zero, overflow is an error
  CHECK(std::signbit(json::parse("-0.00012e-400").as_double()));
  CHECK(json::parse("4.9e-324").as_double() == std::numeric_limits<double>::denorm_min());
  const auto& b = v.at("b");
  CHECK(b.at("t").as_bool());
  CHECK_FALSE(b.at("f").as_bool());
  CHECK(b.at("n").is_null());
  CHECK(b.at("e").as_object().empty());
  CHECK(b.at("ea").as_array().empty());
  CHECK(b.find("missing") == nullptr);
  CHECK(json::parse("\"top\"").as_string() == "top");
}

TEST_CASE("JSON strings decode every escape, including \\u surrogate pairs, into UTF-8") {
  CHECK(json::parse(R"("\"\\\/\b\f\n\r\t")").as_string() == "\"\\/\b\f\n\r\t");
  CHECK(json::parse(R"("\u0041\u00e9\u20AC")").as_string() == "A\xC3\xA9\xE2\x82\xAC");
  CHECK(json::parse(R"("\ud83c\udf89")").as_string() == "\xF0\x9F\x8E\x89");  // U+1F389
  CHECK(json::parse(R"("\uDBFF\uDFFF")").as_string() == "\xF4\x8F\xBF\xBF");  // U+10FFFF
  CHECK(json::parse(R"("a\u0000b")").as_string() == std::string("a\0b", 3));
  CHECK(json::parse("\"raw \xE2\x82\xAC \xF0\x9F\x8E\x89\"").as_string() == "raw \xE2\x82\xAC \xF0\x9F\x8E\x89");
}

TEST_CASE("JSON errors give the caller's context, the byte offset and what was expected") {
  const auto bad = [](const char* text, std::initializer_list<const char*> frags) {
    test::check_throws_with<io_error>([&] { json::parse(text, "config.json"); }, frags);
  };
  bad("", {"config.json: invalid JSON at byte 0", "expected a value"});
  bad("  ", {"byte 2", "a value"});
  bad("[1,]", {"byte 3", "a value"});
  bad("[1 2]", {"byte 3", "',' or ']'"});
  bad("{\"a\" 1}", {"byte 5", "':'"});
  bad("{\"a\":1,}", {"byte 7", "string key"});
  bad("{1:2}", {"byte 1", "string key"});
  bad("{\"a\":1 \"b\":2}", {"byte 7", "',' or '}'"});
  bad("tru", {"byte 0", "'true'"});
  bad("nul", {"'null'"});
  bad("01", {"byte 0", "no leading zeros"});
  bad("-", {"byte 1", "a digit after '-'"});
  bad("1.", {"byte 2", "decimal point"});
  bad("1e", {"byte 2", "exponent"});
  bad("+1", {"byte 0", "a value"});
  bad("1e999", {"byte 0", "range of a double"});
  bad("\"abc", {"byte 4", "close the string"});
  bad("\"a\nb\"", {"byte 2", "control character"});
  bad("\"\\x\"", {"byte 2", "escape character"});
  bad("\"\\u12G4\"", {"byte 5", "four hex digits"});
  bad("\"\\ud800\"", {"byte 7", "low surrogate"});
  bad("\"\\ud800\\u0041\"", {"byte 7", "low surrogate"});
  bad("\"\\udc00\"", {"byte 1", "high surrogate"});
  bad("\"\xC0\xAF\"", {"byte 1", "valid UTF-8"});         // overlong '/'
  bad("\"\xED\xA0\x80\"", {"byte 1", "valid UTF-8"});     // encoded surrogate
  bad("\"\xF4\x90\x80\x80\"", {"byte 1", "valid UTF-8"}); // above U+10FFFF
  bad("\"\xE2\x82\"", {"byte 1", "valid UTF-8"});         // truncated sequence
  bad("{} {}", {"byte 3", "end of input"});
  bad("{\"k\":1,\"k\":2}", {"byte 7", "'k' is repeated"});
}

TEST_CASE("JSON nesting beyond the depth limit is an error, not a stack overflow") {
  const std::string ok = std::string(128, '[') + std::string(128, ']');
  CHECK(json::parse(ok).is_array());
  test::check_throws_with<io_error>([] { json::parse(std::string(129, '[') + std::string(129, ']')); }, {"byte 128", "128 levels"});
  test::check_throws_with<io_error>([] { json::parse(std::string(1000000, '[')); }, {"levels of nesting"});
  std::string objs;
  for (int i = 0; i < 200; ++i) objs += "{\"a\":";
  test::check_throws_with<io_error>([&] { json::parse(objs); }, {"levels of nesting"});
  test::check_throws_with<io_error>([] { json::parse("[[[1]]]", "small", 2); }, {"small", "byte 2", "2 levels"});
}

TEST_CASE("JSON writer escapes strings, keeps doubles distinct from integers and round-trips values") {
  json::Value v{json::Object{}};
  v.set("s", "q\"b\\n\n\x01 \xC3\xA9");
  v.set("i", -42);
  v.set("big", std::uint64_t(1) << 62);
  v.set("d", 2.0);
  v.set("eps", 1e-12);
  v.set("third", 1.0 / 3.0);
  v.set("list", json::Array{json::Value(true), json::Value(), json::Value("x")});
  const std::string text = v.dump();
  CHECK(text == "{\"s\":\"q\\\"b\\\\n\\n\\u0001 \xC3\xA9\",\"i\":-42,\"big\":4611686018427387904,\"d\":2.0,\"eps\":1e-12,"
                "\"third\":0.3333333333333333,\"list\":[true,null,\"x\"]}");
  CHECK(json::parse(text) == v);
  CHECK(json::parse(v.dump(2)) == v);
  CHECK(json::Value(json::Array{json::Value(1)}).dump(2) == "[\n  1\n]");
  test::check_throws_with<value_error>([] { json::Value(std::nan("")).dump(); }, {"not a finite number"});
  test::check_throws_with<value_error>([] { json::Value("\xff").dump(); }, {"invalid UTF-8"});
  test::check_throws_with<value_error>([] { json::Value(std::uint64_t(1) << 63); }, {"does not fit int64"});
}

TEST_CASE("JSON objects keep insertion order, set() replaces in place, and typed access names both kinds") {
  auto v = json::parse("{\"z\":1,\"a\":2,\"m\":3}");
  v.set("a", "two");
  v.set("new", 4);
  std::vector<std::string> keys;
  for (const auto& [k, _] : v.as_object()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"z", "a", "m", "new"});
  CHECK(v.at("a").as_string() == "two");
  CHECK(v.at("z").as_double() == 1.0);
  test::check_throws_with<io_error>([&] { v.at("a").as_int(); }, {"expected a JSON integer", "got a JSON string"});
  test::check_throws_with<io_error>([&] { v.at("nope"); }, {"no member 'nope'"});
  test::check_throws_with<io_error>([&] { v.as_array(); }, {"expected a JSON array", "got a JSON object"});
}

// ------------------------------------------------------------------------ atomic write

TEST_CASE("an atomic write replaces the target and leaves no temporary file behind") {
  TempDir dir;
  const fs::path p = dir / "out.bin";
  io::write_file_atomically(p, "first version");
  CHECK(text_of(get_file(p)) == "first version");
  io::write_file_atomically(p, [](const io::ByteSink& sink) {
    sink("second ", 7);
    sink("", 0);
    sink("version", 7);
  });
  CHECK(text_of(get_file(p)) == "second version");
  CHECK(dir.listing() == std::vector<std::string>{"out.bin"});
}

TEST_CASE("a failed atomic write throws io_error naming the path and the reason, and leaves the old file intact") {
  TempDir dir;
  const fs::path p = dir / "keep.safetensors";
  io::write_file_atomically(p, "old contents");

  SUBCASE("the directory does not exist") {
    const fs::path missing = dir / "no_such_dir" / "x.safetensors";
    const std::string name = missing.string();
    test::check_throws_with<io_error>([&] { io::write_file_atomically(missing, "data"); }, {name.c_str(), "No such file or directory"});
    SafetensorsWriter w;
    w.add("t", Tensor<float>::ones({2}));
    test::check_throws_with<io_error>([&] { w.write(missing); }, {name.c_str()});
  }
  SUBCASE("the writer callback throws: its exception propagates and the target is untouched") {
    CHECK_THROWS_WITH_AS(io::write_file_atomically(p, [](const io::ByteSink& sink) {
                           sink("partial", 7);
                           throw std::runtime_error("serializer failed");
                         }),
                         "serializer failed", std::runtime_error);
  }
  SUBCASE("the target is a directory, so the final rename fails") {
    fs::create_directory(dir / "adir");
    fs::create_directory(dir / "adir" / "child");
    const std::string name = (dir / "adir").string();
    test::check_throws_with<io_error>([&] { io::write_file_atomically(dir / "adir", "data"); }, {name.c_str(), "rename"});
  }
  CHECK(text_of(get_file(p)) == "old contents");
  for (const auto& n : dir.listing()) CHECK_MESSAGE(n.find(".tmp") == std::string::npos, "left behind: " << n);
}

// ------------------------------------------------------------------------------- fuzz

TEST_CASE("fuzz: thousands of mutated files either open and read completely or throw io_error, nothing else") {
  // A small valid image that exercises every reader path: several dtypes, a scalar, an
  // empty tensor, an unreadable dtype, metadata, an unpadded (unaligned) header.
  Bytes data;
  for (float v : {1.f, -2.f, 3.5f, 0.f, 1e-3f, 7.f}) append_le(data, bits32(v), 4);  // w  [0,24)
  for (std::uint32_t v : {0x3C00u, 0x0001u, 0x7C00u}) append_le(data, v, 2);           // h  [24,30)
  for (std::uint32_t v : {0x3F80u, 0xC020u}) append_le(data, v, 2);                   // bf [30,34)
  append_le(data, bits64(-0.5), 8);                                                 // d  [34,42)
  append_le(data, 5, 8);                                                            // ids [42,50)
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\",\"u\":\"\\u00e9\"},"
      "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[24,30]},"
      "\"bf\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[30,34]},"
      "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[34,42]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[42,42]},"
      "\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[42,50]}}";
  const Bytes base = image(header, data);
  REQUIRE(SafetensorsFile::from_bytes(base).size() == 6);

  TempDir dir;
  Rng rng(20240611);
  const auto below = [&](std::size_t n) { return std::size_t(rng.below(std::uint64_t(n))); };
  const std::string interesting = "{}[]\":,-.eE0123456789 \\u\xff\x80";
  int opened = 0, rejected = 0, read_ok = 0, read_rejected = 0;
  const int kIterations = 5000;
  for (int iter = 0; iter < kIterations; ++iter) {
    Bytes b = base;
    const int n_mut = 1 + int(below(3));
    for (int m = 0; m < n_mut && !b.empty(); ++m) {
      // Bias positions toward the header, where the parser lives.
      const std::size_t hdr_end = std::min(b.size(), 8 + header.size());
      const std::size_t pos = below(3) ? below(hdr_end) : below(b.size());
      switch (below(9)) {
        case 0: b[pos] ^= std::uint8_t(1u << below(8)); break;
        case 1: b[pos] = std::uint8_t(rng.next_u64()); break;
        case 2: b[pos] = std::uint8_t(interesting[below(interesting.size())]); break;
        case 3: b.resize(below(b.size() + 1)); break;
        case 4: {
          const std::size_t k = 1 + below(8);
          for (std::size_t i = 0; i < k; ++i) b.insert(b.begin() + std::ptrdiff_t(std::min(pos, b.size())), std::uint8_t(interesting[below(interesting.size())]));
          break;
        }
        case 5: b.erase(b.begin() + std::ptrdiff_t(pos), b.begin() + std::ptrdiff_t(std::min(b.size(), pos + 1 + below(8)))); break;
        case 6: {  // header length: small nudge, or anything at all
          if (b.size() < 8) break;
          std::uint64_t n = 0;
          for (int i = 0; i < 8; ++i) n |= std::uint64_t(b[std::size_t(i)]) << (8 * i);
          n = below(3) ? n + std::uint64_t(std::int64_t(below(33)) - 16) : rng.next_u64() >> (8 * below(8));
          for (int i = 0; i < 8; ++i) b[std::size_t(i)] = std::uint8_t(n >> (8 * i));
          break;
        }
        default: {  // change a digit in the header: keeps the JSON valid, breaks the layout
          std::vector<std::size_t> digits;
          for (std::size_t i = 8; i < hdr_end; ++i)
            if (b[i] >= '0' && b[i] <= '9') digits.push_back(i);
          if (digits.empty()) break;
          const std::size_t at = digits[below(digits.size())];
          if (below(4)) {
            b[at] = std::uint8_t('0' + below(10));
          } else {
            b.insert(b.begin() + std::ptrdiff_t(at), std::uint8_t('0' + below(10)));
            const std::uint64_t n = header.size() + 1;  // keep the length consistent with the insertion
            for (int i = 0; i < 8; ++i) b[std::size_t(i)] = std::uint8_t(n >> (8 * i));
          }
          break;
        }
      }
    }
    // A fresh name each time: truncating and rewriting one file makes ext4 flush it to disk.
    const fs::path p = dir / ("fuzz" + std::to_string(iter) + ".safetensors");
    put_file(p, b);
    try {
      SafetensorsFile f(p);
      ++opened;
      for (const auto& name : f.names()) {
        try {
          (void)f.info(name);
          (void)f.raw(name);
          const auto t = f.read<float>(name);
          const auto u = f.read<double>(name);
          CHECK(t.shape() == u.shape());
          ++read_ok;
        } catch (const io_error&) {
          ++read_rejected;
        }
      }
    } catch (const io_error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL("iteration " << iter << ": unexpected exception type: " << e.what());
    }
    fs::remove(p);
  }
  INFO("fuzz: " << opened << " opened, " << rejected << " rejected; tensor reads: " << read_ok << " ok, "
                   << read_rejected << " rejected");
  CHECK(opened + rejected == kIterations);
  // The mutations must reach both the accepting and the rejecting paths to mean anything.
  CHECK(opened > kIterations / 50);
  CHECK(rejected > kIterations / 2);
  CHECK(read_rejected > 0);
}
