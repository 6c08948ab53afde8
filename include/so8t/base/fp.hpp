// so8t/base/fp.hpp: floating-point steps whose rounding does not depend on compiler flags.
//
// Why: with FMA available GCC (-ffp-contract=fast is its default in GNU modes), clang (-ffp-contract=on)
// and nvcc (--fmad=true by default) fuse `a*b + c` into one FMA, which rounds once instead of twice and so
// changes results; GCC ignores `#pragma STDC FP_CONTRACT` (docs/ggml-quant-and-gguf.md §0.1).
// A header-only library cannot choose its users' flags, so every product whose rounding matters goes
// through fp::mul, which the compiler cannot fuse into a following add:
//   - device code: __fmul_rn / __fadd_rn, which nvcc documents as never contracted;
//   - host code: the product passes through an empty asm statement, an optimisation barrier that hides
//     the value's origin, so the add that follows cannot be merged with it.
// The result is the plain IEEE sequence "round(a*b), then round(acc + that)", identical at -O0 and at
// -O3 -march=native -ffp-contract=fast, on the CPU and on the GPU. tests/flags checks this byte for byte.
// This is the one barrier of the library: scalars, GCC/Clang vector types (so8t/so8/lanes.hpp) and xsimd
// batches (the quantizers' fast paths, so8t/quant/simd_batch.hpp, and the fold, so8t/bake/fold.hpp) all
// multiply through fp::mul and so through fp::opaque.
#pragma once

#include <type_traits>
#include <utility>

#include "so8t/base/config.hpp"

namespace so8t::fp {

namespace detail {
/// True for classes that hold one SIMD register as `data` of type `register_type` (xsimd::batch). The
/// register type itself never becomes a template argument (GCC would warn that its attributes are dropped).
template <class T, class = void>
struct holds_register : std::false_type {};
template <class T>
struct holds_register<T, std::void_t<decltype(sizeof(typename T::register_type)),
                                     decltype(static_cast<void>(std::declval<T&>().data))>> : std::true_type {};
}  // namespace detail

/// Hides `v` from the optimiser: it must exist, rounded to its type, before anything uses it.
/// Works on scalars, on GCC/Clang vector types up to the widest register (so8t/so8/lanes.hpp) and on xsimd
/// batches (through the register they hold).
template <class T>
SO8T_HOST_DEVICE void opaque(T& v) {
#if !SO8T_DEVICE_CODE
  if constexpr (detail::holds_register<T>::value) {
    opaque(v.data);
  } else {
#  if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__AVX512F__)
    __asm__("" : "+v"(v));
#  elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__("" : "+x"(v));
#  elif defined(__GNUC__) && defined(__aarch64__)
    __asm__("" : "+w"(v));
#  elif defined(__GNUC__)
    __asm__("" : "+m"(v));
#  else
    volatile T t = v;
    v = t;
#  endif
  }
#else
  (void)v;
#endif
}

namespace detail {
/// round(a*b) on the host: the product is materialised behind opaque() before anything can add to it.
template <class T>
inline T rounded_product(T a, T b) {
  T p = a * b;
  opaque(p);
  return p;
}
}  // namespace detail

// On the device the _rn intrinsics, which nvcc never contracts into an FMA; on the host plain operators
// (+ and - are exact-rounded already) and the barrier above for products.
#if SO8T_DEVICE_CODE
#  define SO8T_FP_PICK(device, host) device
#else
#  define SO8T_FP_PICK(device, host) host
#endif

/// round(a * b), never fused with a neighbouring add or subtract.
SO8T_HOST_DEVICE float mul(float a, float b) { return SO8T_FP_PICK(__fmul_rn(a, b), detail::rounded_product(a, b)); }
SO8T_HOST_DEVICE double mul(double a, double b) { return SO8T_FP_PICK(__dmul_rn(a, b), detail::rounded_product(a, b)); }

/// round(a + b). Plain `+` is already exact-rounded; the device intrinsic only stops nvcc from fusing
/// it with a product written elsewhere as a plain `*`.
SO8T_HOST_DEVICE float add(float a, float b) { return SO8T_FP_PICK(__fadd_rn(a, b), a + b); }
SO8T_HOST_DEVICE double add(double a, double b) { return SO8T_FP_PICK(__dadd_rn(a, b), a + b); }

/// round(a - b), as add.
SO8T_HOST_DEVICE float sub(float a, float b) { return SO8T_FP_PICK(__fsub_rn(a, b), a - b); }
SO8T_HOST_DEVICE double sub(double a, double b) { return SO8T_FP_PICK(__dsub_rn(a, b), a - b); }

#undef SO8T_FP_PICK

/// The same three steps lane by lane (host only), for
///   - xsimd batches and GCC/Clang vector types: the product passes through opaque() like a scalar's;
///   - so8t's SIMD lane packs (so8t/so8/lanes.hpp), found by ADL at instantiation: lane_mul, which is
///     fp::mul on the pack's vector.
template <class V, std::enable_if_t<!std::is_arithmetic<V>::value, int> = 0>
inline V mul(const V& a, const V& b) {
  if constexpr (std::is_class<V>::value && !detail::holds_register<V>::value) {
    return lane_mul(a, b);
  } else {
    return detail::rounded_product(a, b);
  }
}
template <class V, std::enable_if_t<!std::is_arithmetic<V>::value, int> = 0>
inline V add(const V& a, const V& b) {
  return a + b;
}
template <class V, std::enable_if_t<!std::is_arithmetic<V>::value, int> = 0>
inline V sub(const V& a, const V& b) {
  return a - b;
}

/// acc + a*b with two roundings, in that order, whatever the flags.
template <class S>
SO8T_HOST_DEVICE S madd(S acc, S a, S b) {
  return add(acc, mul(a, b));
}

/// acc - a*b with two roundings.
template <class S>
SO8T_HOST_DEVICE S msub(S acc, S a, S b) {
  return sub(acc, mul(a, b));
}

}  // namespace so8t::fp
