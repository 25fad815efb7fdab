// Fully connected layer, weights stored [out, in] as PyTorch/HuggingFace do.
//   y[R,N] = x[R,K] · W[N,K]ᵀ + b[N]        (x may have any leading shape; R = their product)
//   dx += dy·W      dW += dyᵀ·x      db += Σ_rows dy
#pragma once
#include "../autograd/var.hpp"
#include "../backend/cpu/gemm.hpp"
#include "../backend/cpu/parallel.hpp"

namespace electra::ops {

namespace detail {
template <class T>
struct LinearNode : OpNode<T> {
  Var<T> x, W, b;
  Tensor<T> xv;  // contiguous input
  index_t R, K, N;
  const char* name() const override { return "linear"; }
  void backward(const Tensor<T>& dy_in) override {
    const Tensor<T> dy = dy_in.contiguous();
    if (x.requires_grad())
      cpu::gemm(false, false, R, K, N, T(1), dy.data(), N, W.value().data(), K, T(1), x.impl()->grad_buffer().data(),
                K);
    if (W.requires_grad())
      cpu::gemm(true, false, N, K, R, T(1), dy.data(), N, xv.data(), K, T(1), W.impl()->grad_buffer().data(), K);
    if (b.requires_grad()) {  // column blocks over threads; each column summed in row order
      T* db = b.impl()->grad_buffer().data();
      const T* d = dy.data();
      const index_t rows = R, cols = N;
      constexpr index_t kCols = 64;
      cpu::parallel_rows((cols + kCols - 1) / kCols, rows * kCols, [=](index_t block) {
        const index_t j0 = block * kCols, j1 = std::min(cols, j0 + kCols);
        for (index_t r = 0; r < rows; ++r)
          for (index_t j = j0; j < j1; ++j) db[j] += d[r * cols + j];
      });
    }
  }
};
}  // namespace detail

// bias may be an empty Var (no bias).
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& W, const Var<T>& bias = Var<T>()) {
  const Shape& xs = x.shape();
  ELECTRA_CHECK(W.shape().rank() == 2 && xs.rank() >= 1 && xs.back() == W.shape()[1], shape_error, "linear: input ",
                xs.to_string(), " does not match weight ", W.shape().to_string(), " (weights are [out, in])");
  ELECTRA_CHECK(W.value().is_contiguous(), shape_error, "linear: weight must be contiguous");
  const index_t K = W.shape()[1], N = W.shape()[0], R = xs.numel() / std::max<index_t>(K, 1);
  if (bias.defined())
    ELECTRA_CHECK(bias.shape() == Shape{N}, shape_error, "linear: bias ", bias.shape().to_string(),
                  " does not match weight ", W.shape().to_string());
  const Tensor<T> xv = x.value().contiguous();
  Shape ys = xs;
  ys[ys.rank() - 1] = N;
  Tensor<T> y(ys);
  if (bias.defined())  // y = x·Wᵀ + b in every row
    cpu::gemm_bias(false, true, R, N, K, xv.data(), K, W.value().data(), K, bias.value().data(), y.data(), N);
  else
    cpu::gemm(false, true, R, N, K, T(1), xv.data(), K, W.value().data(), K, T(0), y.data(), N);
  return record_op(
      std::move(y),
      [&] {
        auto* n = new detail::LinearNode<T>();
        n->x = x;
        n->W = W;
        n->b = bias;
        n->xv = xv;
        n->R = R;
        n->K = K;
        n->N = N;
        return n;
      },
      x, W, bias);
}

}  // namespace electra::ops
