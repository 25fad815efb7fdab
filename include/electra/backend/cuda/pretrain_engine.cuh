// The GPU engines behind `--device cuda`, for a program's own use as the electra program uses
// them (examples/cli/cuda_engine.cu):
//   PretrainEngine   a train::StepEngine: the pretraining step (pretraining.cuh) and the fused
//                    clip + AdamW (optimizer.cuh) on the GPU, held-out evaluation too; the CPU
//                    model and optimizer stay the master copy for checkpoints and exports
//                    (sync_to_host downloads weights and moments, sync_to_device uploads them)
//     trainer.set_engine(std::make_unique<cuda::PretrainEngine>(trainer, cuda::ComputeMode::bf16));
// Include it from a .cu file; the CPU model's vectorised kernels must stay out of nvcc's
// translation units (docs/cuda.md, "one-definition rule").
#pragma once
#include <string>
#include <vector>

#include "../../train/pretrainer.hpp"
#include "device_info.cuh"
#include "optimizer.cuh"
#include "pretraining.cuh"

namespace electra::cuda {

class PretrainEngine final : public train::StepEngine<float> {
 public:
  // Built over the trainer's parameters and optimizer (Pretrainer::set_engine uploads them).
  PretrainEngine(train::Pretrainer<float>& trainer, ComputeMode mode)
      : trainer_(trainer),
        mode_(mode),
        device_name_(current_device_name()),
        params_(trainer.parameters()),
        step_(trainer.model().dims, params_, DeviceContext{&gemm_, mode}, trainer.options().objective),
        optimizer_(params_, trainer.optimizer(), has_gradient(trainer, step_)) {}

  train::EngineMicroResult forward_backward(const model::Batch& batch, model::MaskedBatch<float> masked, Rng& rng,
                                            double mlm_scale, double rtd_scale) override {
    const PretrainingStepResult r =
        step_.run(batch, std::move(masked), Tensor<std::int32_t>(), rng, true, LossScales{mlm_scale, rtd_scale});
    return {metrics_of(r, batch), r.share_loss};
  }

  train::PretrainMetrics evaluate(const model::Batch& batch, Rng& rng) override {
    return metrics_of(step_.evaluate(batch, rng), batch);
  }

  // The step's metrics, as model::pretraining_forward computes them from the same outputs.
  train::PretrainMetrics metrics_of(const PretrainingStepResult& r, const model::Batch& batch) const {
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

  double clip_and_update(double lr, double max_norm) override { return optimizer_.update(lr, max_norm); }

  void sync_to_host() override {
    params_.download_values(trainer_.parameters());
    optimizer_.download_state(trainer_.optimizer());
  }
  void sync_to_device() override {
    params_.upload_values(trainer_.parameters());
    optimizer_.upload_state(trainer_.optimizer());
  }

  static std::vector<bool> has_gradient(const train::Pretrainer<float>& trainer, const PretrainingStep& step) {
    std::vector<bool> out;
    for (const auto& p : trainer.parameters()) out.push_back(step.gives_gradient(p.name));
    return out;
  }

  std::string describe() const override {
    return "cuda: " + device_name_ + ", GEMMs " + to_string(mode_) + " (activations and weights fp32)";
  }
  std::string precision_name() const override { return std::string("cuda-") + to_string(mode_); }
  double peak_flops() const override { return dense_peaks(device_name_).in(mode_)*1e12; }

 private:
  train::Pretrainer<float>& trainer_;
  ComputeMode mode_;
  std::string device_name_;
  GemmContext gemm_;
  DeviceParameters params_;
  PretrainingStep step_;
  DeviceAdamW optimizer_;
};

}  // namespace electra::cuda
