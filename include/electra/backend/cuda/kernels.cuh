// The CUDA backend's fused kernels, one header per job; each mirrors a CPU function and is
// checked against it in tests/cuda/kernels_vs_cpu.cu.
//   layer_norm.cuh        layer norm forward / backward       (backend/cpu/layer_norm.hpp)
//   softmax.cuh           softmax, log-softmax fwd / bwd      (backend/cpu/softmax.hpp)
//   embedding.cuh         embedding lookup, scatter-add bwd   (ops/embedding.hpp)
//   cross_entropy.cuh     masked-LM cross entropy at rows     (ops/cross_entropy.hpp)
//   bce_with_logits.cuh   replaced-token-detection loss       (ops/bce_with_logits.hpp)
//   dropout.cuh           inverted dropout, the CPU's mask    (ops/dropout.hpp)
//   adamw.cuh             global-norm clip + AdamW, fused     (optim/clip.hpp, optim/adamw.hpp)
// Elementwise math is not here: elementwise.cuh maps the CPU's functors; GEMM is gemm.cuh.
#pragma once
#include "adamw.cuh"
#include "bce_with_logits.cuh"
#include "dropout.cuh"
#include "cross_entropy.cuh"
#include "embedding.cuh"
#include "layer_norm.cuh"
#include "softmax.cuh"
