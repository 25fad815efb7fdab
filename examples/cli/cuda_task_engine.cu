// `electra finetune / squad --device cuda`: the GPU fine-tuning engine
// (backend/cuda/finetune_engine.cuh), after a check for a device that turns its absence into the
// command's error. Compiled by nvcc: see cuda_engine.cu on the one-definition rule.
#include <electra/backend/cuda/finetune_engine.cuh>

#include "cuda_engine.hpp"

namespace cli {

electra::finetune::TaskEngineFactory<float> cuda_task_engine_factory(const std::string& precision) {
  require_cuda_device();
  return electra::cuda::finetune_engine_factory(electra::cuda::parse_compute_mode(precision));
}

}  // namespace cli
