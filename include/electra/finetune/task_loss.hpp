// The fine-tuning losses on the CPU tape, one per kind of target (official
// finetune/classification/classification_tasks.py and qa/qa_tasks.py):
//   classes  mean cross-entropy of logits [B,K] against labels [B]
//   values   mean squared error of logits [B,1] against values [B] (RegressionTask: score / 5)
//   span     (CE(start + penalty, starts) + CE(end + penalty, ends)) / 2 over [B,T], where the
//            penalty is −10000 at padding, so a padded batch trains exactly as unpadded
//            sequences would
// The CUDA engine computes the same losses on the device (backend/cuda/task_model.cuh).
#pragma once
#include "../ops/arithmetic.hpp"
#include "../ops/cross_entropy.hpp"
#include "../ops/reduce.hpp"
#include "task_batch.hpp"
#include "task_model.hpp"

namespace electra::finetune {

// 0 on tokens, −10000 on padding: [B,T]
template <class T>
Tensor<T> padding_penalty(const Tensor<std::int32_t>& mask) {
  Tensor<T> p(mask.shape());
  for (index_t i = 0; i < p.numel(); ++i) p.data()[i] = mask.flat(i) ? T(0) : T(-10000);
  return p;
}

template <class T>
Var<T> task_loss(const HeadOutput<T>& out, const SequenceBatch& b, const TaskTargets& t) {
  const index_t B = b.ids.size(0);
  ELECTRA_CHECK(t.batch_size() == B, shape_error, "fine-tuning loss: ", t.batch_size(), " targets for a batch of ", B);
  switch (t.kind) {
    case TargetKind::classes:
      ELECTRA_CHECK(out.logits.defined(), value_error, "fine-tuning loss: class labels need a classification head");
      return ops::cross_entropy(out.logits, t.labels);
    case TargetKind::values: {
      ELECTRA_CHECK(out.logits.defined() && out.logits.shape() == Shape({B, 1}), shape_error,
                    "fine-tuning loss: regression needs logits [B,1], got ",
                    out.logits.defined() ? out.logits.shape().to_string() : std::string("none"));
      Tensor<T> target({B});
      for (index_t i = 0; i < B; ++i) target.at(i) = T(t.values[std::size_t(i)]);
      const Var<T> diff = ops::sub(ops::reshape(out.logits, {B}), Var<T>(target));
      return ops::mean(ops::mul(diff, diff));
    }
    case TargetKind::span: {
      ELECTRA_CHECK(out.start.defined() && out.end.defined(), value_error,
                    "fine-tuning loss: span targets need the span head");
      const Var<T> penalty(padding_penalty<T>(b.mask));
      const Var<T> start = ops::cross_entropy(ops::add(out.start, penalty), t.starts);
      const Var<T> end = ops::cross_entropy(ops::add(out.end, penalty), t.ends);
      return ops::scale(ops::add(start, end), T(0.5));
    }
  }
  return {};
}

}  // namespace electra::finetune
