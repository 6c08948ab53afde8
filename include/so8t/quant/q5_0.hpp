// so8t/quant/q5_0.hpp: Q5_0 (ggml type 6), 32 values -> fp16 scale + 32 five-bit levels.
//
// Spec §2 "Q5_0": as Q4_0 with d = max / -16 and q = min(31, (int8)(x*id + 16.5f)); low nibbles in qs
// (low/high pairing), bit 4 of element j in bit j of the little-endian u32 qh.
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/q4_0.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

namespace detail {
SO8T_HOST_DEVICE void store_qh(std::uint8_t* qh, std::uint32_t bits) {
  for (int k = 0; k < 4; ++k) qh[k] = static_cast<std::uint8_t>(bits >> (8 * k));
}
SO8T_HOST_DEVICE std::uint32_t load_qh(const std::uint8_t* qh) {
  return std::uint32_t(qh[0]) | (std::uint32_t(qh[1]) << 8) | (std::uint32_t(qh[2]) << 16) | (std::uint32_t(qh[3]) << 24);
}
}  // namespace detail

SO8T_HOST_DEVICE void quantize_block_q5_0_ref(const float* x, BlockQ5_0& y) {
  float amax;
  const float max = detail::signed_absmax(x, 32, amax);
  const float d = detail::div_rn(max, -16.0f);
  const float id = (d != 0.0f) ? detail::div_rn(1.0f, d) : 0.0f;
  y.d = detail::to_fp16(d);
  std::uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q0 = detail::legacy_level(fp::add(fp::mul(x[j], id), 16.5f), 31);
    const std::uint8_t q1 = detail::legacy_level(fp::add(fp::mul(x[j + 16], id), 16.5f), 31);
    y.qs[j] = static_cast<std::uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
    qh |= static_cast<std::uint32_t>((q0 & 0x10u) >> 4) << j;
    qh |= static_cast<std::uint32_t>((q1 & 0x10u) >> 4) << (j + 16);
  }
  detail::store_qh(y.qh, qh);
}

/// y = (level - 16) * f32(d).
SO8T_HOST_DEVICE void dequantize_block_q5_0(const BlockQ5_0& b, float* y) {
  const float d = detail::from_fp16(b.d);
  const std::uint32_t qh = detail::load_qh(b.qh);
  for (int j = 0; j < 16; ++j) {
    const int h0 = static_cast<int>((qh >> j) << 4) & 0x10;
    const int h1 = static_cast<int>(qh >> (j + 12)) & 0x10;
    y[j] = fp::mul(static_cast<float>(((b.qs[j] & 0x0F) | h0) - 16), d);
    y[j + 16] = fp::mul(static_cast<float>(((b.qs[j] >> 4) | h1) - 16), d);
  }
}

inline void quantize_row_q5_0_ref(const float* x, BlockQ5_0* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q5_0_ref(x + 32 * i, y[i]);
}
inline void dequantize_row_q5_0_ref(const BlockQ5_0* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q5_0(b[i], y + 32 * i);
}

}  // namespace so8t::quant
