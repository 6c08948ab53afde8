// so8t/quant/q5_1.hpp: Q5_1 (ggml type 7), 32 values -> fp16 scale and min + 32 five-bit levels.
//
// Spec §2 "Q5_1": as Q4_1 with d = (max - min) / 31 and q = (uint8)((x - min)*id + 0.5f) (no clamp);
// packed like Q5_0.
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/q4_1.hpp"
#include "so8t/quant/q5_0.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

SO8T_HOST_DEVICE void quantize_block_q5_1_ref(const float* x, BlockQ5_1& y) {
  float mn, mx;
  detail::min_max(x, 32, mn, mx);
  const float d = detail::div_rn(fp::sub(mx, mn), 31.0f);
  const float id = (d != 0.0f) ? detail::div_rn(1.0f, d) : 0.0f;
  y.d = detail::to_fp16(d);
  y.m = detail::to_fp16(mn);
  std::uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q0 = detail::low_byte_u8(detail::trunc_to_i32_x86(fp::add(fp::mul(fp::sub(x[j], mn), id), 0.5f)));
    const std::uint8_t q1 =
        detail::low_byte_u8(detail::trunc_to_i32_x86(fp::add(fp::mul(fp::sub(x[j + 16], mn), id), 0.5f)));
    y.qs[j] = static_cast<std::uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
    qh |= static_cast<std::uint32_t>((q0 & 0x10u) >> 4) << j;
    qh |= static_cast<std::uint32_t>((q1 & 0x10u) >> 4) << (j + 16);
  }
  detail::store_qh(y.qh, qh);
}

/// y = level * f32(d) + f32(m).
SO8T_HOST_DEVICE void dequantize_block_q5_1(const BlockQ5_1& b, float* y) {
  const float d = detail::from_fp16(b.d), m = detail::from_fp16(b.m);
  const std::uint32_t qh = detail::load_qh(b.qh);
  for (int j = 0; j < 16; ++j) {
    const int h0 = static_cast<int>((qh >> j) << 4) & 0x10;
    const int h1 = static_cast<int>(qh >> (j + 12)) & 0x10;
    y[j] = fp::madd(m, static_cast<float>((b.qs[j] & 0x0F) | h0), d);
    y[j + 16] = fp::madd(m, static_cast<float>((b.qs[j] >> 4) | h1), d);
  }
}

inline void quantize_row_q5_1_ref(const float* x, BlockQ5_1* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q5_1_ref(x + 32 * i, y[i]);
}
inline void dequantize_row_q5_1_ref(const BlockQ5_1* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q5_1(b[i], y + 32 * i);
}

}  // namespace so8t::quant
