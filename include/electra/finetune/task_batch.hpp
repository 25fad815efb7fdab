// A fine-tuning batch: the padded token sequences and what the loss compares the head with.
//   SequenceBatch   ids, types, mask [B,T], padded to the batch's longest sequence
//   TaskTargets     one of: class labels [B] (classification), values [B] (regression: STS-B's
//                   score / 5), or answer start and end positions [B] (span, SQuAD)
// Both backends take these, so the CPU model and a device engine (task_engine.hpp) train on
// exactly the same numbers.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace electra::finetune {

// Token ids and segments of some examples, padded to the longest: ids, types, mask [B,T].
struct SequenceBatch {
  Tensor<std::int32_t> ids, types, mask;
};

// `features[i]` needs `.ids` and `.segments` (PairFeatures, SquadFeature, ...).
template <class Feature>
SequenceBatch pad_batch(const std::vector<Feature>& features, const std::vector<std::size_t>& rows) {
  ELECTRA_CHECK(!rows.empty(), value_error, "pad_batch: no rows");
  std::size_t longest = 0;
  for (std::size_t r : rows) longest = std::max(longest, features[r].ids.size());
  const index_t B = index_t(rows.size()), T_ = index_t(longest);
  SequenceBatch b{Tensor<std::int32_t>::zeros({B, T_}), Tensor<std::int32_t>::zeros({B, T_}),
                  Tensor<std::int32_t>::zeros({B, T_})};
  for (index_t i = 0; i < B; ++i) {
    const auto& f = features[rows[std::size_t(i)]];
    for (std::size_t t = 0; t < f.ids.size(); ++t) {
      b.ids.at(i, index_t(t)) = f.ids[t];
      b.types.at(i, index_t(t)) = f.segments[t];
      b.mask.at(i, index_t(t)) = 1;
    }
  }
  return b;
}

enum class TargetKind { classes, values, span };

struct TaskTargets {
  TargetKind kind = TargetKind::classes;
  Tensor<std::int32_t> labels;        // classes: [B] in [0, K)
  std::vector<double> values;         // values:  [B]
  Tensor<std::int32_t> starts, ends;  // span:    [B] in [0, T)

  static TaskTargets classes(Tensor<std::int32_t> labels) {
    TaskTargets t;
    t.labels = std::move(labels);
    return t;
  }
  static TaskTargets regression(std::vector<double> values) {
    TaskTargets t;
    t.kind = TargetKind::values;
    t.values = std::move(values);
    return t;
  }
  static TaskTargets span(Tensor<std::int32_t> starts, Tensor<std::int32_t> ends) {
    TaskTargets t;
    t.kind = TargetKind::span;
    t.starts = std::move(starts);
    t.ends = std::move(ends);
    return t;
  }

  index_t batch_size() const {
    switch (kind) {
      case TargetKind::classes:
        return labels.defined() ? labels.numel() : 0;
      case TargetKind::values:
        return index_t(values.size());
      case TargetKind::span:
        return starts.defined() ? starts.numel() : 0;
    }
    return 0;
  }
};

struct TaskBatch {
  SequenceBatch inputs;
  TaskTargets targets;
};

// A head's output in evaluation mode, on the host: logits [B,K], or start and end logits [B,T].
template <class T>
struct HeadValues {
  Tensor<T> logits;
  Tensor<T> start, end;
};

}  // namespace electra::finetune
