// Dropout's mask as a pure function of (key, element index), the same on host and device:
// keep_i = [dropout_uniform(key, i) ≥ p]. Two 24-bit uniforms per 64-bit hash: elements are
// taken in chunks of 4096; in chunk c, element t < 2048 and element t + 2048 share
// h = mix64(key + (2048·c + t)·γ) (splitmix64's stream from key), the first taking bits 40–63
// and the second bits 8–31. The CPU kernel (ops/dropout.hpp) computes one hash per pair, the
// CUDA kernel (backend/cuda/dropout.cuh) one per element; both give exactly these values.
#pragma once
#include <cstdint>

#include "config.hpp"
#include "rng.hpp"

namespace electra {

inline constexpr index_t kDropoutChunk = 4096, kDropoutHalf = kDropoutChunk / 2;
inline constexpr std::uint64_t kDropoutGamma = 0x9E3779B97F4A7C15ull;

ELECTRA_HD inline std::uint64_t dropout_hash(std::uint64_t key, index_t chunk, index_t t) {
  return mix64(key + std::uint64_t(chunk * kDropoutHalf + t) * kDropoutGamma);
}

// 24 random bits → a float in [0, 1): exact, for any of the 2^24 values.
ELECTRA_HD inline float dropout_bits_to_uniform(std::uint64_t bits24) { return float(bits24) * (1.0f / 16777216.0f); }

ELECTRA_HD inline float dropout_uniform(std::uint64_t key, index_t i) {
  const index_t chunk = i / kDropoutChunk, t = i % kDropoutChunk;
  const std::uint64_t h = dropout_hash(key, chunk, t % kDropoutHalf);
  return dropout_bits_to_uniform(t < kDropoutHalf ? h >> 40 : (h >> 8) & 0xffffffu);
}

}  // namespace electra
