// Binary shards of pretraining examples: written once (atomically), memory-mapped for
// reading, validated completely on open so training never trips over a bad file mid-run.
//
// Layout, little-endian, N examples holding M token ids in all:
//   off  size  field
//     0    12  magic "ELECTRA\0SHRD"
//    12     4  u32 format version (1)
//    16     4  u32 max_seq_len          every example has 2 <= length <= max_seq_len
//    20     4  u32 token width          2 (u16 ids) when vocab_size <= 65536, else 4 (u32)
//    24     4  u32 vocab_size           every id < vocab_size
//    28     4  u32 reserved (0)
//    32     8  u64 vocab hash           vocab_hash(): FNV-1a 64 over "token\n" for every token
//    40     8  u64 N
//    48     8  u64 M
//    56  8N+8  u64 offsets[N+1]         example i is ids[offsets[i], offsets[i+1]); 0 .. M
//     …  w·M   ids                      8-aligned, so the mapped u16/u32 reads are aligned
//     …    2N  u16 segment_a_len[N]     |[CLS] A [SEP]|; ids at and after it have type 1
//     …     8  u64 FNV-1a 64 of every byte before it
#pragma once
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../text/vocab.hpp"

namespace electra::data {

static_assert(std::endian::native == std::endian::little, "shards are read by mapping little-endian bytes");

inline constexpr char kShardMagic[12] = {'E', 'L', 'E', 'C', 'T', 'R', 'A', '\0', 'S', 'H', 'R', 'D'};
inline constexpr std::uint32_t kShardVersion = 1;
inline constexpr std::size_t kShardHeaderBytes = 56;

inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull, kFnvPrime = 0x100000001b3ull;
inline std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

// Equals FNV-1a 64 of the vocab.txt bytes when the file uses '\n' line ends.
inline std::uint64_t vocab_hash(const text::Vocab& vocab) {
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    const std::string& t = vocab.token(std::int32_t(i));
    h = fnv1a("\n", 1, fnv1a(t.data(), t.size(), h));
  }
  return h;
}

inline std::string hex64(std::uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Shards of one prepared directory are shard-00000.bin, shard-00001.bin, … without gaps.
inline std::string shard_file_name(std::size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%05zu.bin", index);
  return buf;
}

// One example inside a mapped shard; valid while the ShardReader lives.
struct ExampleView {
  const unsigned char* tokens;
  std::uint32_t width;
  std::size_t n;
  std::int32_t segment_a_len;
  std::size_t ids_size() const { return n; }
  std::int32_t id(std::size_t t) const {
    return width == 2 ? std::int32_t(reinterpret_cast<const std::uint16_t*>(tokens)[t])
                      : std::int32_t(reinterpret_cast<const std::uint32_t*>(tokens)[t]);
  }
  std::vector<std::int32_t> ids() const {
    std::vector<std::int32_t> v(n);
    for (std::size_t t = 0; t < n; ++t) v[t] = id(t);
    return v;
  }
};

class ShardWriter {
 public:
  ShardWriter(std::filesystem::path path, int max_seq_len, std::size_t vocab_size, std::uint64_t vocab_hash)
      : path_(std::move(path)), max_seq_len_(max_seq_len), vocab_size_(vocab_size), hash_(vocab_hash),
        width_(vocab_size <= 65536 ? 2 : 4) {
    ELECTRA_CHECK(max_seq_len >= 2 && max_seq_len <= 65535, value_error, "shard '", path_.string(),
                  "': max_seq_len must be in [2, 65535], got ", max_seq_len);
    ELECTRA_CHECK(vocab_size >= 1 && vocab_size <= 0xFFFFFFFFull, value_error, "shard '", path_.string(),
                  "': vocab_size ", vocab_size, " out of range");
    offsets_.push_back(0);
  }

  void add(std::span<const std::int32_t> ids, std::int32_t segment_a_len) {
    ELECTRA_CHECK(ids.size() >= 2 && ids.size() <= std::size_t(max_seq_len_), value_error, "shard '",
                  path_.string(), "': example of ", ids.size(), " tokens (max_seq_len ", max_seq_len_, ")");
    ELECTRA_CHECK(segment_a_len >= 2 && std::size_t(segment_a_len) <= ids.size(), value_error, "shard '",
                  path_.string(), "': segment_a_len ", segment_a_len, " for an example of ", ids.size());
    for (const std::int32_t id : ids) {
      ELECTRA_CHECK(id >= 0 && std::size_t(id) < vocab_size_, value_error, "shard '", path_.string(),
                    "': token id ", id, " outside the vocabulary of ", vocab_size_);
      const std::uint32_t v = std::uint32_t(id);
      const auto* b = reinterpret_cast<const unsigned char*>(&v);
      tokens_.insert(tokens_.end(), b, b + width_);  // little-endian: the low bytes first
    }
    offsets_.push_back(offsets_.back() + ids.size());
    segments_.push_back(std::uint16_t(segment_a_len));
  }

  std::size_t size() const { return segments_.size(); }
  std::uint64_t token_count() const { return offsets_.back(); }
  // Bytes finish() writes.
  std::uint64_t file_bytes() const {
    return kShardHeaderBytes + 8 * offsets_.size() + tokens_.size() + 2 * segments_.size() + 8;
  }

  void finish() {
    io::write_file_atomically(path_, [&](const io::ByteSink& sink) {
      std::uint64_t h = kFnvOffset;
      const auto put = [&](const void* p, std::size_t n) {
        h = fnv1a(p, n, h);
        sink(p, n);
      };
      unsigned char header[kShardHeaderBytes] = {};
      std::memcpy(header, kShardMagic, 12);
      const std::uint32_t u32s[5] = {kShardVersion, std::uint32_t(max_seq_len_), width_,
                                     std::uint32_t(vocab_size_), 0};
      std::memcpy(header + 12, u32s, sizeof u32s);
      const std::uint64_t u64s[3] = {hash_, segments_.size(), offsets_.back()};
      std::memcpy(header + 32, u64s, sizeof u64s);
      put(header, sizeof header);
      put(offsets_.data(), 8 * offsets_.size());
      put(tokens_.data(), tokens_.size());
      put(segments_.data(), 2 * segments_.size());
      sink(&h, 8);
    });
  }

 private:
  std::filesystem::path path_;
  int max_seq_len_;
  std::size_t vocab_size_;
  std::uint64_t hash_;
  std::uint32_t width_;
  std::vector<std::uint64_t> offsets_;
  std::vector<unsigned char> tokens_;
  std::vector<std::uint16_t> segments_;
};

class ShardReader {
 public:
  explicit ShardReader(const std::filesystem::path& path) : path_(path.string()) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ELECTRA_CHECK(fd >= 0, io_error, "shard '", path_, "': cannot open: ", io::detail::errno_text(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0) size_ = std::size_t(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) base_ = static_cast<const unsigned char*>(p);
    }
    const int err = errno;
    ::close(fd);
    ELECTRA_CHECK(size_ == 0 || base_, io_error, "shard '", path_, "': cannot map: ", io::detail::errno_text(err));
    try {
      validate();
    } catch (...) {
      if (base_) ::munmap(const_cast<unsigned char*>(base_), size_);  // no destructor runs
      throw;
    }
  }
  ShardReader(ShardReader&& o) noexcept { *this = std::move(o); }
  ShardReader& operator=(ShardReader&& o) noexcept {
    std::swap(path_, o.path_), std::swap(base_, o.base_), std::swap(size_, o.size_);
    std::swap(n_, o.n_), std::swap(width_, o.width_), std::swap(max_seq_len_, o.max_seq_len_);
    std::swap(vocab_size_, o.vocab_size_), std::swap(hash_, o.hash_);
    std::swap(offsets_, o.offsets_), std::swap(tokens_, o.tokens_), std::swap(segments_, o.segments_);
    return *this;
  }
  ~ShardReader() {
    if (base_) ::munmap(const_cast<unsigned char*>(base_), size_);
  }

  std::size_t size() const { return n_; }
  int max_seq_len() const { return int(max_seq_len_); }
  std::uint64_t vocab_hash() const { return hash_; }
  std::size_t vocab_size() const { return vocab_size_; }
  std::uint64_t token_count() const { return offsets_[n_]; }
  const std::string& path() const { return path_; }

  ExampleView example(std::size_t i) const {
    ELECTRA_CHECK(i < n_, index_error, "shard '", path_, "': example ", i, " of ", n_);
    return {tokens_ + offsets_[i] * width_, width_, std::size_t(offsets_[i + 1] - offsets_[i]),
            std::int32_t(segments_[i])};
  }

  // What a training run requires of every shard.
  void expect(std::uint64_t vocab_hash, int max_seq_len) const {
    ELECTRA_CHECK(hash_ == vocab_hash, io_error, "shard '", path_, "' was built with a different vocabulary (hash ",
                  hex64(hash_), " vs ", hex64(vocab_hash), " expected)");
    ELECTRA_CHECK(int(max_seq_len_) == max_seq_len, io_error, "shard '", path_, "' was built for max_seq_len ",
                  max_seq_len_, ", not ", max_seq_len);
  }

 private:
  template <class... P>
  [[noreturn]] void fail(P&&... parts) const {
    throw io_error(::electra::detail::concat("shard '", path_, "': ", std::forward<P>(parts)...));
  }
  template <class T>
  T load(std::size_t off) const {
    T v;
    std::memcpy(&v, base_ + off, sizeof v);
    return v;
  }

  void validate() {
    // Magic and version first: a foreign file should not be reported as "corrupt".
    if (size_ >= 12 && std::memcmp(base_, kShardMagic, 12) != 0) fail("not an electra shard (bad magic)");
    if (size_ < kShardHeaderBytes + 16) fail("truncated (only ", size_, " bytes)");
    if (const auto v = load<std::uint32_t>(12); v != kShardVersion)
      fail("unsupported format version ", v, " (this build reads ", kShardVersion, ")");
    if (fnv1a(base_, size_ - 8) != load<std::uint64_t>(size_ - 8)) fail("checksum mismatch (file corrupt or truncated)");
    // The rest can only fail for a file a buggy or foreign writer checksummed.
    max_seq_len_ = load<std::uint32_t>(16), width_ = load<std::uint32_t>(20), vocab_size_ = load<std::uint32_t>(24);
    hash_ = load<std::uint64_t>(32);
    const std::uint64_t n = load<std::uint64_t>(40), m = load<std::uint64_t>(48);
    if (width_ != 2 && width_ != 4) fail("token width ", width_, " is neither 2 nor 4");
    if (n > size_ / 8 || m > size_ / width_) fail("header counts (", n, " examples, ", m, " tokens) exceed the file");
    const std::uint64_t expect = kShardHeaderBytes + 8 * (n + 1) + width_ * m + 2 * n + 8;
    if (expect != size_) fail("file has ", size_, " bytes but its header describes ", expect);
    n_ = std::size_t(n);
    offsets_ = reinterpret_cast<const std::uint64_t*>(base_ + kShardHeaderBytes);
    tokens_ = base_ + kShardHeaderBytes + 8 * (n + 1);
    segments_ = reinterpret_cast<const std::uint16_t*>(tokens_ + width_ * m);
    if (offsets_[0] != 0 || offsets_[n] != m) fail("offsets do not span the ", m, " tokens");
    for (std::size_t i = 0; i < n_; ++i) {
      if (offsets_[i + 1] < offsets_[i] || offsets_[i + 1] > m) fail("offset ", i + 1, " out of range");
      const std::uint64_t len = offsets_[i + 1] - offsets_[i];
      if (len < 2 || len > max_seq_len_) fail("example ", i, " has ", len, " tokens (max_seq_len ", max_seq_len_, ")");
      if (segments_[i] < 2 || segments_[i] > len) fail("example ", i, ": segment length ", segments_[i], " of ", len);
    }
    for (std::uint64_t t = 0; t < m; ++t) {
      const std::uint32_t id = width_ == 2 ? reinterpret_cast<const std::uint16_t*>(tokens_)[t]
                                           : reinterpret_cast<const std::uint32_t*>(tokens_)[t];
      if (id >= vocab_size_) fail("token id ", id, " outside the vocabulary of ", vocab_size_);
    }
  }

  std::string path_;
  const unsigned char* base_ = nullptr;
  std::size_t size_ = 0, n_ = 0;
  std::uint32_t width_ = 2, max_seq_len_ = 0, vocab_size_ = 0;
  std::uint64_t hash_ = 0;
  const std::uint64_t* offsets_ = nullptr;
  const unsigned char* tokens_ = nullptr;
  const std::uint16_t* segments_ = nullptr;
};

}  // namespace electra::data
