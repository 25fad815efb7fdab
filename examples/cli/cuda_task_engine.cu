// `electra finetune / squad --device cuda`: fine-tuning on the GPU (backend/cuda/task_model.cuh,
// optimizer.cuh) behind the finetune::TaskEngine interface. The CPU TaskModel stays the run's
// master copy for saving: sync_to_host() downloads the weights into it. Evaluation runs on the GPU.
//
// Compiled by nvcc, like cuda_engine.cu: use the CPU library here only for plain host work
// (tensors as buffers, names, options), never its vectorised kernels (see cuda_engine.cu).
#include <electra/backend/cuda/device_info.cuh>
#include <electra/backend/cuda/optimizer.cuh>
#include <electra/backend/cuda/task_model.cuh>
#include <memory>

#include "cuda_engine.hpp"

namespace cli {

namespace {

using namespace electra;
namespace cu = electra::cuda;

class CudaTaskEngine final : public finetune::TaskEngine<float> {
 public:
  CudaTaskEngine(const finetune::TaskEngineSpec<float>& spec, cu::ComputeMode mode)
      : mode_(mode),
        device_name_(cu::current_device_name()),
        host_parameters_(spec.parameters),
        params_(spec.parameters),
        step_(cu::TaskModelShape{spec.dims, spec.head, spec.pooling, spec.outputs}, params_,
              cu::DeviceContext{&gemm_, mode}) {
    if (spec.optimizer) optimizer_ = std::make_unique<cu::DeviceAdamW>(params_, *spec.optimizer);
  }

  double forward_backward(const finetune::TaskBatch& batch, Rng& rng, double scale) override {
    return step_.run(batch, rng, scale);
  }

  double clip_and_update(double lr, double max_norm) override {
    ELECTRA_CHECK(optimizer_, value_error, "cuda fine-tuning: this engine was built for evaluation only");
    optimizer_->step(lr, max_norm);
    const double norm = optimizer_->last_norm();  // waits for the update
    cu::check_finite_norm(norm);                  // a non-finite norm skipped the update on the device
    params_.zero_grads();
    return norm;
  }

  finetune::HeadValues<float> predict(const finetune::SequenceBatch& inputs) override { return step_.predict(inputs); }

  // The weights only: fine-tuning never resumes, so the CPU optimizer's moments are not needed.
  void sync_to_host() override { params_.download_values(host_parameters_); }

  std::string describe() const override {
    return "cuda: " + device_name_ + ", GEMMs " + cu::to_string(mode_) + " (activations and weights fp32)";
  }

 private:
  cu::ComputeMode mode_;
  std::string device_name_;
  nn::ParameterList<float> host_parameters_;  // the CPU model's tensors (shared storage)
  cu::GemmContext gemm_;
  cu::DeviceParameters params_;
  cu::TaskStep step_;
  std::unique_ptr<cu::DeviceAdamW> optimizer_;
};

}  // namespace

electra::finetune::TaskEngineFactory<float> cuda_task_engine_factory(const std::string& precision) {
  require_cuda_device();
  const cu::ComputeMode mode = cu::parse_compute_mode(precision);
  return [mode](const finetune::TaskEngineSpec<float>& spec) -> std::unique_ptr<finetune::TaskEngine<float>> {
    return std::make_unique<CudaTaskEngine>(spec, mode);
  };
}

}  // namespace cli
