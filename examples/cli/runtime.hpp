// Process-wide settings shared by the training commands: --threads N, --precision fp32|bf16
// (fp32|tf32|bf16 on cuda) and --device cpu|cuda.
#pragma once
#include <electra/backend/cpu/gemm.hpp>
#include <electra/core/threading.hpp>

#include "args.hpp"
#include "cuda_engine.hpp"

namespace cli {

// On --device cuda, --precision names the GPU's GEMM mode (fp32|tf32|bf16; cuda_engine.hpp)
// and the CPU, which then only evaluates, keeps fp32 matmuls.
inline void apply_runtime_options(const Args& args) {
  if (args.has("threads")) electra::set_num_threads(int(args.integer("threads", 1)));
  if (args.get("device", "cpu") == "cuda") {
    const std::string p = args.get("precision", "fp32");
    if (p != "fp32" && p != "tf32" && p != "bf16")
      throw usage_error("--precision must be fp32, tf32 or bf16 with --device cuda (got '" + p + "')");
    return;
  }
  if (args.has("precision")) {
    const std::string p = args.get("precision");
    if (p != "fp32" && p != "bf16")
      throw usage_error("--precision must be fp32 or bf16 (got '" + p + "'; tf32 is a CUDA-only mode)");
    electra::cpu::set_matmul_precision(electra::cpu::parse_matmul_precision(p, "--precision"));
  }
}

// --device cpu|cuda. cuda runs in one process and needs a visible GPU: both are checked here,
// before any data is read.
inline std::string device_option(const Args& args, int processes) {
  const std::string device = args.get("device", "cpu");
  if (device != "cpu" && device != "cuda") throw usage_error("--device must be cpu or cuda (got '" + device + "')");
  if (device == "cuda" && processes > 1)
    throw usage_error("--device cuda runs in one process (multi-GPU data parallelism is not built yet)");
  if (device == "cuda") require_cuda_device();
  return device;
}

}  // namespace cli
