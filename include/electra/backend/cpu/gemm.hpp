// GEMM on the CPU. Row-major, BLAS conventions, outputs first in the argument list:
//   C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C
// op(A) = A (stored [M,K], leading dimension lda) or Aᵀ (stored [K,M]); likewise B.
// Two engines (docs/performance.md has the measurements behind the choice):
//   openblas  cblas_sgemm/dgemm (builds with ELECTRA_USE_OPENBLAS), threads set by threading.hpp
//   eigen     Eigen's sequential blocked kernel on packing buffers we own (no allocation after
//             warm-up), one slab of C per thread
// OpenBLAS is preferred when linked, except when it failed to recognise the CPU: Debian's
// 0.3.21 falls back to its 'Prescott' (SSE3) kernels on Sapphire Rapids, 5x slower than
// Eigen. Then Eigen is used and gemm_engine_report() says how to fix it (OPENBLAS_CORETYPE).
// Batched GEMM (attention) runs one small product per thread with Eigen's single-threaded
// kernel: OpenBLAS's own threading does not nest inside OpenMP.
// set_matmul_precision(MatmulPrecision::bf16) switches every float GEMM, batched or not, to the
// bf16 matmul mode of gemm_bf16.hpp (AMX tiles where the CPU has them); double stays exact.
// gemm_reference() is the naive triple loop kept as the test oracle.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <string>
#include <type_traits>

#include "../../core/config.hpp"
#include "../../core/error.hpp"
#include "../../core/threading.hpp"
#include "amx.hpp"
#include "gemm_bf16.hpp"
#include "parallel.hpp"
#include "thread_buffer.hpp"

#if defined(ELECTRA_USE_OPENBLAS)
extern "C" {
char* openblas_get_corename(void);
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void cblas_dgemm(int order, int trans_a, int trans_b, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc);
}
#endif

namespace electra::cpu {

enum class GemmEngine { eigen, openblas };

// What a float GEMM computes with (double GEMMs are always exact double):
//   fp32  fp32 operands, fp32 accumulation (the default)
//   bf16  operands rounded to bfloat16, fp32 accumulation and output (gemm_bf16.hpp); like
//         torch.autocast(dtype=torch.bfloat16) for matmuls. Master weights stay fp32.
// Set once, before training starts (it is process-wide, like the thread count).
enum class MatmulPrecision { fp32, bf16 };

namespace detail {
inline GemmEngine default_gemm_engine() {
#if defined(ELECTRA_USE_OPENBLAS)
  const std::string core = openblas_get_corename();
  if (core == "Prescott" || core == "prescott") return GemmEngine::eigen;  // CPU not recognised
  return GemmEngine::openblas;
#else
  return GemmEngine::eigen;
#endif
}
inline GemmEngine& gemm_engine_slot() {
  static GemmEngine engine = default_gemm_engine();
  return engine;
}
}  // namespace detail

inline GemmEngine gemm_engine() { return detail::gemm_engine_slot(); }

// Tests use this to exercise both engines; throws if OpenBLAS is not linked.
inline void set_gemm_engine(GemmEngine e) {
#if !defined(ELECTRA_USE_OPENBLAS)
  ELECTRA_CHECK(e == GemmEngine::eigen, value_error, "this build has no OpenBLAS (ELECTRA_USE_OPENBLAS=OFF)");
#endif
  detail::gemm_engine_slot() = e;
}

inline std::string gemm_engine_report() {
#if defined(ELECTRA_USE_OPENBLAS)
  const std::string core = openblas_get_corename();
  if (gemm_engine() == GemmEngine::openblas) return "OpenBLAS (" + core + " kernels)";
  if (detail::default_gemm_engine() == GemmEngine::eigen)
    return "Eigen (OpenBLAS chose its slow " + core +
           " kernels for this CPU; export OPENBLAS_CORETYPE=Cooperlake, SkylakeX or Haswell to use it)";
#endif
  return "Eigen";
}

namespace detail {
inline MatmulPrecision& matmul_precision_slot() {
  static MatmulPrecision precision = MatmulPrecision::fp32;
  return precision;
}
}  // namespace detail

inline MatmulPrecision matmul_precision() { return detail::matmul_precision_slot(); }
inline void set_matmul_precision(MatmulPrecision p) { detail::matmul_precision_slot() = p; }

inline const char* matmul_precision_name(MatmulPrecision p) { return p == MatmulPrecision::bf16 ? "bf16" : "fp32"; }

// "fp32" or "bf16" (what --precision takes); anything else is a value_error naming `what`.
inline MatmulPrecision parse_matmul_precision(const std::string& name, const std::string& what) {
  ELECTRA_CHECK(name == "fp32" || name == "bf16", value_error, what, ": matmul precision '", name,
                "' is not one of fp32, bf16");
  return name == "bf16" ? MatmulPrecision::bf16 : MatmulPrecision::fp32;
}

// "fp32", "bf16 (AMX tiles)" or "bf16 (emulated: ...)", for progress lines and logs.
inline std::string matmul_precision_report() {
  if (matmul_precision() == MatmulPrecision::fp32) return "fp32";
  if (amx_available()) return "bf16 (AMX tiles)";
  return "bf16 (emulated: no usable AMX-BF16 on this CPU, no faster than fp32)";
}

namespace detail {
// Packing buffers for Eigen's blocked kernel, one pair per thread (0: the packed lhs panel,
// 1: the packed rhs block). They grow to the largest block seen and are then reused, so a
// warmed-up training step allocates nothing here (Eigen's own product allocates and frees
// both buffers in every call above its 128 KB stack limit).
struct EigenPacking {};
template <class T>
T* packing_buffer(int which, std::size_t n) {
  return thread_buffer<EigenPacking, T>(which, n);
}

// Eigen's cache blocking for one thread (kc, mc, nc from its heuristic), on our buffers.
template <class T>
struct ThreadBlocking : Eigen::internal::level3_blocking<T, T> {
  ThreadBlocking(index_t rows, index_t cols, index_t depth) {
    Eigen::Index kc = depth, mc = rows, nc = cols;
    Eigen::internal::computeProductBlockingSizes<T, T, 1>(kc, mc, nc, Eigen::Index(1));
    this->m_kc = kc, this->m_mc = mc, this->m_nc = nc;
    this->m_blockA = packing_buffer<T>(0, std::size_t(kc * mc));
    this->m_blockB = packing_buffer<T>(1, std::size_t(kc * nc));
  }
};

// res[rows,cols] += alpha · lhs[rows,depth] · rhs[depth,cols], column-major result, on the
// calling thread: Eigen's sequential GEMM (pack, then its register-blocked micro-kernel).
template <class T, int LhsOrder, int RhsOrder>
void colmajor_product(index_t rows, index_t cols, index_t depth, const T* lhs, index_t lhs_stride, const T* rhs,
                      index_t rhs_stride, T* res, index_t res_stride, T alpha) {
  using Product = Eigen::internal::general_matrix_matrix_product<Eigen::Index, T, LhsOrder, false, T, RhsOrder, false,
                                                                 Eigen::ColMajor, 1>;
  ThreadBlocking<T> blocking(rows, cols, depth);
  Product::run(rows, cols, depth, lhs, lhs_stride, rhs, rhs_stride, res, 1, res_stride, alpha, blocking, nullptr);
}

// Row-major C[M,N] += alpha · op(A) · op(B) on the calling thread, computed as the
// column-major Cᵀ[N,M] += alpha · op(B)ᵀ · op(A)ᵀ: a row-major buffer is its transpose in
// column-major order, so op(B)ᵀ is B read column-major (row-major when B is transposed).
template <class T>
void gemm_one_thread(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
                     const T* B, index_t ldb, T* C, index_t ldc) {
  constexpr int col = Eigen::ColMajor, row = Eigen::RowMajor;
  if (!trans_b && !trans_a) colmajor_product<T, col, col>(N, M, K, B, ldb, A, lda, C, ldc, alpha);
  if (!trans_b && trans_a) colmajor_product<T, col, row>(N, M, K, B, ldb, A, lda, C, ldc, alpha);
  if (trans_b && !trans_a) colmajor_product<T, row, col>(N, M, K, B, ldb, A, lda, C, ldc, alpha);
  if (trans_b && trans_a) colmajor_product<T, row, row>(N, M, K, B, ldb, A, lda, C, ldc, alpha);
}

// C = beta · C (exactly 0 when beta is 0, as BLAS: no NaN from old contents).   C: [M,N]
template <class T>
void scale_output(index_t M, index_t N, T beta, T* C, index_t ldc) {
  if (beta == T(1)) return;
  for (index_t m = 0; m < M; ++m) {
    T* c = C + m * ldc;
    if (beta == T(0))
      std::fill(c, c + N, T(0));
    else
      for (index_t n = 0; n < N; ++n) c[n] *= beta;
  }
}

inline bool in_parallel_region() {
#if defined(_OPENMP)
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// Below this many multiply-adds a product runs on one thread: a parallel region costs a few
// microseconds, as much as a 64³ product.
inline constexpr double kParallelGemmWork = double(1 << 18);

// Cuts the longer side of C[M,N] into one slab per thread (a multiple of 16 rows or columns:
// whole micro-kernel tiles) and runs one sequential product per slab:
//   product(M', N', A', B', C', first column)   on the slab's rows/columns of C and of op(A)
//   or op(B); `first column` is the slab's offset into C's columns (0 for row slabs).
// Each thread packs the whole other operand itself, an extra threads·(short side)·K copies
// against M·N·K / threads multiply-adds: under 2 % at ELECTRA's shapes (short side ≥ 128,
// 2 threads). Small products, and those inside a parallel region (the batched GEMM below),
// stay on the calling thread.
template <class T, class Product>
void for_each_slab(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const T* A, index_t lda, const T* B,
                   index_t ldb, T* C, index_t ldc, int threads, Product&& product) {
  const bool split_rows = M >= N;
  const index_t length = split_rows ? M : N;
  const index_t slab = ((length + threads - 1) / threads + 15) / 16 * 16;
  const int slabs = int((length + slab - 1) / slab);
  if (slabs <= 1 || double(M) * double(N) * double(K) < kParallelGemmWork || in_parallel_region()) {
    product(M, N, A, B, C, index_t(0));
    return;
  }
  auto one_slab = [&](index_t begin) {
    const index_t end = std::min(length, begin + slab);
    if (split_rows)  // rows [begin, end) of C and of op(A)
      product(end - begin, N, trans_a ? A + begin : A + begin * lda, B, C + begin * ldc, index_t(0));
    else  // columns [begin, end) of C and of op(B)
      product(M, end - begin, A, trans_b ? B + begin * ldb : B + begin, C + begin, begin);
  };
#pragma omp parallel for num_threads(slabs) schedule(static)
  for (int i = 0; i < slabs; ++i) one_slab(index_t(i) * slab);
}

// The Eigen engine: Eigen's sequential kernel, one slab of C per thread.
template <class T>
void gemm_eigen(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
                const T* B, index_t ldb, T beta, T* C, index_t ldc, int threads) {
  scale_output(M, N, beta, C, ldc);
  if (K == 0) return;
  for_each_slab(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, threads,
                [&](index_t m, index_t n, const T* a, const T* b, T* c, index_t) {
                  gemm_one_thread(trans_a, trans_b, m, n, K, alpha, a, lda, b, ldb, c, ldc);
                });
}

// The bf16 mode without AMX: the fp32 Eigen GEMM on copies of the operands rounded to bf16.
inline void gemm_bf16_emulated(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                               index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                               int threads) {
  const index_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const index_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  float* a = bf16_scratch<float>(0, std::size_t(a_rows * a_cols));
  float* b = bf16_scratch<float>(1, std::size_t(b_rows * b_cols));
  round_copy_to_bf16(a_rows, a_cols, A, lda, a);
  round_copy_to_bf16(b_rows, b_cols, B, ldb, b);
  gemm_eigen(trans_a, trans_b, M, N, K, alpha, a, a_cols, b, b_cols, beta, C, ldc, threads);
}

#if defined(ELECTRA_HAVE_AMX_CODE)
// Weight gradients (depth = tokens, far longer than C's sides): with C cut into slabs every
// thread would pack the whole of the other operand, and packing, not the tiles, would set the
// pace. Instead each thread takes a 32-aligned share of the depth, packs only its share of both
// operands, and writes a partial product: thread 0 into C (with beta and bias), thread t > 0 into
// scratch; the partials are then added to C in thread order (deterministic for a thread count).
// Returns false, doing nothing, when the shape or the context does not call for it.
inline bool split_depth_bf16(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                             index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc, int threads,
                             const float* bias) {
  if (threads <= 1 || K < 4 * std::max(M, N) || double(M) * double(N) * double(K) < kParallelGemmWork ||
      in_parallel_region())
    return false;
  const index_t share = ((K + threads - 1) / threads + kTileK - 1) / kTileK * kTileK;
  const int parts = int((K + share - 1) / share);
  if (parts <= 1) return false;
  float* partials = bf16_scratch<float>(1, std::size_t(parts - 1) * std::size_t(M * N));  // [parts-1, M, N]
#pragma omp parallel for num_threads(parts) schedule(static)
  for (int t = 0; t < parts; ++t) {
    const index_t k0 = index_t(t) * share, depth = std::min(share, K - k0);
    const float* a = trans_a ? A + k0 * lda : A + k0;
    const float* b = trans_b ? B + k0 : B + k0 * ldb;
    if (t == 0)
      gemm_bf16_amx(trans_a, trans_b, M, N, depth, alpha, a, lda, b, ldb, beta, C, ldc, bias);
    else
      gemm_bf16_amx(trans_a, trans_b, M, N, depth, alpha, a, lda, b, ldb, 0.0f,
                    partials + std::size_t(t - 1) * std::size_t(M * N), N);
  }
  parallel_rows(M, N * (parts - 1), [&](index_t m) {
    for (int t = 1; t < parts; ++t) {
      const float* p = partials + std::size_t(t - 1) * std::size_t(M * N) + m * N;
      for (index_t n = 0; n < N; ++n) C[m * ldc + n] += p[n];
    }
  });
  return true;
}
#endif

#if defined(ELECTRA_HAVE_AMX_CODE)
// The AMX GEMM over the threads: split by depth for weight gradients, else by slabs of C.
// bias: null, or [N] added to every row (only with beta 0).
inline void gemm_bf16_amx_threads(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
                                  const float* A, index_t lda, const float* B, index_t ldb, float beta, float* C,
                                  index_t ldc, int threads, const float* bias) {
  if (split_depth_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads, bias)) return;
  for_each_slab(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, threads,
                [&](index_t m, index_t n, const float* a, const float* b, float* c, index_t first_column) {
                  gemm_bf16_amx(trans_a, trans_b, m, n, K, alpha, a, lda, b, ldb, beta, c, ldc,
                                bias ? bias + first_column : nullptr);
                });
}
#endif

// The bf16 matmul mode (gemm_bf16.hpp): AMX tiles when this CPU has them, else the emulation
// (same products, fp32 sums in another order).
inline void gemm_bf16(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                      index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc, int threads) {
#if defined(ELECTRA_HAVE_AMX_CODE)
  if (amx_available()) {
    gemm_bf16_amx_threads(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads, nullptr);
    return;
  }
#endif
  gemm_bf16_emulated(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}
}  // namespace detail

template <class T>
void gemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda, const T* B,
          index_t ldb, T beta, T* C, index_t ldc) {
  if (M == 0 || N == 0) return;
  num_threads();  // make sure the thread count has been applied to every engine
  if constexpr (std::is_same_v<T, float>)
    if (matmul_precision() == MatmulPrecision::bf16) {
      detail::gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, num_threads());
      return;
    }
#if defined(ELECTRA_USE_OPENBLAS)
  if (gemm_engine() == GemmEngine::openblas) {
    constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, int(M), int(N), int(K), alpha, A,
                  int(lda), B, int(ldb), beta, C, int(ldc));
      return;
    } else if constexpr (std::is_same_v<T, double>) {
      cblas_dgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, int(M), int(N), int(K), alpha, A,
                  int(lda), B, int(ldb), beta, C, int(ldc));
      return;
    }
  }
#endif
  detail::gemm_eigen(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, num_threads());
}

// A linear layer's forward: C[M,N] = op(A) · op(B) + bias[N] in every row. In the bf16 mode
// with AMX the accumulator tiles start from the bias (C is written once, never read);
// elsewhere the rows are set to the bias and the product is added (beta = 1).
template <class T>
void gemm_bias(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, const T* A, index_t lda, const T* B,
               index_t ldb, const T* bias, T* C, index_t ldc) {
  if (M == 0 || N == 0) return;
#if defined(ELECTRA_HAVE_AMX_CODE)
  if constexpr (std::is_same_v<T, float>)
    if (K > 0 && matmul_precision() == MatmulPrecision::bf16 && amx_available()) {
      detail::gemm_bf16_amx_threads(trans_a, trans_b, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, num_threads(), bias);
      return;
    }
#endif
  parallel_rows(M, N, [=](index_t m) { std::copy(bias, bias + N, C + m * ldc); });
  gemm(trans_a, trans_b, M, N, K, T(1), A, lda, B, ldb, T(1), C, ldc);
}

// `batch` independent GEMMs; matrix i of A starts at A + i*stride_a (likewise B, C).
template <class T>
void gemm_strided_batched(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
                          index_t stride_a, const T* B, index_t ldb, index_t stride_b, T beta, T* C, index_t ldc,
                          index_t stride_c, index_t batch) {
  const int threads = num_threads();
  bool bf16 = false;
  if constexpr (std::is_same_v<T, float>) bf16 = matmul_precision() == MatmulPrecision::bf16;
  auto one = [&](index_t i) {
    if constexpr (std::is_same_v<T, float>)
      if (bf16) {
        detail::gemm_bf16(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                          C + i * stride_c, ldc, 1);
        return;
      }
    detail::gemm_eigen(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                       C + i * stride_c, ldc, 1);
  };
  if (threads <= 1 || batch <= 1) {  // no OpenMP team at all (see parallel.hpp)
    for (index_t i = 0; i < batch; ++i) one(i);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (index_t i = 0; i < batch; ++i) one(i);
}

// The test oracle: plain loops, accumulation in double.
template <class T>
void gemm_reference(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
                    const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  for (index_t m = 0; m < M; ++m)
    for (index_t n = 0; n < N; ++n) {
      double acc = 0;
      for (index_t k = 0; k < K; ++k) {
        const double a = trans_a ? A[k * lda + m] : A[m * lda + k];
        const double b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
        acc += a * b;
      }
      T& c = C[m * ldc + n];
      c = T(alpha * acc + (beta == T(0) ? 0.0 : double(beta) * double(c)));
    }
}

}  // namespace electra::cpu
