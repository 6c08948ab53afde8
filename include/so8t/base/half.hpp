// so8t/base/half.hpp: IEEE binary16 and bfloat16 as storage types, with exact conversions (host and device).
//
// fp32 -> fp16 rounds to nearest, ties to even, into subnormals; |x| >= 65520 gives +-inf; every NaN becomes
// 0x7E00 with the input's sign (quiet, payload dropped). This is bit-identical to ggml's GGML_FP32_TO_FP16
// and to F16C _cvtss_sh(x, 0) (docs/ggml-quant-and-gguf.md §1). Written with integer operations
// only, so no compiler flag can change a bit.
// fp32 -> bf16 rounds to nearest even; a NaN keeps its sign and top mantissa bits and is made quiet
// (ggml's GGML_FP32_TO_BF16 rule).
#pragma once

#include <cstdint>
#include <cstring>

#include "so8t/base/config.hpp"

namespace so8t {

namespace detail {
SO8T_HOST_DEVICE std::uint32_t f32_bits(float f) {
#if SO8T_DEVICE_CODE
  return static_cast<std::uint32_t>(__float_as_uint(f));
#else
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
SO8T_HOST_DEVICE float f32_from_bits(std::uint32_t u) {
#if SO8T_DEVICE_CODE
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}
}  // namespace detail

/// fp32 -> binary16 bits, round to nearest even.
SO8T_HOST_DEVICE std::uint16_t fp32_to_fp16_bits(float f) {
  const std::uint32_t x = detail::f32_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);  // NaN
  if (ax >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // >= 65520 (or inf): inf
  if (ax < 0x38800000u) {  // below 2^-14: fp16 subnormal or zero
    if (ax < 0x33000000u) return static_cast<std::uint16_t>(sign);  // < 2^-25: rounds to 0 (2^-25 ties to 0)
    const std::uint32_t e = ax >> 23;                                // 102..112
    const std::uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;            // 24-bit significand
    const std::uint32_t shift = 126u - e;                            // value = m 2^(e-150); unit 2^-24
    const std::uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    const std::uint32_t r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
    return static_cast<std::uint16_t>(sign | r);
  }
  // Normal: rebias exponent (127 -> 15), keep 10 mantissa bits, round on the 13 dropped bits.
  const std::uint32_t base = ax - 0x38000000u;  // exponent - 112
  const std::uint32_t q = base >> 13, rem = base & 0x1FFFu;
  const std::uint32_t r = q + ((rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ? 1u : 0u);
  return static_cast<std::uint16_t>(sign | r);  // a carry into the exponent is the correct rounding
}

/// binary16 bits -> fp32 (exact).
SO8T_HOST_DEVICE float fp16_bits_to_fp32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  std::uint32_t x;
  if (e == 0x1Fu) {
    x = sign | 0x7F800000u | (m << 13);  // inf or NaN
  } else if (e != 0) {
    x = sign | ((e + 112u) << 23) | (m << 13);
  } else if (m == 0) {
    x = sign;
  } else {  // subnormal: normalise
    std::uint32_t mm = m;
    int ee = 113;
    while (!(mm & 0x400u)) {
      mm <<= 1;
      --ee;
    }
    x = sign | (static_cast<std::uint32_t>(ee) << 23) | ((mm & 0x3FFu) << 13);
  }
  return detail::f32_from_bits(x);
}

/// fp32 -> bfloat16 bits, round to nearest even; NaN stays NaN (quiet).
SO8T_HOST_DEVICE std::uint16_t fp32_to_bf16_bits(float f) {
  const std::uint32_t x = detail::f32_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((x >> 16) | 64u);
  return static_cast<std::uint16_t>((x + (0x7FFFu + ((x >> 16) & 1u))) >> 16);
}

/// bfloat16 bits -> fp32 (exact).
SO8T_HOST_DEVICE float bf16_bits_to_fp32(std::uint16_t b) {
  return detail::f32_from_bits(static_cast<std::uint32_t>(b) << 16);
}

/// Storage-only half type (no arithmetic: convert to float to compute).
struct half_t {
  std::uint16_t bits;
  SO8T_HOST_DEVICE static half_t from_float(float f) { return half_t{fp32_to_fp16_bits(f)}; }
  SO8T_HOST_DEVICE float to_float() const { return fp16_bits_to_fp32(bits); }
};

/// Storage-only bfloat16 type.
struct bfloat16_t {
  std::uint16_t bits;
  SO8T_HOST_DEVICE static bfloat16_t from_float(float f) { return bfloat16_t{fp32_to_bf16_bits(f)}; }
  SO8T_HOST_DEVICE float to_float() const { return bf16_bits_to_fp32(bits); }
};

static_assert(sizeof(half_t) == 2 && sizeof(bfloat16_t) == 2, "16-bit storage types");

/// Widen any storage scalar to float / double for arithmetic.
SO8T_HOST_DEVICE float to_float(float x) { return x; }
SO8T_HOST_DEVICE double to_float(double x) { return x; }
SO8T_HOST_DEVICE float to_float(half_t x) { return x.to_float(); }
SO8T_HOST_DEVICE float to_float(bfloat16_t x) { return x.to_float(); }

}  // namespace so8t
