// Counter-based random numbers. Rng::next_key() hands out a fresh 64-bit key; the value
// at position i of a stream is a pure function hash(key, i), so a kernel that draws one
// number per element gives the same result whatever the thread count or loop order.
#pragma once
#include <cmath>
#include <cstdint>

#include "config.hpp"

namespace electra {

// splitmix64 finaliser (Steele et al., "Fast splittable pseudorandom number generators").
ELECTRA_HD inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 (float) or 53 (double) random bits.
template <class T>
ELECTRA_HD inline T uniform_at(std::uint64_t key, std::uint64_t i) {
  const std::uint64_t bits = mix64(key ^ mix64(i));
  if constexpr (sizeof(T) == 4) {
    return T(bits >> 40) * T(1.0 / 16777216.0);
  } else {
    return T(bits >> 11) * T(1.0 / 9007199254740992.0);
  }
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : state_(mix64(seed)) {}

  std::uint64_t next_key() { return mix64(state_ + 0x632BE59BD9B4E019ull * ++counter_); }
  std::uint64_t next_u64() { return next_key(); }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return n ? next_u64() % n : 0; }
  double uniform() { return uniform_at<double>(next_key(), 0); }
  // Standard normal by Box-Muller.
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // The whole state, for checkpoints.
  std::uint64_t state() const { return state_; }
  std::uint64_t counter() const { return counter_; }
  void restore(std::uint64_t state, std::uint64_t counter) {
    state_ = state;
    counter_ = counter;
  }

 private:
  std::uint64_t state_;
  std::uint64_t counter_ = 0;
};

}  // namespace electra
