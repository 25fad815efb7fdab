// `electra pretrain --device cuda` (backend/cuda/pretrain_engine.cuh, a train::StepEngine) and
// `electra detect --device cuda` (backend/cuda/detector.cuh): each checks for a device first and
// turns its absence into the command's error.
//
// This file is compiled by nvcc, whose host pass sees the CPU headers without OpenMP
// (-fopenmp is passed to it, see examples/CMakeLists.txt) and without xsimd. Inline functions
// and templates instantiated both here and in electra.cpp must therefore not depend on xsimd:
// use the CPU library here only for plain host work (masking, metrics, tensors as buffers),
// never for its vectorised kernels (expr::assign on float tensors, the ops). electra.cpp comes
// first on the link line, so its definitions are the ones kept.
#include <electra/backend/cuda/detector.cuh>
#include <electra/backend/cuda/pretrain_engine.cuh>

#include "cuda_engine.hpp"

namespace cli {

namespace {

using namespace electra;
namespace cu = electra::cuda;

// The detector and the device copy of the weights it reads.
class CudaDetector {
 public:
  CudaDetector(const nn::ParameterList<float>& discriminator_parameters, const model::EncoderDims& dims)
      : params_(discriminator_parameters), detector_(dims, params_, cu::DeviceContext{&gemm_, cu::ComputeMode::fp32}) {}
  Tensor<float> logits(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& input_mask) {
    return detector_.logits(ids, Tensor<std::int32_t>(), input_mask);
  }

 private:
  cu::GemmContext gemm_;
  cu::DeviceParameters params_;
  cu::ReplacedTokenDetector detector_;
};

}  // namespace

void require_cuda_device() {
  try {
    (void)electra::cuda::current_device_name();
  } catch (const electra::error& e) {
    throw electra::value_error(std::string("--device cuda: ") + e.what());
  }
}

std::unique_ptr<electra::train::StepEngine<float>> make_cuda_engine(electra::train::Pretrainer<float>& trainer,
                                                                    const std::string& precision) {
  require_cuda_device();
  return std::make_unique<electra::cuda::PretrainEngine>(trainer, electra::cuda::parse_compute_mode(precision));
}

Detector make_cuda_detector(const electra::nn::ParameterList<float>& discriminator_parameters,
                            const electra::model::EncoderDims& dims) {
  require_cuda_device();
  auto detector = std::make_shared<CudaDetector>(discriminator_parameters, dims);
  return [detector](const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& input_mask) {
    return detector->logits(ids, input_mask);
  };
}

}  // namespace cli
