// GEMM on the CPU. Row-major, BLAS conventions, outputs first in the argument list:
//   C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C
// op(A) = A (stored [M,K], leading dimension lda) or Aᵀ (stored [K,M]); likewise B.
// Two engines (docs/performance.md has the measurements behind the choice):
//   openblas  cblas_sgemm/dgemm (builds with ELECTRA_USE_OPENBLAS), threads set by threading.hpp
//   eigen     Eigen's own kernel through Maps over our buffers (no copies)
// OpenBLAS is preferred when linked, except when it failed to recognise the CPU: Debian's
// 0.3.21 falls back to its 'Prescott' (SSE3) kernels on Sapphire Rapids, 5x slower than
// Eigen. Then Eigen is used and gemm_engine_report() says how to fix it (OPENBLAS_CORETYPE).
// Batched GEMM (attention) runs one small product per thread with Eigen's single-threaded
// kernel: OpenBLAS's own threading does not nest inside OpenMP.
// gemm_reference() is the naive triple loop kept as the test oracle.
#pragma once
#include <Eigen/Core>
#include <string>
#include <type_traits>

#include "../../core/config.hpp"
#include "../../core/threading.hpp"

#if defined(ELECTRA_USE_OPENBLAS)
extern "C" {
char* openblas_get_corename(void);
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc);
void cblas_dgemm(int order, int trans_a, int trans_b, int m, int n, int k, double alpha, const double* a,
                 int lda, const double* b, int ldb, double beta, double* c, int ldc);
}
#endif

namespace electra::cpu {

enum class GemmEngine { eigen, openblas };

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
template <class T>
using RowMajorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                               Eigen::OuterStride<>>;
template <class T>
using RowMajorMutMap =
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>>;

// Eigen's kernel. Runs multi-threaded (OpenMP) when called outside a parallel region.
template <class T>
void gemm_eigen(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A,
                index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  RowMajorMutMap<T> c(C, M, N, Eigen::OuterStride<>(ldc));
  const RowMajorMap<T> a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  const RowMajorMap<T> b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  if (beta == T(0)) {
    c.setZero();
  } else if (beta != T(1)) {
    c *= beta;
  }
  if (!trans_a && !trans_b) c.noalias() += alpha * a * b;
  if (trans_a && !trans_b) c.noalias() += alpha * a.transpose() * b;
  if (!trans_a && trans_b) c.noalias() += alpha * a * b.transpose();
  if (trans_a && trans_b) c.noalias() += alpha * a.transpose() * b.transpose();
}
}  // namespace detail

template <class T>
void gemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
          const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  if (M == 0 || N == 0) return;
  num_threads();  // make sure the thread count has been applied to every engine
#if defined(ELECTRA_USE_OPENBLAS)
  if (gemm_engine() == GemmEngine::openblas) {
  constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, int(M), int(N), int(K),
                alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
    return;
  } else if constexpr (std::is_same_v<T, double>) {
    cblas_dgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, int(M), int(N), int(K),
                alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
    return;
  }
  }
#endif
  detail::gemm_eigen(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// `batch` independent GEMMs; matrix i of A starts at A + i*stride_a (likewise B, C).
template <class T>
void gemm_strided_batched(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A,
                          index_t lda, index_t stride_a, const T* B, index_t ldb, index_t stride_b, T beta,
                          T* C, index_t ldc, index_t stride_c, index_t batch) {
  const int threads = num_threads();
  auto one = [&](index_t i) {
    detail::gemm_eigen(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
                       C + i * stride_c, ldc);
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
void gemm_reference(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, T alpha, const T* A,
                    index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc) {
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
