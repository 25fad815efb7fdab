// `--device cuda`: the GPU engines of `electra pretrain` (a train::StepEngine) and `electra detect`
// (cuda_engine.cu), and of `electra finetune` / `electra squad` (a finetune::TaskEngine,
// cuda_task_engine.cu), compiled by nvcc when the build has the CUDA backend; otherwise
// cuda_engine_unavailable.cpp defines them to explain how to get one.
#pragma once
#include <electra/finetune/task_engine.hpp>
#include <electra/train/pretrainer.hpp>
#include <functional>
#include <memory>
#include <string>

namespace cli {

// Throws, with the reason, unless a CUDA device is usable (checked before any data is touched).
void require_cuda_device();

// precision: fp32, tf32 or bf16 (the GEMMs' compute mode; everything else is fp32).
std::unique_ptr<electra::train::StepEngine<float>> make_cuda_engine(electra::train::Pretrainer<float>& trainer,
                                                                    const std::string& precision);

// `electra detect --device cuda`: replaced-token logits [B,T] of ids and input mask [B,T], computed
// on the GPU from a copy of the discriminator's tensors (ElectraModel::discriminator_parameters()).
using Detector = std::function<electra::Tensor<float>(const electra::Tensor<std::int32_t>& ids,
                                                      const electra::Tensor<std::int32_t>& input_mask)>;
Detector make_cuda_detector(const electra::nn::ParameterList<float>& discriminator_parameters,
                            const electra::model::EncoderDims& dims);

// Builds fine-tuning engines on the GPU (checks for a device first); precision as above.
electra::finetune::TaskEngineFactory<float> cuda_task_engine_factory(const std::string& precision);

}  // namespace cli
