// so8t/quant/q4_1.hpp: Q4_1 (ggml type 3), 32 values -> fp16 scale and min + 32 nibbles.
//
// Spec §2 "Q4_1": min/max scan from +-FLT_MAX, d = (max - min) / 15, q = min(15, (int8)((x - min)*id
// + 0.5f)) with the float32 min and id (the stored m is fp16(min)).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/q4_0.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

namespace detail {
/// Sequential min/max from +-FLT_MAX (Q4_1, Q5_1).
SO8T_HOST_DEVICE void min_max(const float* x, int n, float& mn, float& mx) {
  mn = 3.40282347e+38f;
  mx = -3.40282347e+38f;
  for (int j = 0; j < n; ++j) {
    if (x[j] < mn) mn = x[j];
    if (x[j] > mx) mx = x[j];
  }
}
}  // namespace detail

SO8T_HOST_DEVICE void quantize_block_q4_1_ref(const float* x, BlockQ4_1& y) {
  float mn, mx;
  detail::min_max(x, 32, mn, mx);
  const float d = detail::div_rn(fp::sub(mx, mn), 15.0f);
  const float id = (d != 0.0f) ? detail::div_rn(1.0f, d) : 0.0f;
  y.d = detail::to_fp16(d);
  y.m = detail::to_fp16(mn);
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q0 = detail::legacy_level(fp::add(fp::mul(fp::sub(x[j], mn), id), 0.5f), 15);
    const std::uint8_t q1 = detail::legacy_level(fp::add(fp::mul(fp::sub(x[j + 16], mn), id), 0.5f), 15);
    y.qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
  }
}

/// y = q * f32(d) + f32(m), two roundings.
SO8T_HOST_DEVICE void dequantize_block_q4_1(const BlockQ4_1& b, float* y) {
  const float d = detail::from_fp16(b.d), m = detail::from_fp16(b.m);
  for (int j = 0; j < 16; ++j) {
    y[j] = fp::madd(m, static_cast<float>(b.qs[j] & 0x0F), d);
    y[j + 16] = fp::madd(m, static_cast<float>(b.qs[j] >> 4), d);
  }
}

inline void quantize_row_q4_1_ref(const float* x, BlockQ4_1* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q4_1_ref(x + 32 * i, y[i]);
}
inline void dequantize_row_q4_1_ref(const BlockQ4_1* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q4_1(b[i], y + 32 * i);
}

}  // namespace so8t::quant
