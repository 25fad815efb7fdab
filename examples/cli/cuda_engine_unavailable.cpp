// make_cuda_engine, make_cuda_detector and cuda_task_engine_factory for builds without the CUDA backend (nvcc was
// not found at configure time, or -DELECTRA_CUDA=OFF): `--device cuda` says so and how to get
// a build that has it.
#include <electra/core/error.hpp>

#include "cuda_engine.hpp"

namespace cli {

void require_cuda_device() {
  throw electra::value_error(
      "--device cuda: this electra was built without the CUDA backend (nvcc was not found when CMake configured the "
      "build, or ELECTRA_CUDA was OFF); install the CUDA toolkit and reconfigure with -DELECTRA_CUDA=ON");
}

std::unique_ptr<electra::train::StepEngine<float>> make_cuda_engine(electra::train::Pretrainer<float>&,
                                                                    const std::string&) {
  require_cuda_device();  // throws
  return nullptr;
}

Detector make_cuda_detector(const electra::nn::ParameterList<float>&, const electra::model::EncoderDims&) {
  require_cuda_device();  // throws
  return {};
}

electra::finetune::TaskEngineFactory<float> cuda_task_engine_factory(const std::string&) {
  require_cuda_device();  // throws
  return {};
}

}  // namespace cli
