// Matrix products.
//   matmul: y[M,N] = a[M,K] · b[K,N]           da += dy·bᵀ     db += aᵀ·dy
//           y[B,M,N] = a[B,M,K] · b[B,K,N]     the same per batch item (strided-batched GEMM)
#pragma once
#include "../autograd/var.hpp"
#include "../backend/cpu/gemm.hpp"

namespace electra::ops {

namespace detail {
struct MatmulDims {
  index_t batch, M, N, K;
};
inline MatmulDims matmul_dims(const Shape& a, const Shape& b) {
  const bool two = a.rank() == 2 && b.rank() == 2, three = a.rank() == 3 && b.rank() == 3;
  ELECTRA_CHECK(two || three, shape_error, "matmul: expects [M,K]·[K,N] or [B,M,K]·[B,K,N], got ", a.to_string(),
                " · ", b.to_string());
  const int r = a.rank();
  ELECTRA_CHECK(a[r - 1] == b[r - 2] && (two || a[0] == b[0]), shape_error, "matmul: shapes ", a.to_string(),
                " and ", b.to_string(), " do not chain");
  return {three ? a[0] : 1, a[r - 2], b[r - 1], a[r - 1]};
}

// c (+)= op(a)·op(b) for every batch item; all contiguous, shapes already checked.
template <class T>
void batched_product(bool ta, bool tb, index_t batch, index_t M, index_t N, index_t K, const T* a, const T* b,
                     T beta, T* c) {
  const index_t lda = ta ? M : K, ldb = tb ? K : N;
  if (batch == 1)
    cpu::gemm(ta, tb, M, N, K, T(1), a, lda, b, ldb, beta, c, N);
  else
    cpu::gemm_strided_batched(ta, tb, M, N, K, T(1), a, lda, M * K, b, ldb, K * N, beta, c, N, M * N, batch);
}

template <class T>
struct MatmulNode : OpNode<T> {
  Var<T> a, b;
  Tensor<T> av, bv;  // contiguous values
  MatmulDims d;
  const char* name() const override { return "matmul"; }
  void backward(const Tensor<T>& dy_in) override {
    const Tensor<T> dy = dy_in.contiguous();
    if (a.requires_grad())  // da[M,K] += dy[M,N] · bᵀ
      batched_product(false, true, d.batch, d.M, d.K, d.N, dy.data(), bv.data(), T(1),
                      a.impl()->grad_buffer().data());
    if (b.requires_grad())  // db[K,N] += aᵀ · dy[M,N]
      batched_product(true, false, d.batch, d.K, d.N, d.M, av.data(), dy.data(), T(1),
                      b.impl()->grad_buffer().data());
  }
};
}  // namespace detail

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  const auto d = detail::matmul_dims(a.shape(), b.shape());
  const Tensor<T> av = a.value().contiguous(), bv = b.value().contiguous();
  Tensor<T> y(a.shape().rank() == 3 ? Shape{d.batch, d.M, d.N} : Shape{d.M, d.N});
  detail::batched_product(false, false, d.batch, d.M, d.N, d.K, av.data(), bv.data(), T(0), y.data());
  return record_op(
      std::move(y),
      [&] {
        auto* n = new detail::MatmulNode<T>();
        n->a = a;
        n->b = b;
        n->av = av;
        n->bv = bv;
        n->d = d;
        return n;
      },
      a, b);
}

}  // namespace electra::ops
