// The bf16 matmul mode's GEMM: C[M,N] += alpha · bf16(op(A)) · bf16(op(B)), fp32 in, fp32 out,
// products accumulated in fp32. Both operands are rounded to bfloat16 (nearest-even) while
// they are packed; C, alpha and the accumulation stay fp32. This is what PyTorch's bf16
// autocast does to a matmul, without storing bf16 copies of the weights.
//
// Two implementations of the same arithmetic:
//   amx       Intel AMX tiles (Sapphire Rapids and later): TDPBF16PS multiplies a 16×32 bf16
//             tile by a 32×16 one into a 16×16 fp32 tile, ~1 TFLOP/s per core measured here,
//             six times the AVX-512 FP32 peak. Chosen when amx_available().
//   emulated  round copies of both operands to bf16 values (as floats), then the fp32 Eigen
//             GEMM: bf16 products are exact in fp32, so only the order of the fp32 sums
//             differs from AMX (and AMX flushes subnormal inputs to zero). No faster than fp32;
//             it keeps the mode (and its tests) working on every CPU.
//
// AMX layout, one micro-kernel call = 2×2 accumulator tiles = a 32×32 block of C:
//   tile 0..3   C           16 rows × 16 fp32
//   tile 4, 5   A panel     16 rows × 32 bf16 (k contiguous)             rows 0-15 / 16-31
//   tile 6, 7   B panel     16 k-pairs × 16 columns × 2 bf16 ("VNNI")   columns 0-15 / 16-31
// Packed panels hold, for each 32-deep k step, the two 1 KB tiles back to back, zero-padded
// past M, N and K. The blocking: kc ≤ 512 deep, B block of nc ≤ 2048 columns packed once per
// (kc, nc) block and reused by every A block of mc = 128 rows.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>

#include "../../core/config.hpp"
#include "amx.hpp"
#include "bf16.hpp"
#include "thread_buffer.hpp"

#if defined(ELECTRA_HAVE_AMX_CODE)
#include <immintrin.h>
#define ELECTRA_AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16,amx-tile,amx-bf16")))
#endif

namespace electra::cpu::detail {

// Scratch for the bf16 paths, one set per thread (slot 0/1: packed A/B, or their rounded copies;
// float slot 1 also holds the depth split's partial products).
struct Bf16Scratch {};
template <class T>
T* bf16_scratch(int slot, std::size_t n) {
  return thread_buffer<Bf16Scratch, T>(slot, n);
}

// dst[r, c] = bf16(src[r, c]) as floats, for a rows × cols matrix with leading dimension ld.
inline void round_copy_to_bf16(index_t rows, index_t cols, const float* src, index_t ld, float* dst) {
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) dst[r * cols + c] = round_to_bf16(src[r * ld + c]);
}

#if defined(ELECTRA_HAVE_AMX_CODE)

inline constexpr index_t kTileK = 32;                  // bf16 values per tile row (64 bytes)
inline constexpr index_t kPanel = 32;                  // rows (A) or columns (B) per panel
inline constexpr index_t kTileElems = 16 * kTileK;     // 512 bf16 = 1 KB
inline constexpr index_t kStepElems = 2 * kTileElems;  // one panel's two tiles per k step
inline constexpr index_t kBlockK = 512, kBlockM = 128, kBlockN = 2048;

inline index_t round_up(index_t x, index_t to) { return (x + to - 1) / to * to; }

struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

ELECTRA_AMX_TARGET inline void configure_tiles() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) config.rows[t] = 16, config.colsb[t] = 64;  // every tile 16 × 64 B
  _tile_loadconfig(&config);
}

// The first `n` of 16 lanes.
inline __mmask16 first_lanes(index_t n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// 16 floats at p (the first `n`, zeros after), or zeros when p is outside the matrix.
ELECTRA_AMX_TARGET inline __m512 load16(const float* p, index_t n) {
  return n > 0 ? _mm512_maskz_loadu_ps(first_lanes(n), p) : _mm512_setzero_ps();
}

// 32 floats (lo: 0-15, hi: 16-31) → 32 bf16 in order.
ELECTRA_AMX_TARGET inline __m512i to_bf16x32(__m512 lo, __m512 hi) { return __m512i(_mm512_cvtne2ps_pbh(hi, lo)); }

// Two rows of 16 floats → 16 dwords, dword j = (bf16(x0[j]) low, bf16(x1[j]) high): the
// k-pair interleave of the B tile.
ELECTRA_AMX_TARGET inline __m512i interleave_bf16(__m512 x0, __m512 x1) {
  const __m512i halves = to_bf16x32(x0, x1);  // [x0_0 .. x0_15, x1_0 .. x1_15]
  const __m512i index = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                         5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(index, halves);
}

// In-register transpose of a 16×16 matrix of dwords: r[i] lane j ↔ r[j] lane i.
ELECTRA_AMX_TARGET inline void transpose16x16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // r[4g + j], 128-bit lane L: column 4L + j of rows 4g..4g+3
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int j = 0; j < 4; ++j) {  // gather the four 128-bit lanes of each column
    t[j] = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x88);
    t[4 + j] = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xdd);
    t[8 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x88);
    t[12 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xdd);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
    r[4 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0x88);
    r[12 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0xdd);
  }
}

ELECTRA_AMX_TARGET inline void store_tile(std::uint16_t* tile, const __m512i rows[16]) {
  for (int r = 0; r < 16; ++r) _mm512_store_si512(tile + r * kTileK, rows[r]);
}

// Packs op(A)[m0 : m0+rows, k0 : k0+depth] into A panels (see the top of the file).
// op(A)[m, k] = trans ? A[k*lda + m] : A[m*lda + k].
ELECTRA_AMX_TARGET inline void pack_a(bool trans, const float* A, index_t lda, index_t m0, index_t rows, index_t k0,
                                      index_t depth, std::uint16_t* out) {
  const index_t ksteps = round_up(depth, kTileK) / kTileK;
  __m512i v[16];
  for (index_t mt = 0; mt < round_up(rows, kPanel) / 16; ++mt)  // 16-row tile mt of panel mt / 2
    for (index_t ks = 0; ks < ksteps; ++ks) {
      std::uint16_t* tile = out + ((mt / 2) * ksteps + ks) * kStepElems + (mt % 2) * kTileElems;
      const index_t m = mt * 16, k = ks * kTileK;
      if (!trans) {  // row m + r: 32 contiguous k
        const index_t kn = depth - k;
        for (int r = 0; r < 16; ++r) {
          const float* p = A + (m0 + m + r) * lda + k0 + k;
          const bool in = m + r < rows;
          v[r] =
              to_bf16x32(in ? load16(p, kn) : _mm512_setzero_ps(), in ? load16(p + 16, kn - 16) : _mm512_setzero_ps());
        }
      } else {  // k-pair i: rows k + 2i, k + 2i + 1 of A, 16 contiguous m; then transpose
        const index_t mn = rows - m;
        for (int i = 0; i < 16; ++i) {
          const index_t kk = k + 2 * i;
          const float* p = A + (k0 + kk) * lda + m0 + m;
          v[i] = interleave_bf16(kk < depth ? load16(p, mn) : _mm512_setzero_ps(),
                                 kk + 1 < depth ? load16(p + lda, mn) : _mm512_setzero_ps());
        }
        transpose16x16(v);
      }
      store_tile(tile, v);
    }
}

// Packs op(B)[k0 : k0+depth, n0 : n0+cols] into B panels (VNNI tiles).
// op(B)[k, n] = trans ? B[n*ldb + k] : B[k*ldb + n].
ELECTRA_AMX_TARGET inline void pack_b(bool trans, const float* B, index_t ldb, index_t k0, index_t depth, index_t n0,
                                      index_t cols, std::uint16_t* out) {
  const index_t ksteps = round_up(depth, kTileK) / kTileK;
  __m512i v[16];
  for (index_t nt = 0; nt < round_up(cols, kPanel) / 16; ++nt)
    for (index_t ks = 0; ks < ksteps; ++ks) {
      std::uint16_t* tile = out + ((nt / 2) * ksteps + ks) * kStepElems + (nt % 2) * kTileElems;
      const index_t n = nt * 16, k = ks * kTileK;
      if (!trans) {  // k-pair i: rows k + 2i, k + 2i + 1, 16 contiguous n
        const index_t nn = cols - n;
        for (int i = 0; i < 16; ++i) {
          const index_t kk = k + 2 * i;
          const float* p = B + (k0 + kk) * ldb + n0 + n;
          v[i] = interleave_bf16(kk < depth ? load16(p, nn) : _mm512_setzero_ps(),
                                 kk + 1 < depth ? load16(p + ldb, nn) : _mm512_setzero_ps());
        }
      } else {  // column n + c: 32 contiguous k = 16 k-pair dwords; then transpose
        const index_t kn = depth - k;
        for (int c = 0; c < 16; ++c) {
          const float* p = B + (n0 + n + c) * ldb + k0 + k;
          const bool in = n + c < cols;
          v[c] =
              to_bf16x32(in ? load16(p, kn) : _mm512_setzero_ps(), in ? load16(p + 16, kn - 16) : _mm512_setzero_ps());
        }
        transpose16x16(v);
      }
      store_tile(tile, v);
    }
}

// C[0:rows, 0:cols] = (accumulate ? C : bias row or 0) + alpha · (A panel) · (B panel), rows,
// cols ≤ 32, over `ksteps` k steps (bias: null, or the block's 32 entries; never with accumulate).
// Full blocks with alpha 1 accumulate in the tiles straight from C, or from the bias row loaded
// into every tile row (a tile load with stride 0).
ELECTRA_AMX_TARGET inline void amx_micro_kernel(const std::uint16_t* a, const std::uint16_t* b, index_t ksteps,
                                                float* C, index_t ldc, index_t rows, index_t cols, float alpha,
                                                bool accumulate, const float* bias) {
  const bool direct = alpha == 1.0f && rows == kPanel && cols == kPanel;
  const auto stride = static_cast<long>(ldc * sizeof(float));
  if (direct && accumulate) {
    _tile_loadd(0, C, stride);
    _tile_loadd(1, C + 16, stride);
    _tile_loadd(2, C + 16 * ldc, stride);
    _tile_loadd(3, C + 16 * ldc + 16, stride);
  } else if (direct && bias) {
    _tile_loadd(0, bias, 0);
    _tile_loadd(1, bias + 16, 0);
    _tile_loadd(2, bias, 0);
    _tile_loadd(3, bias + 16, 0);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  for (index_t ks = 0; ks < ksteps; ++ks) {
    const std::uint16_t* ap = a + ks * kStepElems;
    const std::uint16_t* bp = b + ks * kStepElems;
    _tile_loadd(4, ap, 64);
    _tile_loadd(5, ap + kTileElems, 64);
    _tile_loadd(6, bp, 64);
    _tile_loadd(7, bp + kTileElems, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  if (direct) {
    _tile_stored(0, C, stride);
    _tile_stored(1, C + 16, stride);
    _tile_stored(2, C + 16 * ldc, stride);
    _tile_stored(3, C + 16 * ldc + 16, stride);
    return;
  }
  alignas(64) float block[kPanel * kPanel];
  constexpr long kBlockStride = kPanel * sizeof(float);
  _tile_stored(0, block, kBlockStride);
  _tile_stored(1, block + 16, kBlockStride);
  _tile_stored(2, block + 16 * kPanel, kBlockStride);
  _tile_stored(3, block + 16 * kPanel + 16, kBlockStride);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c)
      C[r * ldc + c] = (accumulate ? C[r * ldc + c] : bias ? bias[c] : 0.0f) + alpha * block[r * kPanel + c];
}

// Row-major C[M,N] = alpha · bf16(op(A)) · bf16(op(B)) + beta · C on the calling thread (exactly
// the product when beta is 0: C's old contents are never read). With a bias ([N], only with
// beta 0) every row of C starts from it instead. Each (kc, nc) block of op(B) is packed once and
// reused by every mc block of op(A).
ELECTRA_AMX_TARGET inline void gemm_bf16_amx(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
                                             const float* A, index_t lda, const float* B, index_t ldb, float beta,
                                             float* C, index_t ldc, const float* bias = nullptr) {
  if (beta != 0.0f && beta != 1.0f)
    for (index_t m = 0; m < M; ++m)
      for (index_t n = 0; n < N; ++n) C[m * ldc + n] *= beta;
  if (K == 0) {
    if (beta == 0.0f)
      for (index_t m = 0; m < M; ++m) std::fill(C + m * ldc, C + m * ldc + N, 0.0f);
    return;
  }
  const index_t kc = std::min(round_up(K, kTileK), kBlockK);
  const index_t nc = std::min(round_up(N, kPanel), kBlockN);
  const index_t mc = std::min(round_up(M, kPanel), kBlockM);
  std::uint16_t* packed_b = bf16_scratch<std::uint16_t>(1, std::size_t(kc * nc));
  std::uint16_t* packed_a = bf16_scratch<std::uint16_t>(0, std::size_t(mc * kc));
  configure_tiles();
  for (index_t pc = 0; pc < K; pc += kc) {
    const index_t depth = std::min(kc, K - pc), ksteps = round_up(depth, kTileK) / kTileK;
    for (index_t jc = 0; jc < N; jc += nc) {
      const index_t cols = std::min(nc, N - jc);
      pack_b(trans_b, B, ldb, pc, depth, jc, cols, packed_b);
      for (index_t ic = 0; ic < M; ic += mc) {
        const index_t rows = std::min(mc, M - ic);
        pack_a(trans_a, A, lda, ic, rows, pc, depth, packed_a);
        for (index_t jr = 0; jr < cols; jr += kPanel)
          for (index_t ir = 0; ir < rows; ir += kPanel)
            amx_micro_kernel(packed_a + (ir / kPanel) * ksteps * kStepElems,
                             packed_b + (jr / kPanel) * ksteps * kStepElems, ksteps, C + (ic + ir) * ldc + jc + jr, ldc,
                             std::min(kPanel, rows - ir), std::min(kPanel, cols - jr), alpha, pc > 0 || beta != 0.0f,
                             pc == 0 && bias ? bias + jc + jr : nullptr);
      }
    }
  }
  _tile_release();  // back to the init state: the kernel need not save 8 KB of tiles per switch
}

// The AMX bf16 rate of the calling thread's core, GFLOP/s: the micro-kernel's loop (four tile
// loads, four TDPBF16PS) on tiles that stay in L1, `steps` times. For bench_gemm's amx_peak.
ELECTRA_AMX_TARGET inline double measure_amx_peak_gflops(long steps) {
  alignas(64) static thread_local std::uint16_t panels[2][kStepElems] = {};
  configure_tiles();
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const auto start = std::chrono::steady_clock::now();
  for (long s = 0; s < steps; ++s) {
    _tile_loadd(4, panels[0], 64);
    _tile_loadd(5, panels[0] + kTileElems, 64);
    _tile_loadd(6, panels[1], 64);
    _tile_loadd(7, panels[1] + kTileElems, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  alignas(64) float sink[16 * 16];
  _tile_stored(0, sink, 64);
  _tile_release();
  volatile float keep = sink[0];
  (void)keep;
  return double(steps) * 4 * 2 * 16 * 16 * kTileK / seconds * 1e-9;
}

#endif  // ELECTRA_HAVE_AMX_CODE

}  // namespace electra::cpu::detail
