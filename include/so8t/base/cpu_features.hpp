// so8t/base/cpu_features.hpp: what the CPU this runs on can execute, probed once at run time (namespace
// so8t::cpu). The library's x86 fast paths (the int8 GEMM kernels, the quantized dot products, the
// quantized-weight matmul, the llama inference kernels) are compiled with __attribute__((target(...))), so
// a consumer needs no -march flag; they are only called when these probes say the CPU (and OS) has the
// instructions. Each answer is computed once and cached. Off x86 (or in nvcc-compiled code) every probe is
// false and SO8T_CPU_X86 is 0.
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__CUDACC__)
#  define SO8T_CPU_X86 1
#  include <cpuid.h>
#else
#  define SO8T_CPU_X86 0
#endif

namespace so8t::cpu {

#if SO8T_CPU_X86
namespace detail {
/// CPUID leaf 1, ECX bit 29: clang's __builtin_cpu_supports does not know "f16c".
inline bool cpuid_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & (1u << 29)) != 0;
}
}  // namespace detail
#endif

// Each probe answers once (a function-local static); off x86 every one is false.
#if SO8T_CPU_X86
#  define SO8T_CPU_PROBE(expr) \
    static const bool ok = (expr); \
    return ok
#else
#  define SO8T_CPU_PROBE(expr) return false
#endif

/// AVX2 (and the OS saves the YMM state).
inline bool has_avx2() { SO8T_CPU_PROBE(__builtin_cpu_supports("avx2")); }

/// FMA3.
inline bool has_fma() { SO8T_CPU_PROBE(__builtin_cpu_supports("fma")); }

/// F16C (fp16 <-> fp32 conversions). Use it together with has_avx2(), which also checks the OS support.
inline bool has_f16c() { SO8T_CPU_PROBE(detail::cpuid_f16c()); }

/// AVX512F, AVX512BW and AVX512-VNNI: what the VNNI int8 kernel needs.
inline bool has_avx512_vnni() {
  SO8T_CPU_PROBE(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vnni"));
}

#undef SO8T_CPU_PROBE

/// AVX2 and FMA: what __attribute__((target("avx2,fma"))) code needs.
inline bool has_avx2_fma() { return has_avx2() && has_fma(); }

/// AVX2, FMA and F16C: what __attribute__((target("avx2,fma,f16c"))) code needs.
inline bool has_avx2_fma_f16c() { return has_avx2_fma() && has_f16c(); }

}  // namespace so8t::cpu
