// A read-only string -> id hash table for WordPiece lookups. WordPiece probes a word's
// prefixes from longest to shortest, so most lookups miss; std::unordered_map spends that
// time chasing nodes. Here all slots are one flat array holding each key's full hash, so
// a miss usually costs one cache line and no string compare, and keys live in one arena.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace electra::text {

class PieceTable {
 public:
  // Keys must be distinct (a Vocab guarantees that).
  void build(const std::vector<std::pair<std::string_view, std::int32_t>>& entries) {
    std::size_t cap = 16;
    while (cap < 2 * entries.size()) cap *= 2;  // load factor <= 1/2: short probe runs
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    arena_.clear();
    for (const auto& [key, id] : entries) {
      Slot s{hash(key), std::uint32_t(arena_.size()), std::uint32_t(key.size()), id};
      arena_.append(key);
      std::size_t i = s.hash & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  // The id of `key`, or -1.
  std::int32_t find(std::string_view key) const {
    const std::uint64_t h = hash(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && s.len == key.size() && std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0)
        return s.id;
    }
  }

  static std::uint64_t hash(std::string_view key) {
    // 8 bytes at a time with splitmix64-style mixing: keys are short (a few bytes).
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ key.size();
    const char* p = key.data();
    std::size_t n = key.size();
    const auto mix = [](std::uint64_t x) {
      x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
      x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
      return x ^ (x >> 31);
    };
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      h = mix(h ^ w);
    }
    if (n) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, n);
      h = mix(h ^ w ^ (std::uint64_t(n) << 59));
    }
    return h;
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0, len = 0;
    std::int32_t id = -1;  // -1: empty
  };
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::string arena_;
};

}  // namespace electra::text
