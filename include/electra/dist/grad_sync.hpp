// Summing gradients over the ranks of a data-parallel run. Gradients are copied into buckets
// of about 4 MiB, each summed by one all-reduce and copied back: ELECTRA-Small has 203
// discriminator tensors, most of them small (biases, LayerNorms), and one collective per
// tensor would be dominated by latency. The bucket buffer and its bookkeeping are allocated
// once (and not at all for a single process), so a step makes no heap allocation here.
//
// Parameters without a gradient (the discriminator under the MLM-only objective) are skipped;
// every rank runs the same graph, so every rank skips the same ones.
//
// The sum runs after the whole backward pass: our tape has no per-leaf completion hook, so
// communication does not overlap the backward computation (docs/distributed.md).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "../nn/parameter.hpp"
#include "communicator.hpp"

namespace electra::dist {

inline constexpr std::size_t kDefaultBucketBytes = std::size_t(4) << 20;

template <class T>
class GradientSync {
 public:
  GradientSync(nn::ParameterList<T> params, Communicator& comm, std::size_t bucket_bytes = kDefaultBucketBytes)
      : params_(std::move(params)), comm_(comm) {
    if (comm.size() == 1) return;
    bucket_.resize(std::max<std::size_t>(1, bucket_bytes / sizeof(T)));
    pending_.reserve(params_.size() + 1);  // each tensor adds at most one part per bucket it ends in
  }

  // grad ← Σ_ranks grad for every parameter that has one.
  void sum() {
    if (comm_.size() == 1) return;
    std::size_t filled = 0;
    auto flush = [&] {
      if (!filled) return;
      comm_.allreduce_sum(bucket_.data(), filled);
      std::size_t at = 0;
      for (auto [g, n] : pending_) {
        std::memcpy(g, bucket_.data() + at, n * sizeof(T));
        at += n;
      }
      pending_.clear();
      filled = 0;
    };
    for (const auto& p : params_) {
      if (!p.var.has_grad()) continue;
      T* g = p.var.impl()->grad_buffer().data();
      std::size_t n = std::size_t(p.var.value().numel());
      // A tensor larger than the bucket goes in bucket-sized pieces.
      while (n > 0) {
        const std::size_t take = std::min(n, bucket_.size() - filled);
        std::memcpy(bucket_.data() + filled, g, take * sizeof(T));
        pending_.emplace_back(g, take);
        filled += take;
        g += take;
        n -= take;
        if (filled == bucket_.size()) flush();
      }
    }
    flush();
  }

 private:
  nn::ParameterList<T> params_;
  Communicator& comm_;
  std::vector<T> bucket_;
  std::vector<std::pair<T*, std::size_t>> pending_;  // (grad, length) parts waiting in the bucket
};

}  // namespace electra::dist
