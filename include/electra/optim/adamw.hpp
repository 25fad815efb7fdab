// AdamW exactly as ELECTRA's AdamWeightDecayOptimizer (google-research/electra model/optimization.py):
//   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  u = m / (√v + ε) [+ wd · p];  p ← p − lr · u
// No bias correction (hence ε = 1e-6, not 1e-8: early steps are tiny and ε matters). Weight
// decay uses the pre-update p and is skipped for names containing any `no_decay` pattern.
// Arithmetic is in T, in the official operation order, so float32 matches TF's float32 kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../backend/cpu/parallel.hpp"
#include "../core/error.hpp"
#include "../nn/parameter.hpp"
#include "clip.hpp"

namespace electra::optim {

struct AdamWOptions {
  double lr = 1e-3;  // default rate for step(); the trainer passes the scheduled one
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-6;
  double weight_decay = 0.0;  // ELECTRA pretraining uses 0.01
  // Literal substrings (the official list is passed to re.search, but holds no metacharacters).
  std::vector<std::string> no_decay = {"LayerNorm", "layer_norm", "bias"};

  void validate() const {
    ELECTRA_CHECK(std::isfinite(lr) && lr >= 0, value_error, "AdamW: invalid learning rate: ", lr);
    ELECTRA_CHECK(beta1 >= 0 && beta1 < 1, value_error, "AdamW: invalid beta1 (must be in [0, 1)): ", beta1);
    ELECTRA_CHECK(beta2 >= 0 && beta2 < 1, value_error, "AdamW: invalid beta2 (must be in [0, 1)): ", beta2);
    ELECTRA_CHECK(std::isfinite(eps) && eps > 0, value_error, "AdamW: invalid epsilon (must be > 0): ", eps);
    ELECTRA_CHECK(std::isfinite(weight_decay) && weight_decay >= 0, value_error,
                  "AdamW: invalid weight_decay (must be >= 0): ", weight_decay);
  }
  // The official _do_use_weight_decay: no decay at rate 0 or when any pattern occurs in the name.
  bool decays(const std::string& name) const {
    if (!(weight_decay > 0)) return false;
    return std::none_of(no_decay.begin(), no_decay.end(),
                        [&](const std::string& pat) { return name.find(pat) != std::string::npos; });
  }
};

template <class T>
struct AdamWState {
  Tensor<T> m;  // first moment ("adam_m" in the official checkpoints)
  Tensor<T> v;  // second moment ("adam_v")
};

template <class T>
class AdamW {
 public:
  // Keeps handles to the parameters' Vars (shared, not copied). `lr_scales`, if given, holds one
  // multiplier per parameter (layerwise_lr_scales) applied to the step's lr.
  explicit AdamW(nn::ParameterList<T> params, AdamWOptions options = {}, std::vector<double> lr_scales = {})
      : params_(std::move(params)), opt_(std::move(options)) {
    opt_.validate();
    std::unordered_map<const void*, std::size_t> seen;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto& p = params_[i];
      ELECTRA_CHECK(p.var.defined(), value_error, "AdamW: parameter '", p.name, "' is an empty Var");
      ELECTRA_CHECK(p.var.value().is_contiguous(), shape_error, "AdamW: parameter '", p.name,
                    "' must be contiguous");
      // A Var listed twice would be updated twice per step.
      const auto [it, fresh] = seen.emplace(p.var.impl(), i);
      ELECTRA_CHECK(fresh, value_error, "AdamW: parameters '", params_[it->second].name, "' and '", p.name,
                    "' are the same Var");
      state_.push_back({Tensor<T>::zeros(p.var.shape()), Tensor<T>::zeros(p.var.shape())});
      decay_.push_back(opt_.decays(p.name));
    }
    set_lr_scales(std::move(lr_scales));
  }

  // Empty = every scale 1.
  void set_lr_scales(std::vector<double> scales) {
    if (scales.empty()) scales.assign(params_.size(), 1.0);
    ELECTRA_CHECK(scales.size() == params_.size(), value_error, "AdamW: ", scales.size(),
                  " lr scales for ", params_.size(), " parameters");
    for (std::size_t i = 0; i < scales.size(); ++i)
      ELECTRA_CHECK(std::isfinite(scales[i]) && scales[i] >= 0, value_error, "AdamW: lr scale ", scales[i],
                    " for parameter '", params_[i].name, "' must be a finite value >= 0");
    scales_ = std::move(scales);
  }

  void step() { step(opt_.lr); }

  // One update of every parameter that has a gradient; the others (and their state) are untouched.
  void step(double lr) {
    ELECTRA_CHECK(std::isfinite(lr) && lr >= 0, value_error, "AdamW::step: invalid learning rate: ", lr);
    // Coefficients rounded to T once, as TF turns the Python floats into float32 constants.
    const T b1 = T(opt_.beta1), c1 = T(1.0 - opt_.beta1);
    const T b2 = T(opt_.beta2), c2 = T(1.0 - opt_.beta2);
    const T eps = T(opt_.eps), wd = T(opt_.weight_decay);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const auto& p = params_[i];
      if (!p.var.has_grad()) continue;
      const T* g = detail::checked_grad(p).data();
      T* w = p.var.value().data();
      T* m = state_[i].m.data();
      T* v = state_[i].v.data();
      const T plr = T(lr * scales_[i]);
      const bool dec = decay_[i];
      const index_t n = p.var.value().numel();
      const index_t chunks = (n + detail::kOptimChunk - 1) / detail::kOptimChunk;
      // One fused pass: g, m, v, p each read once; m, v, p each written once.
      cpu::parallel_rows(chunks, detail::kOptimChunk, [&](index_t c) {
        const index_t end = std::min(n, (c + 1) * detail::kOptimChunk);
        for (index_t k = c * detail::kOptimChunk; k < end; ++k) {
          const T gk = g[k], pk = w[k];
          const T mk = b1 * m[k] + c1 * gk;
          const T vk = b2 * v[k] + c2 * (gk * gk);
          T u = mk / (std::sqrt(vk) + eps);
          if (dec) u += wd * pk;
          m[k] = mk;
          v[k] = vk;
          w[k] = pk - plr * u;
        }
      });
    }
  }

  void zero_grad() const {
    for (const auto& p : params_) p.var.zero_grad();
  }

  std::size_t size() const { return params_.size(); }
  const nn::ParameterList<T>& params() const { return params_; }
  const AdamWOptions& options() const { return opt_; }
  // Moments for checkpoints. The handles are fixed; load a checkpoint into them with
  // state(i).m.copy_from(saved), which checks the shape.
  const AdamWState<T>& state(std::size_t i) const { return state_.at(i); }
  bool decays(std::size_t i) const { return decay_.at(i); }
  double lr_scale(std::size_t i) const { return scales_.at(i); }

 private:
  nn::ParameterList<T> params_;
  AdamWOptions opt_;
  std::vector<AdamWState<T>> state_;
  std::vector<bool> decay_;  // decided once, from the names
  std::vector<double> scales_;
};

}  // namespace electra::optim
