// Process-wide settings shared by the training commands: --threads N and --precision fp32|bf16.
#pragma once
#include <electra/backend/cpu/gemm.hpp>
#include <electra/core/threading.hpp>

#include "args.hpp"

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

}  // namespace cli
