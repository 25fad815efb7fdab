// GEMM and strided-batched GEMM on the GPU through cuBLASLt, with the CPU's row-major
// semantics and argument order (backend/cpu/gemm.hpp):
//   C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C
// op(A) = A (stored [M,K], row stride lda) or Aᵀ (stored [K,M]); likewise B; C row stride ldc.
// Batched: matrix i of A starts at A + i·stride_a (likewise B, C), for i < batch.
//
// Compute modes (ComputeMode; the run's --precision once that flag exists):
//   fp32   A, B, C float, CUBLAS_COMPUTE_32F: IEEE fp32 products, as the CPU
//   tf32   A, B, C float, CUBLAS_COMPUTE_32F_FAST_TF32: inputs rounded to TF32 (10-bit
//          mantissa) inside the tensor cores, fp32 accumulation
//   bf16   A, B bf16, C float or bf16, CUBLAS_COMPUTE_32F: fp32 accumulation (convert.cuh
//          makes the bf16 copies of fp32 tensors)
//
// Row-major through a column-major library: a row-major [R,C] buffer with row stride ld is
// the column-major [C,R] matrix (its transpose) with the same ld. So the row-major product
// C = op(A)·op(B) is computed as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLASLt's "A" is our
// B, its "B" is our A, its m = N and n = M, and each transpose flag carries over unchanged.
//
// GemmContext owns the cuBLASLt handle and workspace, created once, and caches one plan
// (descriptors + heuristic algorithm) per distinct problem, so a training step's repeated
// GEMMs query the heuristic once. Use one context per stream (they would share a workspace).
#pragma once
#include <cuda_bf16.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <type_traits>

#include "buffer.cuh"
#include "launch.cuh"

namespace electra::cuda {

enum class ComputeMode { fp32, tf32, bf16 };

inline const char* to_string(ComputeMode mode) {
  switch (mode) {
    case ComputeMode::fp32:
      return "fp32";
    case ComputeMode::tf32:
      return "tf32";
    case ComputeMode::bf16:
      return "bf16";
  }
  return "unknown";
}

inline ComputeMode parse_compute_mode(std::string_view name) {
  if (name == "fp32") return ComputeMode::fp32;
  if (name == "tf32") return ComputeMode::tf32;
  if (name == "bf16") return ComputeMode::bf16;
  throw value_error(::electra::detail::concat("unknown precision '", name, "' (expected fp32, tf32 or bf16)"));
}

namespace detail {
template <class T>
constexpr cudaDataType_t cuda_data_type() {
  if constexpr (std::is_same_v<T, float>)
    return CUDA_R_32F;
  else
    return CUDA_R_16BF;
}

// Largest power of two (at most 256) dividing the address: cuBLASLt's heuristic must only
// offer kernels whose vector loads this alignment allows.
inline std::uint32_t pointer_alignment(const void* p, index_t batch_stride_bytes) {
  std::uintptr_t bits = reinterpret_cast<std::uintptr_t>(p) | std::uintptr_t(256);
  if (batch_stride_bytes > 0) bits |= std::uintptr_t(batch_stride_bytes);
  return std::uint32_t(bits & (~bits + 1));
}

// C[b, m, n] = beta · C[b, m, n] (0 when beta == 0, as BLAS: no NaN from old contents).
// The K == 0 case, where the product is empty; C is [batch] × [M, N] with row stride ldc.
template <class TC>
static __global__ void scale_matrix_kernel(TC* C, index_t M, index_t N, index_t ldc, index_t stride_c, index_t batch,
                                           float beta) {
  const index_t total = batch * M * N;
  for (index_t i = global_thread_index(); i < total; i += grid_threads()) {
    const index_t b = i / (M * N), m = (i / N) % M, n = i % N;
    TC& c = C[b * stride_c + m * ldc + n];
    c = beta == 0.f ? TC(0.f) : TC(beta * float(c));
  }
}
}  // namespace detail

class GemmContext {
 public:
  static constexpr std::size_t kDefaultWorkspaceBytes = std::size_t(32) << 20;  // NVIDIA's advice for Hopper

  explicit GemmContext(std::size_t workspace_bytes = kDefaultWorkspaceBytes,
                       CachingAllocator& allocator = default_allocator())
      : workspace_(index_t(workspace_bytes), allocator) {
    ELECTRA_CUBLAS_CHECK(cublasLtCreate(&handle_));
  }
  GemmContext(const GemmContext&) = delete;
  GemmContext& operator=(const GemmContext&) = delete;
  ~GemmContext() {
    for (auto& [key, plan] : plans_) destroy(plan);
    if (handle_) (void)cublasLtDestroy(handle_);
  }

  cublasLtHandle_t handle() const { return handle_; }
  std::size_t cached_plans() const { return plans_.size(); }

  // One GEMM or strided batch; see the file comment. TA is float (fp32, tf32) or bf16 (bf16).
  template <class TA, class TC>
  void run(ComputeMode mode, bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const TA* A,
           index_t lda, index_t stride_a, const TA* B, index_t ldb, index_t stride_b, float beta, TC* C, index_t ldc,
           index_t stride_c, index_t batch, cudaStream_t stream) {
    static_assert(std::is_same_v<TA, float> || std::is_same_v<TA, __nv_bfloat16>, "GEMM inputs: float or bf16");
    static_assert(std::is_same_v<TC, float> || std::is_same_v<TC, __nv_bfloat16>, "GEMM output: float or bf16");
    if constexpr (std::is_same_v<TA, float>) {
      ELECTRA_CHECK((mode != ComputeMode::bf16 && std::is_same_v<TC, float>), value_error, "cuda::gemm: mode ",
                    to_string(mode), " with float inputs needs fp32/tf32 mode and a float output");
    } else {
      ELECTRA_CHECK(mode == ComputeMode::bf16, value_error, "cuda::gemm: bf16 inputs need mode bf16, got ",
                    to_string(mode));
    }
    check_problem(trans_a, trans_b, M, N, K, lda, ldb, ldc, batch);
    if (M == 0 || N == 0 || batch == 0) return;
    if (K == 0) {
      detail::scale_matrix_kernel<<<grid_for(batch * M * N), kBlockSize, 0, stream>>>(C, M, N, ldc, stride_c, batch,
                                                                                      beta);
      ELECTRA_CUDA_CHECK_LAUNCH(scale_matrix_kernel);
      return;
    }
    const std::int64_t a_bytes = std::int64_t(sizeof(TA)), c_bytes = std::int64_t(sizeof(TC));
    const Key key{int(mode),
                  int(sizeof(TA)),
                  int(sizeof(TC)),
                  trans_a,
                  trans_b,
                  M,
                  N,
                  K,
                  lda,
                  ldb,
                  ldc,
                  batch > 1 ? stride_a : 0,
                  batch > 1 ? stride_b : 0,
                  batch > 1 ? stride_c : 0,
                  batch,
                  detail::pointer_alignment(A, batch > 1 ? stride_a * a_bytes : 0),
                  detail::pointer_alignment(B, batch > 1 ? stride_b * a_bytes : 0),
                  detail::pointer_alignment(C, batch > 1 ? stride_c * c_bytes : 0)};
    const Plan& plan = plan_for<TA, TC>(key);
    // cuBLASLt's A is our B and its B is our A (file comment).
    ELECTRA_CUBLAS_CHECK(cublasLtMatmul(handle_, plan.op, &alpha, B, plan.layout_b, A, plan.layout_a, &beta, C,
                                        plan.layout_c, C, plan.layout_c, &plan.algo, workspace_.data(),
                                        workspace_.bytes(), stream));
  }

 private:
  // mode, sizeof A/B, sizeof C, trans_a, trans_b, M, N, K, lda, ldb, ldc, strides a/b/c,
  // batch, alignments of A/B/C
  using Key = std::array<std::int64_t, 18>;
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t layout_a = nullptr, layout_b = nullptr, layout_c = nullptr;  // our A, B, C
    cublasLtMatmulAlgo_t algo{};
  };

  static void check_problem(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, index_t lda, index_t ldb,
                            index_t ldc, index_t batch) {
    ELECTRA_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0, shape_error, "cuda::gemm: negative size M=", M, " N=", N,
                  " K=", K, " batch=", batch);
    const index_t a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
    ELECTRA_CHECK(lda >= std::max<index_t>(1, a_cols), shape_error, "cuda::gemm: lda ", lda, " is less than the ",
                  a_cols, " columns of the stored A", trans_a ? "ᵀ" : "");
    ELECTRA_CHECK(ldb >= std::max<index_t>(1, b_cols), shape_error, "cuda::gemm: ldb ", ldb, " is less than the ",
                  b_cols, " columns of the stored B", trans_b ? "ᵀ" : "");
    ELECTRA_CHECK(ldc >= std::max<index_t>(1, N), shape_error, "cuda::gemm: ldc ", ldc, " is less than N=", N);
    ELECTRA_CHECK(batch <= std::numeric_limits<std::int32_t>::max(), shape_error, "cuda::gemm: batch ", batch,
                  " exceeds cuBLASLt's int32 batch count");
  }

  static cublasLtMatrixLayout_t make_layout(cudaDataType_t type, index_t rows, index_t cols, index_t ld, index_t batch,
                                            index_t stride) {
    cublasLtMatrixLayout_t layout = nullptr;
    ELECTRA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, std::uint64_t(rows), std::uint64_t(cols), ld));
    if (batch > 1) {
      const std::int32_t count = std::int32_t(batch);
      const std::int64_t offset = stride;
      ELECTRA_CUBLAS_CHECK(
          cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
      ELECTRA_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                            &offset, sizeof offset));
    }
    return layout;
  }

  static void destroy(Plan& plan) {
    if (plan.layout_a) (void)cublasLtMatrixLayoutDestroy(plan.layout_a);
    if (plan.layout_b) (void)cublasLtMatrixLayoutDestroy(plan.layout_b);
    if (plan.layout_c) (void)cublasLtMatrixLayoutDestroy(plan.layout_c);
    if (plan.op) (void)cublasLtMatmulDescDestroy(plan.op);
    plan = Plan{};
  }

  template <class TA, class TC>
  const Plan& plan_for(const Key& key) {
    if (const auto it = plans_.find(key); it != plans_.end()) return it->second;
    const auto mode = ComputeMode(key[0]);
    const bool trans_a = key[3] != 0, trans_b = key[4] != 0;
    const index_t M = key[5], N = key[6], K = key[7], lda = key[8], ldb = key[9], ldc = key[10];
    const index_t stride_a = key[11], stride_b = key[12], stride_c = key[13], batch = key[14];
    Plan plan;
    cublasLtMatmulPreference_t preference = nullptr;
    try {
      const cublasComputeType_t compute = mode == ComputeMode::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      ELECTRA_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.op, compute, CUDA_R_32F));
      const std::int32_t op_first = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;   // applies to our B
      const std::int32_t op_second = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;  // applies to our A
      ELECTRA_CUBLAS_CHECK(
          cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof op_first));
      ELECTRA_CUBLAS_CHECK(
          cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof op_second));
      const cudaDataType_t ta = detail::cuda_data_type<TA>(), tc = detail::cuda_data_type<TC>();
      // Stored row-major [R,C] = column-major [C,R] (file comment).
      plan.layout_b = make_layout(ta, trans_b ? K : N, trans_b ? N : K, ldb, batch, stride_b);
      plan.layout_a = make_layout(ta, trans_a ? M : K, trans_a ? K : M, lda, batch, stride_a);
      plan.layout_c = make_layout(tc, N, M, ldc, batch, stride_c);

      ELECTRA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
      const std::uint64_t workspace = workspace_.bytes();
      ELECTRA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                                &workspace, sizeof workspace));
      // cuBLASLt's A/B are our B/A; C and D are both our C.
      const std::uint32_t align_first = std::uint32_t(key[16]), align_second = std::uint32_t(key[15]),
                          align_c = std::uint32_t(key[17]);
      ELECTRA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                                                &align_first, sizeof align_first));
      ELECTRA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                                                &align_second, sizeof align_second));
      ELECTRA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                                                &align_c, sizeof align_c));
      ELECTRA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                                &align_c, sizeof align_c));

      cublasLtMatmulHeuristicResult_t result{};
      int found = 0;
      ELECTRA_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, plan.op, plan.layout_b, plan.layout_a, plan.layout_c,
                                                          plan.layout_c, preference, 1, &result, &found));
      ELECTRA_CHECK(found > 0 && result.state == CUBLAS_STATUS_SUCCESS, cuda_error,
                    "cuda::gemm: cuBLASLt has no algorithm for mode ", to_string(mode), " trans_a=", trans_a,
                    " trans_b=", trans_b, " M=", M, " N=", N, " K=", K, " lda=", lda, " ldb=", ldb, " ldc=", ldc,
                    " batch=", batch, " (alignments A/B/C ", key[15], "/", key[16], "/", key[17], " bytes)");
      plan.algo = result.algo;
      (void)cublasLtMatmulPreferenceDestroy(preference);
    } catch (...) {
      if (preference) (void)cublasLtMatmulPreferenceDestroy(preference);
      destroy(plan);
      throw;
    }
    return plans_.emplace(key, plan).first->second;
  }

  DeviceArray<std::byte> workspace_;
  cublasLtHandle_t handle_ = nullptr;
  std::map<Key, Plan> plans_;
};

// The CPU's gemm (backend/cpu/gemm.hpp) on the GPU.
template <class TA, class TC>
void gemm(GemmContext& ctx, ComputeMode mode, bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
          const TA* A, index_t lda, const TA* B, index_t ldb, float beta, TC* C, index_t ldc,
          cudaStream_t stream = nullptr) {
  ctx.run(mode, trans_a, trans_b, M, N, K, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1, stream);
}

// The CPU's gemm_strided_batched on the GPU: `batch` independent GEMMs in one launch.
template <class TA, class TC>
void gemm_strided_batched(GemmContext& ctx, ComputeMode mode, bool trans_a, bool trans_b, index_t M, index_t N,
                          index_t K, float alpha, const TA* A, index_t lda, index_t stride_a, const TA* B, index_t ldb,
                          index_t stride_b, float beta, TC* C, index_t ldc, index_t stride_c, index_t batch,
                          cudaStream_t stream = nullptr) {
  ctx.run(mode, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc, stride_c, batch,
          stream);
}

}  // namespace electra::cuda
