// What the run reports about its GPU: the name and NVIDIA's data-sheet dense peak (no
// sparsity) in each GEMM mode, for model-FLOPs utilisation. A100, H100 (SXM and PCIe) and
// H200; other devices report 0 (unknown) and their MFU is not computed.
#pragma once
#include <string>

#include "error.cuh"
#include "gemm.cuh"

namespace electra::cuda {

struct DevicePeaks {
  double fp32 = 0, tf32 = 0, bf16 = 0;  // TFLOP/s
  double in(ComputeMode mode) const {
    return mode == ComputeMode::fp32 ? fp32 : mode == ComputeMode::tf32 ? tf32 : bf16;
  }
};

inline DevicePeaks dense_peaks(const std::string& name) {
  const auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
  if (has("H100") && has("PCIe")) return {51.2, 378, 756};
  if (has("H100") || has("H200")) return {66.9, 494.7, 989.4};
  if (has("A100")) return {19.5, 156, 312};
  return {};
}

// The current device's name; throws a clear error when no GPU is visible.
inline std::string current_device_name() {
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  ELECTRA_CHECK(e == cudaSuccess && devices > 0, value_error, "no CUDA device is visible (cudaGetDeviceCount: ",
                e == cudaSuccess ? "0 devices" : cudaGetErrorString(e), ")");
  int device = 0;
  ELECTRA_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  ELECTRA_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

}  // namespace electra::cuda
