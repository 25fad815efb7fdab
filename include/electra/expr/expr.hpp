// Expression templates. `exp(a) * 2 + b` builds a tree of nodes; nothing is computed
// until the tree is assigned (assign.hpp). A node holds each child by its *closure*:
// a named (lvalue) tensor or expression by const reference, a temporary (rvalue) by value.
// So `auto e = exp(make_tensor()) * 2;` is safe (the temporary tensor is moved into the
// tree), while `auto e = a * 2;` reads `a` when e is evaluated, not when it was built.
// The one trap left is an expression outliving a named tensor it refers to (docs/ops.md).
//
// Evaluation protocol, used only by the assign loop:
//   shape()                       broadcast shape of the tree
//   flat_compatible(out)          every leaf is contiguous with shape `out` or a single value
//   bind(out, flat) -> Bound      leaves precompute strides broadcast to `out`
//   Bound::simd_ok()              every leaf's innermost stride is 0 or 1
//   Bound::row(coord) -> Cursor   leaves add the offset of output row `coord`
//   Cursor::scalar(c), batch<B>(c)  the value at column c of that row
#pragma once
#include <tuple>
#include <type_traits>
#include <utility>

#include "../core/tensor.hpp"
#include "functors.hpp"

namespace electra::expr {

struct ExprTag {};  // base of every node: marks a type as an expression
template <class E>
inline constexpr bool is_expr_v = std::is_base_of_v<ExprTag, std::remove_cvref_t<E>>;

template <class E>
using closure_t = std::conditional_t<std::is_lvalue_reference_v<E>, const std::remove_reference_t<E>&,
                                     std::remove_cvref_t<E>>;

// ---- leaves -----------------------------------------------------------------------------

template <class T>
struct LeafCursor {
  const T* p;
  index_t inner;  // stride along the innermost output axis
  T scalar(index_t c) const { return p[c * inner]; }
#if defined(ELECTRA_HAS_XSIMD)
  template <class B>
  B batch(index_t c) const {
    return inner ? B::load_unaligned(p + c) : B(*p);
  }
#endif
};

template <class T>
struct BoundLeaf {
  const T* base;
  Strides st;
  int lead;  // number of leading (row) axes
  bool simd_ok() const { return st[std::size_t(lead)] == 0 || st[std::size_t(lead)] == 1; }
  LeafCursor<T> row(const index_t* coord) const {
    index_t off = 0;
    for (int i = 0; i < lead; ++i) off += coord[i] * st[std::size_t(i)];
    return {base + off, st[std::size_t(lead)]};
  }
};

// A tensor in a tree. Holder is `const Tensor<T>&` (lvalue) or `Tensor<T>` (rvalue).
template <class T, class Holder>
struct Leaf : ExprTag {
  using value_type = T;
  Holder t;
  Shape shape() const { return t.shape(); }
  bool flat_compatible(const Shape& out) const {
    return t.numel() == 1 || (t.shape() == out && t.is_contiguous());
  }
  BoundLeaf<T> bind(const Shape& out, bool flat) const {
    if (flat) {
      Strides st{};
      st[0] = t.numel() == 1 ? 0 : 1;
      return {t.data(), st, 0};
    }
    return {t.data(), broadcast_strides(t.shape(), t.strides(), out), out.rank() - 1};
  }
};

template <class T>
struct ScalarCursor {
  T v;
  T scalar(index_t) const { return v; }
#if defined(ELECTRA_HAS_XSIMD)
  template <class B>
  B batch(index_t) const {
    return B(v);
  }
#endif
};

template <class T>
struct Scalar : ExprTag {
  using value_type = T;
  T v;
  struct Bound {
    T v;
    bool simd_ok() const { return true; }
    ScalarCursor<T> row(const index_t*) const { return {v}; }
  };
  Shape shape() const { return Shape{}; }
  bool flat_compatible(const Shape&) const { return true; }
  Bound bind(const Shape&, bool) const { return {v}; }
};

// ---- interior nodes: a functor applied to 1..3 children ---------------------------------

template <class F, class... Cs>
struct MapCursor {
  F f;
  std::tuple<Cs...> cs;
  auto scalar(index_t c) const {
    return std::apply([&](const auto&... ch) { return f(ch.scalar(c)...); }, cs);
  }
#if defined(ELECTRA_HAS_XSIMD)
  template <class B>
  B batch(index_t c) const {
    return std::apply([&](const auto&... ch) { return f.batch(ch.template batch<B>(c)...); }, cs);
  }
#endif
};

template <class F, class... Bs>
struct BoundMap {
  F f;
  std::tuple<Bs...> bs;
  bool simd_ok() const {
    return std::apply([](const auto&... b) { return (b.simd_ok() && ...); }, bs);
  }
  auto row(const index_t* coord) const {
    return std::apply(
        [&](const auto&... b) { return MapCursor<F, decltype(b.row(coord))...>{f, {b.row(coord)...}}; },
        bs);
  }
};

template <class F, class... Es>
struct Map : ExprTag {
  using value_type = typename std::remove_cvref_t<std::tuple_element_t<0, std::tuple<Es...>>>::value_type;
  static_assert((std::is_same_v<value_type, typename std::remove_cvref_t<Es>::value_type> && ...),
                "all operands of an expression must have the same element type");
  F f;
  std::tuple<closure_t<Es>...> children;

  Map(F fn, Es&&... es) : f(fn), children(std::forward<Es>(es)...) {}

  Shape shape() const {
    return std::apply(
        [](const auto&... c) {
          Shape s;
          ((s = broadcast_shapes(s, c.shape())), ...);
          return s;
        },
        children);
  }
  bool flat_compatible(const Shape& out) const {
    return std::apply([&](const auto&... c) { return (c.flat_compatible(out) && ...); }, children);
  }
  auto bind(const Shape& out, bool flat) const {
    return std::apply(
        [&](const auto&... c) { return BoundMap<F, decltype(c.bind(out, flat))...>{f, {c.bind(out, flat)...}}; },
        children);
  }
};

// ---- turning operands into nodes ----------------------------------------------------------

template <class X>
inline constexpr bool is_operand_v = is_expr_v<X> || is_tensor_v<std::remove_cvref_t<X>>;
template <class X>
concept Operand = is_operand_v<X>;

// A tensor becomes a Leaf holding its closure; an expression is forwarded; a number becomes
// a Scalar of the tree's element type T.
template <class T, class X>
decltype(auto) as_node(X&& x) {
  using D = std::remove_cvref_t<X>;
  if constexpr (is_expr_v<X>) {
    return std::forward<X>(x);
  } else if constexpr (is_tensor_v<D>) {
    static_assert(std::is_same_v<typename D::value_type, T>, "mixed element types in an expression");
    return Leaf<T, closure_t<X>>{{}, std::forward<X>(x)};
  } else {
    static_assert(std::is_arithmetic_v<D>, "an expression operand must be a tensor, an expression or a number");
    return Scalar<T>{{}, T(x)};
  }
}

template <class X>
struct value_type_of {
  using type = void;  // a plain number carries no element type
};
template <Operand X>
struct value_type_of<X> {
  using type = typename std::remove_cvref_t<X>::value_type;
};
// The element type of a tree: that of its first tensor or expression operand.
template <class... X>
struct first_value_type {
  using type = void;
};
template <class X, class... Rest>
struct first_value_type<X, Rest...> {
  using type = std::conditional_t<is_operand_v<X>, typename value_type_of<X>::type,
                                  typename first_value_type<Rest...>::type>;
};

template <class F, class... X>
auto make_map(X&&... xs) {
  using T = typename first_value_type<X...>::type;
  return Map<F, decltype(as_node<T>(std::forward<X>(xs)))...>(F{}, as_node<T>(std::forward<X>(xs))...);
}

}  // namespace electra::expr

// ---- the user-facing vocabulary -------------------------------------------------------------
namespace electra {

using expr::Operand;
template <class A, class B>
concept OperandPair = (Operand<A> && (Operand<B> || std::is_arithmetic_v<std::remove_cvref_t<B>>)) ||
                      (Operand<B> && std::is_arithmetic_v<std::remove_cvref_t<A>>);

#define ELECTRA_UNARY_EXPR(name, F)                   \
  template <Operand X>                                \
  auto name(X&& x) {                                  \
    return expr::make_map<expr::fn::F>(std::forward<X>(x)); \
  }
ELECTRA_UNARY_EXPR(operator-, Neg)
ELECTRA_UNARY_EXPR(exp, Exp)
ELECTRA_UNARY_EXPR(log, Log)
ELECTRA_UNARY_EXPR(sqrt, Sqrt)
ELECTRA_UNARY_EXPR(rsqrt, Rsqrt)
ELECTRA_UNARY_EXPR(tanh, Tanh)
ELECTRA_UNARY_EXPR(erf, Erf)
ELECTRA_UNARY_EXPR(abs, Abs)
ELECTRA_UNARY_EXPR(square, Square)
ELECTRA_UNARY_EXPR(reciprocal, Reciprocal)
#undef ELECTRA_UNARY_EXPR

#define ELECTRA_BINARY_EXPR(name, F)                                                    \
  template <class A, class B>                                                           \
    requires OperandPair<A, B>                                                          \
  auto name(A&& a, B&& b) {                                                             \
    return expr::make_map<expr::fn::F>(std::forward<A>(a), std::forward<B>(b));         \
  }
ELECTRA_BINARY_EXPR(operator+, Add)
ELECTRA_BINARY_EXPR(operator-, Sub)
ELECTRA_BINARY_EXPR(operator*, Mul)
ELECTRA_BINARY_EXPR(operator/, Div)
ELECTRA_BINARY_EXPR(pow, Pow)
ELECTRA_BINARY_EXPR(maximum, Max)
ELECTRA_BINARY_EXPR(minimum, Min)
ELECTRA_BINARY_EXPR(eq, Eq)
ELECTRA_BINARY_EXPR(ne, Ne)
ELECTRA_BINARY_EXPR(lt, Lt)
ELECTRA_BINARY_EXPR(le, Le)
ELECTRA_BINARY_EXPR(gt, Gt)
ELECTRA_BINARY_EXPR(ge, Ge)
#undef ELECTRA_BINARY_EXPR

// where(cond, a, b): elementwise a where cond != 0, else b; any of the three may broadcast.
template <class C, class A, class B>
  requires(Operand<C> || Operand<A> || Operand<B>)
auto where(C&& c, A&& a, B&& b) {
  return expr::make_map<expr::fn::Where>(std::forward<C>(c), std::forward<A>(a), std::forward<B>(b));
}

}  // namespace electra
