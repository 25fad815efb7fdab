// Var<T>: a tensor in the autograd graph: its value, its gradient (allocated on first
// use) and whether it needs one. A Var made by a recorded op remembers the tape
// generation it belongs to, so back-propagating through a freed tape is an error.
#pragma once
#include <cstdint>
#include <utility>

#include "../backend/cpu/parallel.hpp"
#include "../core/tensor.hpp"
#include "../expr/assign.hpp"
#include "grad_mode.hpp"
#include "tape.hpp"

namespace electra {

template <class T>
struct VarImpl : RefCounted, PoolAllocated {
  Tensor<T> value;
  Tensor<T> grad;  // undefined until something flows into it
  bool requires_grad = false;
  std::uint64_t generation = 0;  // 0 for leaves, the tape generation for op outputs

  // The gradient buffer, zero-filled on first use (on all threads: a training step zeroes
  // one per activation). Ops accumulate into it.
  const Tensor<T>& grad_buffer() {
    if (!grad.defined()) {
      grad = Tensor<T>(value.shape());
      cpu::parallel_fill(grad.data(), grad.numel(), T(0));
    }
    return grad;
  }
};

template <class T>
class Var {
 public:
  using value_type = T;

  Var() = default;
  explicit Var(Tensor<T> value, bool requires_grad = false) : impl_(new VarImpl<T>()) {
    impl_->value = std::move(value);
    impl_->requires_grad = requires_grad;
  }
  // A trainable leaf.
  static Var parameter(Tensor<T> value) { return Var(std::move(value), true); }

  bool defined() const { return bool(impl_); }
  const Tensor<T>& value() const { return impl_->value; }
  const Tensor<T>& grad() const { return impl_->grad; }
  bool has_grad() const { return impl_->grad.defined(); }
  const Shape& shape() const { return impl_->value.shape(); }
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  void set_requires_grad(bool r) { impl_->requires_grad = r; }
  bool is_leaf() const { return impl_->generation == 0; }
  VarImpl<T>* impl() const { return impl_.get(); }
  T item() const { return impl_->value.item(); }

  // Zeroes the gradient in place (keeping its buffer for the next step).
  void zero_grad() const {
    if (impl_->grad.defined()) impl_->grad.fill(T(0));
  }
  // Drops the gradient buffer.
  void clear_grad() const { impl_->grad = Tensor<T>(); }

  // Back-propagates from this scalar with seed 1, accumulating into every leaf's grad.
  void backward(bool retain_graph = false) const {
    check_backward();
    ELECTRA_CHECK(shape().numel() == 1, autograd_error, "backward() on a non-scalar Var of shape ", shape().to_string(),
                  " needs a seed gradient of that shape: call backward(seed)");
    impl_->grad_buffer().flat(0) += T(1);
    finish(retain_graph);
  }
  // Back-propagates with an explicit seed gradient of this Var's shape.
  void backward(const Tensor<T>& seed, bool retain_graph = false) const {
    check_backward();
    ELECTRA_CHECK(seed.shape() == shape(), autograd_error, "backward(): seed shape ", seed.shape().to_string(),
                  " differs from the Var's shape ", shape().to_string());
    accumulate(impl_->grad_buffer(), seed);
    finish(retain_graph);
  }

 private:
  void check_backward() const {
    ELECTRA_CHECK(defined(), autograd_error, "backward() on an empty Var");
    ELECTRA_CHECK(requires_grad(), autograd_error,
                  "backward() on a Var that does not require grad (no input needed a gradient, or it was made "
                  "under NoGradGuard)");
    ELECTRA_CHECK(is_leaf() || impl_->generation == tape().generation(), autograd_error,
                  "backward() through a freed tape: this Var's graph was already back-propagated or cleared "
                  "(pass retain_graph = true to back-propagate twice)");
  }
  void finish(bool retain_graph) const {
    tape().run_backward();
    if (!retain_graph) tape().clear();
  }

  Ref<VarImpl<T>> impl_;
};

// ---- what every op uses to record itself ----------------------------------------------

// A node that back-propagates the gradient of one output Var.
template <class T>
struct OpNode : Node {
  Ref<VarImpl<T>> out;
  void run() final {
    if (!out->grad.defined()) return;  // nothing flowed into this output
    backward(out->grad);
    if (out->generation != 0) out->grad = Tensor<T>();  // an intermediate's gradient is not kept
  }
  virtual void backward(const Tensor<T>& dout) = 0;
};

template <class... V>
bool any_requires_grad(const V&... vars) {
  return grad_enabled() && (vars.requires_grad() || ...);
}

// Wraps an op's result; if `needs_grad`, records the node made by `make_node()` (which
// returns a `new` OpNode holding what backward needs) as the result's creator.
template <class T, class MakeNode>
Var<T> record_op_if(bool needs_grad, Tensor<T> value, MakeNode&& make_node) {
  Var<T> out(std::move(value));
  if (needs_grad) {
    OpNode<T>* node = make_node();
    node->out = Ref<VarImpl<T>>(out.impl());
    out.impl()->requires_grad = true;
    out.impl()->generation = tape().generation();
    tape().push(node);
  }
  return out;
}

// The common case: record when grad mode is on and any input needs a gradient.
template <class T, class MakeNode, class... V>
Var<T> record_op(Tensor<T> value, MakeNode&& make_node, const V&... inputs) {
  return record_op_if(any_requires_grad(inputs...), std::move(value), std::forward<MakeNode>(make_node));
}

// Accumulates `g` into v's gradient if v needs one.
template <class T, class E>
void accumulate_grad(const Var<T>& v, E&& g) {
  if (v.requires_grad()) accumulate(v.impl()->grad_buffer(), std::forward<E>(g));
}

}  // namespace electra
