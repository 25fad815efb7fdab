// `electra pretrain --device cuda`: a train::StepEngine on the GPU. Defined in cuda_engine.cu
// (compiled by nvcc when the build has the CUDA backend) or in cuda_engine_unavailable.cpp
// (otherwise, where it explains how to get one).
#pragma once
#include <electra/train/pretrainer.hpp>
#include <memory>
#include <string>

namespace cli {

// Throws, with the reason, unless a CUDA device is usable (checked before any data is touched).
void require_cuda_device();

// precision: fp32, tf32 or bf16 (the GEMMs' compute mode; everything else is fp32).
std::unique_ptr<electra::train::StepEngine<float>> make_cuda_engine(electra::train::Pretrainer<float>& trainer,
                                                                    const std::string& precision);

}  // namespace cli
