// Project-wide basic definitions: index type, rank limit, host/device annotation.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define ELECTRA_HD __host__ __device__
#else
#define ELECTRA_HD
#endif

namespace electra {

using index_t = std::int64_t;     // every size, stride, offset and coordinate
inline constexpr int kMaxRank = 6;  // [B, NH, T, T] is the largest we need; 6 leaves room
inline constexpr std::size_t kAlignment = 64;  // one cache line, one AVX-512 register

}  // namespace electra
