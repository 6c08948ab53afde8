// so8t/quant/q6_k.hpp: Q6_K (ggml type 14), 256 values -> sixteen int8 scales, fp16 d, 6-bit levels.
//
// Spec §3 "Q6_K": make_qx_quants(16, nmax 32) per 16 values; the sub-block with the largest |scale| gets
// int8 scale -128; d = fp16(1/iscale); second pass with f32(d) * scale (§0.3), first-pass levels kept
// where that is 0 (§0.5); a block whose scales are all < 1e-15 is 210 zero bytes.
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/k_common.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

SO8T_HOST_DEVICE void quantize_block_q6_k_ref(const float* x, BlockQ6K& y) {
  std::int8_t L[256];
  float scales[16];
  float max_scale = 0.0f, max_abs_scale = 0.0f;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = detail::make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
    const float a = detail::abs_exact(scales[ib]);
    if (a > max_abs_scale) {
      max_abs_scale = a;
      max_scale = scales[ib];
    }
  }
  if (max_abs_scale < 1e-15f) {
    for (int k = 0; k < 128; ++k) y.ql[k] = 0;
    for (int k = 0; k < 64; ++k) y.qh[k] = 0;
    for (int k = 0; k < 16; ++k) y.scales[k] = 0;
    y.d = 0;
    return;
  }
  const float iscale = detail::div_rn(-128.0f, max_scale);
  y.d = detail::to_fp16(detail::div_rn(1.0f, iscale));
  for (int ib = 0; ib < 16; ++ib) {
    const int s = detail::nearest_int(fp::mul(iscale, scales[ib]));
    y.scales[ib] = detail::low_byte_i8(s < 127 ? s : 127);
  }
  const float d = detail::from_fp16(y.d);
  for (int j = 0; j < 16; ++j) {
    const float dj = fp::mul(d, static_cast<float>(y.scales[j]));
    if (dj == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      const int l = detail::clamp_int(detail::nearest_int(detail::div_rn(x[16 * j + i], dj)), -32, 31);
      L[16 * j + i] = static_cast<std::int8_t>(l + 32);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const std::int8_t* Lh = L + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
      y.ql[64 * h + l] = static_cast<std::uint8_t>((q1 & 15) | ((q3 & 15) << 4));
      y.ql[64 * h + l + 32] = static_cast<std::uint8_t>((q2 & 15) | ((q4 & 15) << 4));
      y.qh[32 * h + l] = static_cast<std::uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
}

/// y = (f32(d) * scale) * (q - 32).
SO8T_HOST_DEVICE void dequantize_block_q6_k(const BlockQ6K& b, float* y) {
  const float d = detail::from_fp16(b.d);
  for (int h = 0; h < 2; ++h) {
    const std::uint8_t* ql = b.ql + 64 * h;
    const std::uint8_t* qh = b.qh + 32 * h;
    const std::int8_t* sc = b.scales + 8 * h;
    float* yh = y + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      yh[l] = fp::mul(fp::mul(d, static_cast<float>(sc[is])), static_cast<float>(q1));
      yh[l + 32] = fp::mul(fp::mul(d, static_cast<float>(sc[is + 2])), static_cast<float>(q2));
      yh[l + 64] = fp::mul(fp::mul(d, static_cast<float>(sc[is + 4])), static_cast<float>(q3));
      yh[l + 96] = fp::mul(fp::mul(d, static_cast<float>(sc[is + 6])), static_cast<float>(q4));
    }
  }
}

inline void quantize_row_q6_k_ref(const float* x, BlockQ6K* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q6_k_ref(x + 256 * i, y[i]);
}
inline void dequantize_row_q6_k_ref(const BlockQ6K* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q6_k(b[i], y + 256 * i);
}

}  // namespace so8t::quant
