// The CUDA backend's fused kernels, one header per job; each mirrors a CPU function and is
// checked against it in tests/cuda/kernels_vs_cpu.cu or tests/cuda/layers_vs_cpu.cu.
//   layer_norm.cuh        layer norm forward / backward       (backend/cpu/layer_norm.hpp)
//   softmax.cuh           softmax, log-softmax fwd / bwd      (backend/cpu/softmax.hpp)
//   embedding.cuh         embedding lookup, scatter-add bwd   (ops/embedding.hpp)
//   cross_entropy.cuh     masked-LM cross entropy at rows     (ops/cross_entropy.hpp)
//   bce_with_logits.cuh   replaced-token-detection loss       (ops/bce_with_logits.hpp)
//   dropout.cuh           inverted dropout, the CPU's mask    (ops/dropout.hpp)
//   adamw.cuh             global-norm clip + AdamW, fused     (optim/clip.hpp, optim/adamw.hpp)
//   gelu.cuh              GELU (erf) forward / backward       (ops/gelu.hpp)
//   column_sum.cuh        bias gradients: column sums         (ops/linear.hpp)
//   linear.cuh            x·Wᵀ + b and its backward           (ops/linear.hpp)
//   attention.cuh         masked multi-head attention         (ops/attention.hpp)
//   sampling.cuh          Gumbel-max sampling, fake inputs    (model/sampling.hpp)
// Elementwise math is not here: elementwise.cuh maps the CPU's functors; GEMM is gemm.cuh and,
// in a run's compute mode, matmul.cuh. The model on the device is encoder.cuh, embeddings.cuh
// and pretraining.cuh, over parameters.cuh and optimizer.cuh.
#pragma once
#include "adamw.cuh"
#include "attention.cuh"
#include "bce_with_logits.cuh"
#include "column_sum.cuh"
#include "cross_entropy.cuh"
#include "dropout.cuh"
#include "embedding.cuh"
#include "gelu.cuh"
#include "layer_norm.cuh"
#include "linear.cuh"
#include "sampling.cuh"
#include "softmax.cuh"
