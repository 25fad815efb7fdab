// The GPU engine behind `electra finetune / squad --device cuda`, for a program's own use as the
// electra program uses it (examples/cli/cuda_task_engine.cu):
//   FinetuneEngine   a finetune::TaskEngine: the fine-tuning step (task_model.cuh), the fused
//                    clip + AdamW with the CPU optimizer's layer-wise rates (optimizer.cuh), and
//                    evaluation, on the GPU; sync_to_host() downloads the weights into the CPU model
//   finetune_engine_factory(mode)   what GlueRunOptions::engine / SquadRunOptions::engine take
//     options.engine = cuda::finetune_engine_factory(cuda::ComputeMode::bf16);
// Include it from a .cu file (see pretrain_engine.cuh).
#pragma once
#include <memory>
#include <string>

#include "device_info.cuh"
#include "optimizer.cuh"
#include "task_model.cuh"

namespace electra::cuda {

class FinetuneEngine final : public finetune::TaskEngine<float> {
 public:
  FinetuneEngine(const finetune::TaskEngineSpec<float>& spec, ComputeMode mode)
      : mode_(mode),
        device_name_(current_device_name()),
        host_parameters_(spec.parameters),
        params_(spec.parameters),
        step_(TaskModelShape{spec.dims, spec.head, spec.pooling, spec.outputs}, params_, DeviceContext{&gemm_, mode}) {
    if (spec.optimizer) optimizer_ = std::make_unique<DeviceAdamW>(params_, *spec.optimizer);
  }

  double forward_backward(const finetune::TaskBatch& batch, Rng& rng, double scale) override {
    return step_.run(batch, rng, scale);
  }

  double clip_and_update(double lr, double max_norm) override {
    ELECTRA_CHECK(optimizer_, value_error, "cuda fine-tuning: this engine was built for evaluation only");
    return optimizer_->update(lr, max_norm);
  }

  finetune::HeadValues<float> predict(const finetune::SequenceBatch& inputs) override { return step_.predict(inputs); }

  // The weights only: fine-tuning never resumes, so the CPU optimizer's moments are not needed.
  void sync_to_host() override { params_.download_values(host_parameters_); }

  std::string describe() const override {
    return "cuda: " + device_name_ + ", GEMMs " + to_string(mode_) + " (activations and weights fp32)";
  }

 private:
  ComputeMode mode_;
  std::string device_name_;
  nn::ParameterList<float> host_parameters_;  // the CPU model's tensors (shared storage)
  GemmContext gemm_;
  DeviceParameters params_;
  TaskStep step_;
  std::unique_ptr<DeviceAdamW> optimizer_;
};

inline finetune::TaskEngineFactory<float> finetune_engine_factory(ComputeMode mode) {
  return [mode](const finetune::TaskEngineSpec<float>& spec) -> std::unique_ptr<finetune::TaskEngine<float>> {
    return std::make_unique<FinetuneEngine>(spec, mode);
  };
}

}  // namespace electra::cuda
