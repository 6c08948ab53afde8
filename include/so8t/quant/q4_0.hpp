// so8t/quant/q4_0.hpp: Q4_0 (ggml type 2), 32 values -> fp16 scale + 32 nibbles.
//
// Spec §2 "Q4_0": the first largest-magnitude element keeps its sign, d = max / -8 (all-zero block:
// d = -0.0, §0.4), q = min(15, (int8)(x*id + 8.5f)) with the cast done as on x86 gcc (§0.7).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

namespace detail {
/// Scan for the first element of largest magnitude (strict <), keeping its sign (Q4_0, Q5_0, Q6_K, Q8_K).
SO8T_HOST_DEVICE float signed_absmax(const float* x, int n, float& amax_out) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    const float a = abs_exact(x[j]);
    if (amax < a) {
      amax = a;
      max = x[j];
    }
  }
  amax_out = amax;
  return max;
}

/// ggml's "(int8_t)(v)" followed by MIN(limit, .) and storage into a uint8_t.
SO8T_HOST_DEVICE std::uint8_t legacy_level(float v, int limit) {
  const int q = low_byte_i8(trunc_to_i32_x86(v));
  return static_cast<std::uint8_t>(static_cast<std::uint32_t>(q < limit ? q : limit) & 0xFFu);
}
}  // namespace detail

SO8T_HOST_DEVICE void quantize_block_q4_0_ref(const float* x, BlockQ4_0& y) {
  float amax;
  const float max = detail::signed_absmax(x, 32, amax);
  const float d = detail::div_rn(max, -8.0f);
  const float id = (d != 0.0f) ? detail::div_rn(1.0f, d) : 0.0f;
  y.d = detail::to_fp16(d);
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q0 = detail::legacy_level(fp::add(fp::mul(x[j], id), 8.5f), 15);
    const std::uint8_t q1 = detail::legacy_level(fp::add(fp::mul(x[j + 16], id), 8.5f), 15);
    y.qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
  }
}

/// y = (q - 8) * f32(d).
SO8T_HOST_DEVICE void dequantize_block_q4_0(const BlockQ4_0& b, float* y) {
  const float d = detail::from_fp16(b.d);
  for (int j = 0; j < 16; ++j) {
    y[j] = fp::mul(static_cast<float>((b.qs[j] & 0x0F) - 8), d);
    y[j + 16] = fp::mul(static_cast<float>((b.qs[j] >> 4) - 8), d);
  }
}

inline void quantize_row_q4_0_ref(const float* x, BlockQ4_0* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q4_0_ref(x + 32 * i, y[i]);
}
inline void dequantize_row_q4_0_ref(const BlockQ4_0* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q4_0(b[i], y + 32 * i);
}

}  // namespace so8t::quant
