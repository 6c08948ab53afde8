// so8t/quant/q4_k.hpp: Q4_K (ggml type 12), 256 values -> fp16 d, dmin, eight 6-bit scales/mins, 4-bit levels.
//
// Spec §3 "Q4_K". First pass: per 32-value sub-block, weights av_x + |x| and make_qkx2_quants(nmax 15,
// rmin -1, rdelta 0.1, nstep 20). Second pass uses the fp16-rounded d times the 6-bit scale (§0.3) and
// keeps the first-pass levels when that product is 0 (§0.5).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/k_common.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

namespace detail {
/// Shared by Q4_K and Q5_K: first pass, scale packing, d/dmin and second pass; L receives 256 levels.
SO8T_HOST_DEVICE void quantize_k4k5_levels(const float* x, int nmax, float rmin, int nstep, std::uint8_t* scales12,
                                           std::uint16_t& d_out, std::uint16_t& dmin_out, std::uint8_t* L) {
  float scales[8], mins[8], w[32];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; ++l) sum_x2 = fp::madd(sum_x2, xs[l], xs[l]);
    const float av_x = sqrt_rn(div_rn(sum_x2, 32.0f));
    for (int l = 0; l < 32; ++l) w[l] = fp::add(av_x, abs_exact(xs[l]));
    scales[j] = make_qkx2_quants(32, nmax, xs, w, L + 32 * j, mins[j], rmin, 0.1f, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0.0f ? div_rn(63.0f, max_scale) : 0.0f;
  const float inv_min = max_min > 0.0f ? div_rn(63.0f, max_min) : 0.0f;
  std::uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    const std::uint8_t s = low_byte_u8(nearest_int(fp::mul(inv_scale, scales[j])));
    const std::uint8_t m = low_byte_u8(nearest_int(fp::mul(inv_min, mins[j])));
    ls[j] = s < 63 ? s : 63;
    lm[j] = m < 63 ? m : 63;
  }
  pack_scale_min_k4(ls, lm, scales12);
  d_out = to_fp16(div_rn(max_scale, 63.0f));
  dmin_out = to_fp16(div_rn(max_min, 63.0f));
  const float d = from_fp16(d_out), dmin = from_fp16(dmin_out);
  for (int j = 0; j < 8; ++j) {
    std::uint8_t sc, m;
    get_scale_min_k4(j, scales12, sc, m);
    const float dj = fp::mul(d, static_cast<float>(sc));
    if (dj == 0.0f) continue;
    const float dm = fp::mul(dmin, static_cast<float>(m));
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = static_cast<std::uint8_t>(clamp_int(nearest_int(div_rn(fp::add(x[32 * j + i], dm), dj)), 0, nmax));
  }
}
}  // namespace detail

SO8T_HOST_DEVICE void quantize_block_q4_k_ref(const float* x, BlockQ4K& y) {
  std::uint8_t L[256];
  detail::quantize_k4k5_levels(x, 15, -1.0f, 20, y.scales, y.d, y.dmin, L);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      y.qs[32 * c + l] = static_cast<std::uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
}

/// y = (d*sc) * q - (dmin*m), two roundings after the scale products.
SO8T_HOST_DEVICE void dequantize_block_q4_k(const BlockQ4K& b, float* y) { detail::dequantize_block_k_quant(b, y); }

inline void quantize_row_q4_k_ref(const float* x, BlockQ4K* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q4_k_ref(x + 256 * i, y[i]);
}
inline void dequantize_row_q4_k_ref(const BlockQ4K* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q4_k(b[i], y + 256 * i);
}

}  // namespace so8t::quant
