// `electra pretrain --device cuda`: the pretraining step on the GPU (backend/cuda/pretraining.cuh,
// optimizer.cuh) behind the train::StepEngine interface; and `electra detect --device cuda`, the
// pretrained discriminator's logits (backend/cuda/detector.cuh). The CPU model and optimizer stay the
// run's master copy for checkpoints, exports and evaluation: sync_to_host() downloads the
// weights and AdamW moments into them, sync_to_device() uploads them after a resume.
//
// This file is compiled by nvcc, whose host pass sees the CPU headers without OpenMP
// (-fopenmp is passed to it, see examples/CMakeLists.txt) and without xsimd. Inline functions
// and templates instantiated both here and in electra.cpp must therefore not depend on xsimd:
// use the CPU library here only for plain host work (masking, metrics, tensors as buffers),
// never for its vectorised kernels (expr::assign on float tensors, the ops). electra.cpp comes
// first on the link line, so its definitions are the ones kept.
#include <cmath>
#include <electra/backend/cuda/detector.cuh>
#include <electra/backend/cuda/device_info.cuh>
#include <electra/backend/cuda/optimizer.cuh>
#include <electra/backend/cuda/pretraining.cuh>

#include "cuda_engine.hpp"

namespace cli {

namespace {

using namespace electra;
namespace cu = electra::cuda;

class CudaEngine final : public train::StepEngine<float> {
 public:
  CudaEngine(train::Pretrainer<float>& trainer, cu::ComputeMode mode)
      : trainer_(trainer),
        mode_(mode),
        device_name_(cu::current_device_name()),
        params_(trainer.parameters()),
        step_(trainer.model().dims, params_, cu::DeviceContext{&gemm_, mode}, trainer.options().objective),
        optimizer_(params_, trainer.optimizer(), has_gradient(trainer, step_)) {}

  train::EngineMicroResult forward_backward(const model::Batch& batch, model::MaskedBatch<float> masked, Rng& rng,
                                            double mlm_scale, double rtd_scale) override {
    const cu::PretrainingStepResult r =
        step_.run(batch, std::move(masked), Tensor<std::int32_t>(), rng, true, cu::LossScales{mlm_scale, rtd_scale});
    return {metrics_of(r, batch), r.share_loss};
  }

  train::PretrainMetrics evaluate(const model::Batch& batch, Rng& rng) override {
    return metrics_of(step_.evaluate(batch, rng), batch);
  }

  // The step's metrics, as model::pretraining_forward computes them from the same outputs.
  train::PretrainMetrics metrics_of(const cu::PretrainingStepResult& r, const model::Batch& batch) const {
    train::PretrainMetrics m;
    if (trainer_.options().objective.electra_objective) {
      m = train::pretrain_metrics(r.predicted, r.sampled, r.masked.target_ids, r.masked.weights, r.disc_logits,
                                  r.labels, batch.input_mask);
      double replaced = 0, real = 0;  // as model::pretraining_forward counts them
      for (index_t i = 0; i < r.labels.numel(); ++i) {
        const bool is_real = batch.input_mask.flat(i) != 0;
        replaced += double(r.labels.flat(i)) * double(is_real);
        real += double(is_real);
      }
      m.replaced_fraction = real > 0 ? replaced / real : 0.0;
      m.disc_loss = double(r.rtd_loss);
    } else {
      m.mlm_accuracy = train::mlm_accuracy(r.predicted, r.masked.target_ids, r.masked.weights);
    }
    m.mlm_loss = double(r.mlm_loss);
    m.total_loss = double(r.loss);
    return m;
  }

  double clip_and_update(double lr, double max_norm) override {
    optimizer_.step(lr, max_norm);
    const double norm = optimizer_.last_norm();  // waits for the update
    cu::check_finite_norm(norm);                 // a non-finite norm skipped the update on the device
    params_.zero_grads();
    return norm;
  }

  void sync_to_host() override {
    params_.download_values(trainer_.parameters());
    optimizer_.download_state(trainer_.optimizer());
  }
  void sync_to_device() override {
    params_.upload_values(trainer_.parameters());
    optimizer_.upload_state(trainer_.optimizer());
  }

  static std::vector<bool> has_gradient(const train::Pretrainer<float>& trainer, const cu::PretrainingStep& step) {
    std::vector<bool> out;
    for (const auto& p : trainer.parameters()) out.push_back(step.gives_gradient(p.name));
    return out;
  }

  std::string describe() const override {
    return "cuda: " + device_name_ + ", GEMMs " + cu::to_string(mode_) + " (activations and weights fp32)";
  }
  std::string precision_name() const override { return std::string("cuda-") + cu::to_string(mode_); }
  double peak_flops() const override { return cu::dense_peaks(device_name_).in(mode_)*1e12; }

 private:
  train::Pretrainer<float>& trainer_;
  cu::ComputeMode mode_;
  std::string device_name_;
  cu::GemmContext gemm_;
  cu::DeviceParameters params_;
  cu::PretrainingStep step_;
  cu::DeviceAdamW optimizer_;
};

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
  return std::make_unique<CudaEngine>(trainer, electra::cuda::parse_compute_mode(precision));
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
