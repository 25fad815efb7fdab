// electra: ELECTRA pretraining and fine-tuning in C++20. The umbrella header; each
// module header can also be included on its own to keep compile times down.
#pragma once

#include "core/allocator.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"
#include "core/threading.hpp"

#include "expr/assign.hpp"
#include "expr/expr.hpp"

#include "backend/cpu/gemm.hpp"
#include "backend/cpu/layer_norm.hpp"
#include "backend/cpu/reduce.hpp"
#include "backend/cpu/softmax.hpp"

#include "autograd/grad_mode.hpp"
#include "autograd/tape.hpp"
#include "autograd/var.hpp"

#include "ops/arithmetic.hpp"
#include "ops/attention.hpp"
#include "ops/bce_with_logits.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/dropout.hpp"
#include "ops/embedding.hpp"
#include "ops/gelu.hpp"
#include "ops/layer_norm.hpp"
#include "ops/linear.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "ops/shape_ops.hpp"
#include "ops/softmax.hpp"
#include "ops/tanh.hpp"
#include "autograd/gradcheck.hpp"

// The model, its training and its data (each also usable on its own).
#include "data/prepare.hpp"
#include "data/reader.hpp"
#include "io/checkpoint.hpp"
#include "io/hf_export.hpp"
#include "io/safetensors.hpp"
#include "io/weights.hpp"
#include "model/electra.hpp"
#include "model/pretraining.hpp"
#include "optim/adamw.hpp"
#include "optim/layer_lr.hpp"
#include "text/tokenizer.hpp"
#include "text/vocab_trainer.hpp"
#include "train/flops.hpp"
#include "train/pretrain_run.hpp"
