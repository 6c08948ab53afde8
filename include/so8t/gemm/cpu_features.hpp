// so8t/gemm/cpu_features.hpp: which int8 kernel the CPU can run, decided at run time.
//
// The int8 kernels (so8t/gemm/int8_kernels.hpp) are compiled with __attribute__((target(...))), so a
// consumer needs no -march flag: the AVX512-VNNI and AVX2 paths exist in every x86-64 build and are
// only called when the CPU probe (so8t/base/cpu_features.hpp) says the CPU (and OS) has them.
// Elsewhere: scalar reference.
#pragma once

#include <string>

#include "so8t/base/cpu_features.hpp"
#include "so8t/base/errors.hpp"

#define SO8T_GEMM_X86 SO8T_CPU_X86

namespace so8t::gemm {

/// The CPU int8 GEMM implementations. `automatic` picks the best one the CPU supports.
enum class Int8Kernel { automatic, scalar, avx2, avx512vnni };

inline const char* kernel_name(Int8Kernel k) {
  switch (k) {
    case Int8Kernel::automatic: return "automatic";
    case Int8Kernel::scalar: return "scalar";
    case Int8Kernel::avx2: return "avx2";
    case Int8Kernel::avx512vnni: return "avx512vnni";
  }
  return "?";
}

/// True when this CPU can run kernel k (scalar and automatic: always).
inline bool cpu_supports(Int8Kernel k) {
  switch (k) {
    case Int8Kernel::automatic:
    case Int8Kernel::scalar: return true;
    case Int8Kernel::avx2: return cpu::has_avx2();
    case Int8Kernel::avx512vnni: return cpu::has_avx512_vnni();
  }
  return false;
}

/// The fastest kernel this CPU supports: avx512vnni, else avx2, else scalar.
inline Int8Kernel best_int8_kernel() {
  if (cpu_supports(Int8Kernel::avx512vnni)) return Int8Kernel::avx512vnni;
  if (cpu_supports(Int8Kernel::avx2)) return Int8Kernel::avx2;
  return Int8Kernel::scalar;
}

/// Resolves `automatic` and checks an explicit choice; throws InvalidArgument naming the kernel when the
/// CPU lacks it.
inline Int8Kernel resolve_kernel(Int8Kernel k) {
  if (k == Int8Kernel::automatic) return best_int8_kernel();
  if (!cpu_supports(k))
    throw InvalidArgument(std::string("so8t::gemm: int8 kernel '") + kernel_name(k) +
                          "' is not supported by this CPU (best available: " + kernel_name(best_int8_kernel()) + ")");
  return k;
}

}  // namespace so8t::gemm
