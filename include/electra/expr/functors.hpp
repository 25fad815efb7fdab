// Elementwise functors: each has a scalar form (host and device) and a SIMD form
// (host, xsimd batches). Elementwise math is written here once; every backend's
// assign loop evaluates these.
#pragma once
#include <cmath>

#include "../core/config.hpp"
#include "simd.hpp"

namespace electra::expr::fn {

// The SIMD form exists only where xsimd does (never in nvcc's device pass).
#if defined(ELECTRA_HAS_XSIMD)
#define ELECTRA_SIMD_FORM(...) __VA_ARGS__
#else
#define ELECTRA_SIMD_FORM(...)
#endif

// Defines a unary functor `name` with scalar body `sexpr` and batch body `bexpr` (in x).
#define ELECTRA_UNARY_FUNCTOR(name, sexpr, bexpr)                 \
  struct name {                                                   \
    template <class T>                                            \
    ELECTRA_HD T operator()(T x) const {                          \
      using std::exp, std::log, std::sqrt, std::tanh, std::erf;   \
      return sexpr;                                               \
    }                                                             \
    ELECTRA_SIMD_FORM(template <class B> B batch(const B& x) const { return bexpr; }) \
  };

ELECTRA_UNARY_FUNCTOR(Neg, -x, -x)
ELECTRA_UNARY_FUNCTOR(Exp, exp(x), xsimd::exp(x))
ELECTRA_UNARY_FUNCTOR(Log, log(x), xsimd::log(x))
ELECTRA_UNARY_FUNCTOR(Sqrt, sqrt(x), xsimd::sqrt(x))
// rsqrt in full precision: xsimd::rsqrt is a 14-bit approximation.
ELECTRA_UNARY_FUNCTOR(Rsqrt, T(1) / sqrt(x), B(1) / xsimd::sqrt(x))
ELECTRA_UNARY_FUNCTOR(Tanh, tanh(x), xsimd::tanh(x))
ELECTRA_UNARY_FUNCTOR(Erf, erf(x), xsimd::erf(x))
ELECTRA_UNARY_FUNCTOR(Abs, x < T(0) ? -x : x, xsimd::abs(x))
ELECTRA_UNARY_FUNCTOR(Square, x * x, x * x)
ELECTRA_UNARY_FUNCTOR(Reciprocal, T(1) / x, B(1) / x)
#undef ELECTRA_UNARY_FUNCTOR

// Binary functors; comparisons return 1 or 0 in the operands' type.
#define ELECTRA_BINARY_FUNCTOR(name, sexpr, bexpr)   \
  struct name {                                      \
    template <class T>                               \
    ELECTRA_HD T operator()(T a, T b) const {        \
      using std::pow;                                \
      return sexpr;                                  \
    }                                                \
    ELECTRA_SIMD_FORM(template <class B> B batch(const B& a, const B& b) const { return bexpr; }) \
  };

ELECTRA_BINARY_FUNCTOR(Add, a + b, a + b)
ELECTRA_BINARY_FUNCTOR(Sub, a - b, a - b)
ELECTRA_BINARY_FUNCTOR(Mul, a* b, a* b)
ELECTRA_BINARY_FUNCTOR(Div, a / b, a / b)
ELECTRA_BINARY_FUNCTOR(Pow, pow(a, b), xsimd::pow(a, b))
ELECTRA_BINARY_FUNCTOR(Max, a < b ? b : a, xsimd::max(a, b))
ELECTRA_BINARY_FUNCTOR(Min, b < a ? b : a, xsimd::min(a, b))
ELECTRA_BINARY_FUNCTOR(Eq, T(a == b), xsimd::select(a == b, B(1), B(0)))
ELECTRA_BINARY_FUNCTOR(Ne, T(a != b), xsimd::select(a != b, B(1), B(0)))
ELECTRA_BINARY_FUNCTOR(Lt, T(a < b), xsimd::select(a < b, B(1), B(0)))
ELECTRA_BINARY_FUNCTOR(Le, T(a <= b), xsimd::select(a <= b, B(1), B(0)))
ELECTRA_BINARY_FUNCTOR(Gt, T(a > b), xsimd::select(a > b, B(1), B(0)))
ELECTRA_BINARY_FUNCTOR(Ge, T(a >= b), xsimd::select(a >= b, B(1), B(0)))
#undef ELECTRA_BINARY_FUNCTOR

// where(c, a, b): a where c != 0, else b.
struct Where {
  template <class T>
  ELECTRA_HD T operator()(T c, T a, T b) const {
    return c != T(0) ? a : b;
  }
  ELECTRA_SIMD_FORM(template <class B> B batch(const B& c, const B& a, const B& b) const {
    return xsimd::select(c != B(0), a, b);
  })
};

}  // namespace electra::expr::fn
