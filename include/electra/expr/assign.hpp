// The one assign loop: every elementwise expression on the CPU is evaluated here.
// The output is walked as rows along its innermost axis; each row runs an xsimd batch
// body and a scalar tail, and above kParallelThreshold elements the rows are split across
// OpenMP threads. When every leaf is contiguous with the output's shape (or is a single
// value) the whole tensor is one row, so broadcasting costs nothing in the common case.
#pragma once
#include <algorithm>

#include "../core/threading.hpp"
#include "expr.hpp"

namespace electra {

// What an assignment did; tests use it to prove the SIMD path is taken.
struct AssignReport {
  index_t simd_elements = 0;
  index_t scalar_elements = 0;
};

enum class AssignOp { set, add };  // dst = e, or dst += e

namespace expr {

template <AssignOp Op, class T, class Cursor>
inline void run_row(T* d, index_t d_inner, const Cursor& cur, bool simd, index_t c, index_t end,
                    AssignReport& rep) {
#if defined(ELECTRA_HAS_XSIMD)
  if constexpr (simd_enabled_v<T>) {
    using B = batch_t<T>;
    constexpr index_t W = index_t(B::size);
    if (simd && d_inner == 1) {
      const index_t c0 = c;
      for (; c + W <= end; c += W) {
        B v = cur.template batch<B>(c);
        if constexpr (Op == AssignOp::add) v += B::load_unaligned(d + c);
        v.store_unaligned(d + c);
      }
      rep.simd_elements += c - c0;
    }
  }
#endif
  rep.scalar_elements += end - c;
  for (; c < end; ++c) {
    if constexpr (Op == AssignOp::add)
      d[c * d_inner] += cur.scalar(c);
    else
      d[c * d_inner] = cur.scalar(c);
  }
}

template <AssignOp Op, class T, class E>
AssignReport assign_impl(const Tensor<T>& dst, const E& e) {
  static_assert(std::is_same_v<typename E::value_type, T>, "expression and destination element types differ");
  const Shape eshape = e.shape();
  ELECTRA_CHECK(broadcast_shapes(eshape, dst.shape()) == dst.shape(), shape_error,
                "cannot assign an expression of shape ", eshape.to_string(), " to a tensor of shape ",
                dst.shape().to_string());
  AssignReport total;
  const index_t n = dst.numel();
  if (n == 0) return total;

  const bool flat = dst.is_contiguous() && e.flat_compatible(dst.shape());
  const Shape out = flat ? Shape{n} : (dst.rank() == 0 ? Shape{1} : dst.shape());
  const auto bound = e.bind(out, flat);
  const bool simd = bound.simd_ok();
  const int lead = out.rank() - 1;
  const index_t inner = out.back();
  Strides dst_st{};
  if (flat) {
    dst_st[0] = 1;
  } else if (dst.rank() == 0) {
    dst_st[0] = 1;
  } else {
    dst_st = dst.strides();
  }

  // Processes flat output elements [begin, end): the loop.
  auto run = [&](index_t begin, index_t end, AssignReport& rep) {
    index_t r = begin / inner, c = begin % inner;
    index_t coord[kMaxRank] = {};
    while (begin < end) {
      const index_t stop = std::min(inner, c + (end - begin));
      index_t rr = r, d_off = 0;
      for (int i = lead - 1; i >= 0; --i) {
        coord[i] = rr % out[i];
        rr /= out[i];
        d_off += coord[i] * dst_st[std::size_t(i)];
      }
      run_row<Op>(dst.data() + d_off, dst_st[std::size_t(lead)], bound.row(coord), simd, c, stop, rep);
      begin += stop - c;
      c = 0;
      ++r;
    }
  };

  const int threads = num_threads();
  if (threads > 1 && n >= kParallelThreshold) {
#if defined(_OPENMP)
    const index_t W = simd_width<T>;
index_t simd_sum = 0, scalar_sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : simd_sum, scalar_sum)
    {
      const index_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      // Split on batch boundaries so each thread's body stays full-width.
      const index_t chunk = (n / nt + W - 1) / W * W;
      const index_t b = std::min(n, t * chunk), en = std::min(n, b + chunk);
      AssignReport rep;
      if (b < en) run(b, en, rep);
      simd_sum += rep.simd_elements;
      scalar_sum += rep.scalar_elements;
    }
    total.simd_elements = simd_sum;
    total.scalar_elements = scalar_sum;
    return total;
#endif
  }
  run(0, n, total);
  return total;
}

}  // namespace expr

// dst = e (e broadcast to dst's shape). dst may be any view; it is written in place.
template <class T, class E>
  requires(expr::is_operand_v<E> || std::is_arithmetic_v<std::remove_cvref_t<E>>)
AssignReport assign(const Tensor<T>& dst, E&& e) {
  return expr::assign_impl<AssignOp::set>(dst, expr::as_node<T>(std::forward<E>(e)));
}

// dst += e
template <class T, class E>
  requires(expr::is_operand_v<E> || std::is_arithmetic_v<std::remove_cvref_t<E>>)
AssignReport accumulate(const Tensor<T>& dst, E&& e) {
  return expr::assign_impl<AssignOp::add>(dst, expr::as_node<T>(std::forward<E>(e)));
}

// A new contiguous tensor holding the value of e.
template <class E>
  requires expr::is_operand_v<E>
auto eval(E&& e) {
  using T = typename std::remove_cvref_t<E>::value_type;
  const auto node = expr::as_node<T>(std::forward<E>(e));
  Tensor<T> out(node.shape());
  expr::assign_impl<AssignOp::set>(out, node);
  return out;
}

}  // namespace electra
