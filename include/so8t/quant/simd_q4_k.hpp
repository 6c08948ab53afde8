// so8t/quant/simd_q4_k.hpp: xsimd fast path of Q4_K quantize and dequantize, byte-identical to
// quantize_block_q4_k_ref / dequantize_block_q4_k (tested in tests/quant/test_quant_simd.cpp).
//
// The expensive part of Q4_K is make_qkx2_quants (22 passes over each 32-value sub-block). Its sums must
// stay sequential in index order (spec §0.8), so instead of splitting one sum across lanes, each lane runs
// the whole search for one sub-block: lane j holds value i of sub-block j (a transpose), every branch of
// the reference becomes a lane-wise select with the same comparison, and every product that is then added
// goes through fp::mul (no FMA). Lane by lane this is the scalar reference's exact sequence of IEEE
// operations. The scale packing and the second pass (per-value divide + nearest_int) follow the
// reference; super-blocks with inf/NaN go to the scalar reference.
#pragma once

#include <cstdint>

#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/k_common.hpp"
#include "so8t/quant/q4_k.hpp"
#include "so8t/quant/rounding.hpp"
#include "so8t/quant/simd_batch.hpp"

namespace so8t::quant {

namespace detail {

/// make_qkx2_quants for `lanes` sub-blocks at once; xt[i] holds value i of each lane's sub-block.
/// Writes the levels (as floats) to Lt[i], returns the scale and sets min_out (= -min) per lane.
inline simd::fbatch make_qkx2_quants_lanes(int nmax, const simd::fbatch* xt, const simd::fbatch* w, simd::fbatch* Lt,
                                           simd::fbatch& min_out, float rmin, float rdelta, int nstep) {
  using simd::fbatch;
  constexpr int n = 32;
  const fbatch zero(0.0f), fnmax(static_cast<float>(nmax));
  fbatch mn = xt[0], mx = xt[0], sum_w = w[0];
  fbatch sum_x = fp::mul(sum_w, xt[0]);
  for (int i = 1; i < n; ++i) {
    mn = xsimd::select(xt[i] < mn, xt[i], mn);
    mx = xsimd::select(xt[i] > mx, xt[i], mx);
    sum_w = sum_w + w[i];
    sum_x = sum_x + fp::mul(w[i], xt[i]);
  }
  mn = xsimd::select(mn > zero, zero, mn);
  const auto flat = (mx == mn);
  const fbatch mn_flat = mn;
  fbatch iscale = fnmax / (mx - mn);
  fbatch scale = fbatch(1.0f) / iscale;
  fbatch best_error = zero;
  for (int i = 0; i < n; ++i) {
    Lt[i] = simd::nearest_int_clamped(fp::mul(iscale, xt[i] - mn), 0, nmax);
    const fbatch diff = (fp::mul(scale, Lt[i]) + mn) - xt[i];
    best_error = best_error + fp::mul(w[i], fp::mul(diff, diff));
  }
  fbatch Laux[n];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (fbatch(fp::add(fp::add(rmin, fp::mul(rdelta, static_cast<float>(is))), static_cast<float>(nmax)))) / (mx - mn);
    fbatch sum_l = zero, sum_l2 = zero, sum_xl = zero;
    for (int i = 0; i < n; ++i) {
      Laux[i] = simd::nearest_int_clamped(fp::mul(iscale, xt[i] - mn), 0, nmax);
      const fbatch wl = fp::mul(w[i], Laux[i]);
      sum_l = sum_l + wl;
      sum_l2 = sum_l2 + fp::mul(wl, Laux[i]);
      sum_xl = sum_xl + fp::mul(wl, xt[i]);
    }
    const fbatch D = fp::mul(sum_w, sum_l2) - fp::mul(sum_l, sum_l);
    const auto d_pos = D > zero;
    if (!xsimd::any(d_pos)) continue;
    fbatch this_scale = (fp::mul(sum_w, sum_xl) - fp::mul(sum_x, sum_l)) / D;
    fbatch this_min = (fp::mul(sum_l2, sum_x) - fp::mul(sum_l, sum_xl)) / D;
    const auto min_pos = this_min > zero;
    this_min = xsimd::select(min_pos, zero, this_min);
    this_scale = xsimd::select(min_pos, sum_xl / sum_l2, this_scale);
    fbatch cur_error = zero;
    for (int i = 0; i < n; ++i) {
      const fbatch diff = (fp::mul(this_scale, Laux[i]) + this_min) - xt[i];
      cur_error = cur_error + fp::mul(w[i], fp::mul(diff, diff));
    }
    const auto better = d_pos && (cur_error < best_error);
    if (!xsimd::any(better)) continue;
    for (int i = 0; i < n; ++i) Lt[i] = xsimd::select(better, Laux[i], Lt[i]);
    best_error = xsimd::select(better, cur_error, best_error);
    scale = xsimd::select(better, this_scale, scale);
    mn = xsimd::select(better, this_min, mn);
  }
  // Lanes whose sub-block is flat (max == min) return early in the reference: levels 0, scale 0.
  for (int i = 0; i < n; ++i) Lt[i] = xsimd::select(flat, zero, Lt[i]);
  min_out = zero - xsimd::select(flat, mn_flat, mn);
  return xsimd::select(flat, zero, scale);
}

}  // namespace detail

inline void quantize_block_q4_k_simd(const float* x, BlockQ4K& y) {
  using simd::fbatch;
  using simd::lanes;
  if (!simd::all_finite(x, 256)) return quantize_block_q4_k_ref(x, y);
  float scales[8], mins[8];
  std::uint8_t L[256];
  for (int g = 0; g < 8; g += lanes) {  // lanes = sub-blocks g .. g+lanes-1
    fbatch xt[32], w[32], Lt[32];
    alignas(32) float tmp[lanes];
    for (int i = 0; i < 32; ++i) {
      for (int k = 0; k < lanes; ++k) tmp[k] = x[32 * (g + k) + i];
      xt[i] = fbatch::load_aligned(tmp);
    }
    fbatch sum_x2(0.0f);
    for (int i = 0; i < 32; ++i) sum_x2 = sum_x2 + fp::mul(xt[i], xt[i]);
    const fbatch av_x = xsimd::sqrt(sum_x2 / fbatch(32.0f));
    for (int i = 0; i < 32; ++i) w[i] = av_x + xsimd::abs(xt[i]);
    fbatch mn;
    const fbatch sc = detail::make_qkx2_quants_lanes(15, xt, w, Lt, mn, -1.0f, 0.1f, 20);
    sc.store_unaligned(scales + g);
    mn.store_unaligned(mins + g);
    for (int i = 0; i < 32; ++i) {
      Lt[i].store_aligned(tmp);
      for (int k = 0; k < lanes; ++k) L[32 * (g + k) + i] = static_cast<std::uint8_t>(tmp[k]);
    }
  }
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  std::uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    const std::uint8_t s = detail::low_byte_u8(detail::nearest_int(fp::mul(inv_scale, scales[j])));
    const std::uint8_t m = detail::low_byte_u8(detail::nearest_int(fp::mul(inv_min, mins[j])));
    ls[j] = s < 63 ? s : 63;
    lm[j] = m < 63 ? m : 63;
  }
  detail::pack_scale_min_k4(ls, lm, y.scales);
  y.d = detail::to_fp16(max_scale / 63.0f);
  y.dmin = detail::to_fp16(max_min / 63.0f);
  const float d = detail::from_fp16(y.d), dmin = detail::from_fp16(y.dmin);
  for (int j = 0; j < 8; ++j) {
    std::uint8_t sc, m;
    detail::get_scale_min_k4(j, y.scales, sc, m);
    const float dj = fp::mul(d, static_cast<float>(sc));
    if (dj == 0.0f) continue;
    const fbatch vdm(fp::mul(dmin, static_cast<float>(m))), vdj(dj);
    alignas(32) float tmp[lanes];
    for (int i = 0; i < 32; i += lanes) {
      simd::nearest_int_clamped((fbatch::load_unaligned(x + 32 * j + i) + vdm) / vdj, 0, 15).store_aligned(tmp);
      for (int k = 0; k < lanes; ++k) L[32 * j + i + k] = static_cast<std::uint8_t>(tmp[k]);
    }
  }
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) y.qs[32 * c + l] = static_cast<std::uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
}

inline void dequantize_block_q4_k_simd(const BlockQ4K& b, float* y) {
  using simd::fbatch;
  const float d = detail::from_fp16(b.d), dmin = detail::from_fp16(b.dmin);
  alignas(32) float lo[32], hi[32];
  for (int c = 0; c < 4; ++c) {
    std::uint8_t sc, m;
    detail::get_scale_min_k4(2 * c, b.scales, sc, m);
    const fbatch d1(fp::mul(d, static_cast<float>(sc))), m1(fp::mul(dmin, static_cast<float>(m)));
    detail::get_scale_min_k4(2 * c + 1, b.scales, sc, m);
    const fbatch d2(fp::mul(d, static_cast<float>(sc))), m2(fp::mul(dmin, static_cast<float>(m)));
    const std::uint8_t* q = b.qs + 32 * c;
    for (int l = 0; l < 32; ++l) {
      lo[l] = static_cast<float>(q[l] & 0xF);
      hi[l] = static_cast<float>(q[l] >> 4);
    }
    for (int l = 0; l < 32; l += simd::lanes) {
      (fp::mul(d1, fbatch::load_aligned(lo + l)) - m1).store_unaligned(y + 64 * c + l);
      (fp::mul(d2, fbatch::load_aligned(hi + l)) - m2).store_unaligned(y + 64 * c + 32 + l);
    }
  }
}

inline void quantize_row_q4_k_simd(const float* x, BlockQ4K* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q4_k_simd(x + 256 * i, y[i]);
}
inline void dequantize_row_q4_k_simd(const BlockQ4K* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q4_k_simd(b[i], y + 256 * i);
}

}  // namespace so8t::quant
