// StepEngine: a device that runs a pretraining step's forward, backward, clip and update in
// place of the CPU (the CUDA backend's is backend/cuda/pretrain_engine.cuh). The Pretrainer still
// masks on the host, keys every micro-batch's randomness and computes the loss shares, so an
// engine sees exactly the draws and scales the CPU path would; it keeps working copies of the
// parameters and AdamW moments and writes them back on sync_to_host() (before checkpoints and
// exports) and reads them on sync_to_device() (after a checkpoint is loaded). Held-out
// evaluation runs on the engine too (evaluate).
#pragma once
#include <string>

#include "../model/pretraining.hpp"
#include "metrics.hpp"

namespace electra::train {

struct EngineMicroResult {
  PretrainMetrics metrics;  // the micro-batch's own losses (unscaled) and metrics
  double share_loss = 0;    // mlm_scale · mlm + rtd_scale · rtd: its share of the batch's loss
};

template <class T>
class StepEngine {
 public:
  virtual ~StepEngine() = default;
  // Forward and backward of one micro-batch with the given masking; the gradients of
  // float(mlm_scale) · mlm + float(rtd_scale) · rtd (model::loss_share_scales; rtd_scale is
  // unused by the MLM-only objective) accumulate on the device. `rng` is the micro-batch's own
  // (already used for its masking), drawn from as the CPU's pretraining_forward draws.
  virtual EngineMicroResult forward_backward(const model::Batch& batch, model::MaskedBatch<T> masked, Rng& rng,
                                             double mlm_scale, double rtd_scale) = 0;
  // Held-out metrics of a batch in evaluation mode, as model::pretraining_step(model, batch, rng,
  // false) computes them on the CPU (masking and Gumbel noise drawn from rng); no gradient.
  virtual PretrainMetrics evaluate(const model::Batch& batch, Rng& rng) = 0;
  // Clip the summed gradients to max_norm, take one AdamW step at lr, zero the gradients.
  // Returns the pre-clip global norm; throws (and updates nothing) if it is not finite.
  virtual double clip_and_update(double lr, double max_norm) = 0;
  virtual void sync_to_host() = 0;                 // parameters and moments -> the CPU model and optimizer
  virtual void sync_to_device() = 0;               // the CPU model and optimizer -> the device
  virtual std::string describe() const = 0;        // for the progress header, e.g. "cuda: NVIDIA H100 (tf32)"
  virtual std::string precision_name() const = 0;  // recorded in checkpoints, e.g. "cuda-tf32"
  virtual double peak_flops() const = 0;           // dense peak of the device in this mode; 0 if unknown
};

}  // namespace electra::train
