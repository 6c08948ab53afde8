// so8t/quant/rounding.hpp: the exact float steps and the three rounding rules of ggml's quantizers.
//
// docs/ggml-quant-and-gguf.md §0.2: Q8_0 rounds with C roundf (half away from zero); Q4_0,
// Q4_1, Q5_0, Q5_1 add 8.5 / 16.5 / 0.5 in float32 and truncate; K-quants and Q8_K use nearest_int, a
// magic-number trick that rounds half to even. All three are written here with exact float and integer
// operations only (no libm, no float->int conversion outside its defined range), so they give the same
// result on the host at any -O / -march / -ffp-contract and in CUDA device code.
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/base/half.hpp"

namespace so8t::quant::detail {

/// |v| by clearing the sign bit (exact; NaN stays NaN).
SO8T_HOST_DEVICE float abs_exact(float v) { return so8t::detail::f32_from_bits(so8t::detail::f32_bits(v) & 0x7FFFFFFFu); }

/// IEEE-correctly-rounded a / b (nvcc: __fdiv_rn, which -prec-div=false cannot change; -ftz=true, part of
/// --use_fast_math, still flushes its subnormals, hence kernels/so8t/base/float_mode.cuh).
SO8T_HOST_DEVICE float div_rn(float a, float b) {
#if SO8T_DEVICE_CODE
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

/// IEEE-correctly-rounded sqrt, as C sqrtf.
SO8T_HOST_DEVICE float sqrt_rn(float v) {
#if SO8T_DEVICE_CODE
  return __fsqrt_rn(v);
#else
  return __builtin_sqrtf(v);
#endif
}

/// ggml's nearest_int (spec §1 "NI"): t = v + 1.5*2^23 in float32, then the low 23 mantissa bits minus
/// 2^22. Round half to even for |v| < 2^22; for larger values, inf and NaN the same deterministic bits as
/// ggml (they are clamped afterwards by every caller).
SO8T_HOST_DEVICE std::int32_t nearest_int(float v) {
  const float t = fp::add(v, 12582912.0f);
  const std::uint32_t i = so8t::detail::f32_bits(t);
  return static_cast<std::int32_t>(i & 0x007FFFFFu) - 0x00400000;
}

/// What x86-64 gcc's float -> int conversion (cvttss2si, 32-bit) yields: truncation toward zero when the
/// value fits int32, else INT32_MIN (0x80000000) for out-of-range, inf and NaN (spec §0.7). ggml's
/// (int8_t)/(uint8_t) casts of a float go through this; their byte is the low byte of the result.
SO8T_HOST_DEVICE std::int32_t trunc_to_i32_x86(float v) {
  if (v >= -2147483648.0f && v < 2147483648.0f) return static_cast<std::int32_t>(v);
  return static_cast<std::int32_t>(0x80000000u);
}

/// The low byte of an int as int8_t / uint8_t (two's complement wrap, spelled out to avoid
/// implementation-defined narrowing).
SO8T_HOST_DEVICE std::int8_t low_byte_i8(std::int32_t v) {
  const std::uint32_t b = static_cast<std::uint32_t>(v) & 0xFFu;
  return static_cast<std::int8_t>(b < 128u ? static_cast<int>(b) : static_cast<int>(b) - 256);
}
SO8T_HOST_DEVICE std::uint8_t low_byte_u8(std::int32_t v) { return static_cast<std::uint8_t>(static_cast<std::uint32_t>(v) & 0xFFu); }

/// C roundf (half away from zero), for finite and non-finite v, with exact operations: below 2^23 the
/// truncation and the fractional part a - trunc(a) are exact in float32; at or above it v is integral.
SO8T_HOST_DEVICE float round_half_away(float v) {
  const float a = abs_exact(v);
  if (!(a < 8388608.0f)) return v;  // integral, inf or NaN
  const float t = static_cast<float>(static_cast<std::int32_t>(a));
  const float r = (fp::sub(a, t) >= 0.5f) ? fp::add(t, 1.0f) : t;
  const std::uint32_t sign = so8t::detail::f32_bits(v) & 0x80000000u;
  return so8t::detail::f32_from_bits(so8t::detail::f32_bits(r) | sign);
}

/// fp16 helpers on raw bits.
SO8T_HOST_DEVICE std::uint16_t to_fp16(float v) { return fp32_to_fp16_bits(v); }
SO8T_HOST_DEVICE float from_fp16(std::uint16_t h) { return fp16_bits_to_fp32(h); }

}  // namespace so8t::quant::detail
