// bfloat16 on the CPU: the top 16 bits of an IEEE float. Rounding is round-to-nearest-even,
// as the AVX512-BF16 conversion (vcvtne2ps2bf16) and PyTorch's float -> bfloat16 cast; NaN stays
// a (quiet) NaN. Used by the bf16 matmul mode (gemm_bf16.hpp) and its tests.
#pragma once
#include <bit>
#include <cstdint>

namespace electra::cpu {

inline std::uint16_t float_to_bf16(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((u >> 16) | 0x0040u);  // quiet NaN
  return std::uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float bf16_to_float(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t(h) << 16); }

// x rounded to the nearest bfloat16, as a float: what a bf16 matmul sees of its operand.
inline float round_to_bf16(float x) { return bf16_to_float(float_to_bf16(x)); }

}  // namespace electra::cpu
