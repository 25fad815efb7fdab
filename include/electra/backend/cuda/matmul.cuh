// The layers' GEMMs: fp32 matrices in and out, computed in the run's ComputeMode:
//   fp32   CUBLAS_COMPUTE_32F
//   tf32   CUBLAS_COMPUTE_32F_FAST_TF32 (inputs rounded to 10 mantissa bits inside the GEMM)
//   bf16   the operands rounded to bf16 (round to nearest even) into scratch copies, then a
//          bf16 × bf16 GEMM accumulating in fp32 into the fp32 C: the CPU's --precision bf16
//          (backend/cpu/gemm_bf16.hpp), with fp32 activations and master weights everywhere else.
// Same signature as gemm_strided_batched (row-major; batch 1 and strides 0 for one GEMM).
#pragma once
#include "convert.cuh"
#include "gemm.cuh"

namespace electra::cuda {

namespace detail {
// Elements a row-major operand spans: `rows` rows of leading dimension ld, `batch` matrices
// stride apart (the last row only up to its `cols` columns).
inline index_t operand_extent(index_t rows, index_t cols, index_t ld, index_t stride, index_t batch) {
  if (rows == 0 || cols == 0 || batch == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}
}  // namespace detail

inline void matmul(GemmContext& g, ComputeMode mode, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                   float alpha, const float* A, index_t lda, index_t stride_a, const float* B, index_t ldb,
                   index_t stride_b, float beta, float* C, index_t ldc, index_t stride_c, index_t batch,
                   cudaStream_t stream = nullptr, CachingAllocator& allocator = default_allocator()) {
  if (mode != ComputeMode::bf16) {
    gemm_strided_batched(g, mode, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                         stride_c, batch, stream);
    return;
  }
  const index_t na = detail::operand_extent(trans_a ? K : M, trans_a ? M : K, lda, stride_a, batch),
                nb = detail::operand_extent(trans_b ? N : K, trans_b ? K : N, ldb, stride_b, batch);
  DeviceArray<bf16> a16(na, allocator), b16(nb, allocator);
  to_bf16(a16.data(), A, na, stream);
  to_bf16(b16.data(), B, nb, stream);
  gemm_strided_batched(g, mode, trans_a, trans_b, M, N, K, alpha, a16.data(), lda, stride_a, b16.data(), ldb, stride_b,
                       beta, C, ldc, stride_c, batch, stream);
}

// One GEMM (batch 1).
inline void matmul(GemmContext& g, ComputeMode mode, bool trans_a, bool trans_b, index_t M, index_t N, index_t K,
                   float alpha, const float* A, index_t lda, const float* B, index_t ldb, float beta, float* C,
                   index_t ldc, cudaStream_t stream = nullptr, CachingAllocator& allocator = default_allocator()) {
  matmul(g, mode, trans_a, trans_b, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, stream, allocator);
}

}  // namespace electra::cuda
