// Error checks for the CUDA runtime and cuBLAS/cuBLASLt. A failing call throws cuda_error
// (an electra::error) whose message names the call site, the call's text and CUDA's own words:
//   include/electra/backend/cuda/gemm.cuh:212: cublasLtMatmul(...) failed: CUBLAS_STATUS_NOT_SUPPORTED (...)
// Kernel launches are checked with ELECTRA_CUDA_CHECK_LAUNCH(kernel) right after the <<<...>>>:
// it catches bad launch configurations; faults inside a kernel surface at the next
// synchronising call (or sooner with CUDA_LAUNCH_BLOCKING=1).
#pragma once
#if !defined(__CUDACC__)
#error "electra/backend/cuda/*.cuh are CUDA headers: compile them with nvcc"
#endif
#include <cublasLt.h>
#include <cublas_api.h>
#include <cuda_runtime.h>

#include <string>

#include "../../core/error.hpp"

namespace electra::cuda {

struct cuda_error : error {  // a CUDA runtime or cuBLAS call failed
  using error::error;
};

namespace detail {
inline std::string call_site(const char* file, int line, const char* call) {
  return ::electra::detail::concat(file, ":", line, ": ", call, " failed: ");
}
}  // namespace detail

inline void check_cuda(cudaError_t status, const char* file, int line, const char* call) {
  if (status == cudaSuccess) return;
  throw cuda_error(detail::call_site(file, line, call) + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                   ")");
}

inline void check_cublas(cublasStatus_t status, const char* file, int line, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw cuda_error(detail::call_site(file, line, call) + cublasLtGetStatusName(status) + " (" +
                   cublasLtGetStatusString(status) + ")");
}

}  // namespace electra::cuda

// ELECTRA_CUDA_CHECK(cudaMalloc(&p, n)); ELECTRA_CUBLAS_CHECK(cublasLtMatmul(...));
#define ELECTRA_CUDA_CHECK(call) ::electra::cuda::check_cuda((call), __FILE__, __LINE__, #call)
#define ELECTRA_CUBLAS_CHECK(call) ::electra::cuda::check_cublas((call), __FILE__, __LINE__, #call)
// After a kernel launch: reports an invalid configuration (grid, block, shared memory).
#define ELECTRA_CUDA_CHECK_LAUNCH(kernel) \
  ::electra::cuda::check_cuda(cudaGetLastError(), __FILE__, __LINE__, "launch of " #kernel)
