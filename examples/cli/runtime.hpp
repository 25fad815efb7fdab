// Process-wide settings shared by the training commands: --threads N and --precision fp32|bf16.
#pragma once
#include <electra/backend/cpu/gemm.hpp>
#include <electra/core/threading.hpp>

#include "args.hpp"

namespace cli {

inline void apply_runtime_options(const Args& args) {
  if (args.has("threads")) electra::set_num_threads(int(args.integer("threads", 1)));
  if (args.has("precision")) {
    const std::string p = args.get("precision");
    if (p != "fp32" && p != "bf16")
      throw usage_error("--precision must be fp32 or bf16 (got '" + p + "'; tf32 is a CUDA-only mode)");
    electra::cpu::set_matmul_precision(electra::cpu::parse_matmul_precision(p, "--precision"));
  }
}

}  // namespace cli
