// Intel AMX (Advanced Matrix Extensions) on the CPU: whether the bf16 tile instructions can
// run here, decided once at run time.
//
// AMX needs (1) a CPU with AMX-TILE and AMX-BF16 (Sapphire Rapids and later) plus AVX512-F/BW/
// BF16 for our packing, (2) an OS that saves the 8 KB of tile state (XCR0 bits 17 and 18), and
// (3) on Linux, the process's permission to use it: arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA), granted once per process (Linux 5.16+). Without all three the bf16
// matmul mode falls back to an emulation with the same rounding (gemm_bf16.hpp).
// ELECTRA_AMX=0 in the environment turns AMX off (to compare or test the fallback).
#pragma once
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__CUDACC__)
#define ELECTRA_HAVE_AMX_CODE 1
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace electra::cpu {

namespace detail {
#if defined(ELECTRA_HAVE_AMX_CODE)
inline bool cpu_has_amx_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30);
  const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  const bool avx512_bf16 = a & (1u << 5);
  if (!(avx512f && avx512bw && amx_bf16 && amx_tile && avx512_bf16)) return false;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const unsigned need = (1u << 1) | (1u << 2) | (7u << 5) | (3u << 17);  // SSE, AVX, AVX-512, tiles
  return (xcr0_lo & need) == need;
}

inline bool request_amx_permission() {
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}
#endif

inline bool detect_amx() {
#if defined(ELECTRA_HAVE_AMX_CODE)
  if (const char* env = std::getenv("ELECTRA_AMX"); env && std::strcmp(env, "0") == 0) return false;
  return cpu_has_amx_bf16() && request_amx_permission();
#else
  return false;
#endif
}
}  // namespace detail

// True when this process can run AMX bf16 tile instructions (checked once).
inline bool amx_available() {
  static const bool available = detail::detect_amx();
  return available;
}

}  // namespace electra::cpu
