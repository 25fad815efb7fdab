// Which element types get a SIMD body in the assign loop, and with which batch type.
// nvcc never sees xsimd: device code uses only the functors' scalar forms.
#pragma once
#include <type_traits>

#if !defined(__CUDACC__)
#include <xsimd/xsimd.hpp>
#define ELECTRA_HAS_XSIMD 1
#endif

namespace electra::expr {

#if defined(ELECTRA_HAS_XSIMD)
template <class T>
inline constexpr bool simd_enabled_v = std::is_same_v<T, float> || std::is_same_v<T, double>;
template <class T>
using batch_t = xsimd::batch<T>;  // the widest instruction set the compiler targets
template <class T>
inline constexpr long simd_width = simd_enabled_v<T> ? long(batch_t<T>::size) : 1;
#else
template <class T>
inline constexpr bool simd_enabled_v = false;
template <class T>
inline constexpr long simd_width = 1;
#endif

}  // namespace electra::expr
