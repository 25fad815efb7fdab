// TaskEngine: a device that runs fine-tuning's forward, backward, clip and AdamW update, and
// the evaluation forward, in place of the CPU tape (the CUDA backend's is
// backend/cuda/finetune_engine.cuh). FineTuner still orders the batches, keys dropout from its
// Rng and sets the learning rate, so an engine sees exactly the batches, draws and rates the CPU
// path would; it keeps working copies of the parameters and AdamW moments, and writes the
// parameters back into the CPU model on sync_to_host() (before the model is saved).
//   engine = factory(TaskEngineSpec{...});   tuner.set_engine(engine.get());
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "../autograd/grad_mode.hpp"
#include "../optim/adamw.hpp"
#include "task_batch.hpp"
#include "task_model.hpp"

namespace electra::finetune {

// What an engine is built from: the task model's layout and its parameters in
// TaskModel::parameters()' order (HuggingFace names), and the CPU optimizer whose options,
// per-tensor decay, layer-wise lr scales and moments it takes over (null: evaluation only).
template <class T>
struct TaskEngineSpec {
  model::EncoderDims dims;
  HeadKind head = HeadKind::official;
  Pooling pooling = Pooling::cls;
  index_t outputs = 1;  // K; 2 for the span head
  nn::ParameterList<T> parameters;
  const optim::AdamW<T>* optimizer = nullptr;

  static TaskEngineSpec of(const TaskModel<T>& m, const optim::AdamW<T>* optimizer) {
    return {m.dims, m.head_kind, m.pooling, m.num_outputs, m.parameters(), optimizer};
  }
};

template <class T>
class TaskEngine {
 public:
  virtual ~TaskEngine() = default;
  // Forward in training mode (dropout keys drawn from `rng` as TaskModel draws them) and the
  // backward of float(scale) · task_loss; the gradients accumulate on the device. Returns that
  // scaled loss as the CPU computes it (in T).
  virtual double forward_backward(const TaskBatch& batch, Rng& rng, double scale) = 0;
  // Clip the accumulated gradients to max_norm, one AdamW step at lr, zero the gradients.
  // Returns the pre-clip global norm; throws (and updates nothing) if it is not finite.
  virtual double clip_and_update(double lr, double max_norm) = 0;
  // The head's output in evaluation mode (no dropout).
  virtual HeadValues<T> predict(const SequenceBatch& inputs) = 0;
  virtual void sync_to_host() = 0;           // parameters -> the CPU model
  virtual std::string describe() const = 0;  // for progress lines and results.json, e.g. "cuda: NVIDIA H100 (tf32)"
};

// The head's evaluation-mode output for a batch: on the engine when there is one, else on the
// CPU model (no tape, no dropout).
template <class T>
HeadValues<T> predict_heads(const TaskModel<T>& m, TaskEngine<T>* engine, const SequenceBatch& b) {
  if (engine) return engine->predict(b);
  NoGradGuard no_grad;
  Rng unused(0);  // evaluation draws no keys
  const HeadOutput<T> out = m(b.ids, b.types, b.mask, unused, false);
  HeadValues<T> v;
  if (out.logits.defined()) v.logits = out.logits.value().contiguous();
  if (out.start.defined()) v.start = out.start.value().contiguous(), v.end = out.end.value().contiguous();
  return v;
}

template <class T>
using TaskEngineFactory = std::function<std::unique_ptr<TaskEngine<T>>(const TaskEngineSpec<T>&)>;

namespace detail {
// The engine `factory` builds for m and its optimizer; null without a factory. Device engines
// train float models only.
template <class T>
std::unique_ptr<TaskEngine<T>> make_engine(const TaskEngineFactory<float>& factory, const TaskModel<T>& m,
                                           const optim::AdamW<T>* optimizer) {
  if (!factory) return nullptr;
  if constexpr (std::is_same_v<T, float>) {
    return factory(TaskEngineSpec<float>::of(m, optimizer));
  } else {
    ELECTRA_CHECK(false, value_error, "fine-tuning: device engines train float models only");
    return nullptr;
  }
}
}  // namespace detail

}  // namespace electra::finetune
