// so8t/quant/k_common.hpp: pieces shared by the K-quants: the 6-bit scale packing of Q4_K/Q5_K and the
// two level searches (ggml's make_qkx2_quants for Q4_K/Q5_K, make_qx_quants for Q6_K).
//
// Spec §3 "Shared", "make_qkx2_quants", "make_qx_quants". Every sum is float32, sequential in index order
// (§0.8); every product that is then added goes through fp::mul so no flag can fuse it (§0.1); rounding
// is nearest_int (§0.2).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant::detail {

SO8T_HOST_DEVICE int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// Unpack sub-block j's 6-bit scale and min from Q4_K/Q5_K's 12-byte `scales`.
SO8T_HOST_DEVICE void get_scale_min_k4(int j, const std::uint8_t* q, std::uint8_t& sc, std::uint8_t& m) {
  if (j < 4) {
    sc = static_cast<std::uint8_t>(q[j] & 63);
    m = static_cast<std::uint8_t>(q[j + 4] & 63);
  } else {
    sc = static_cast<std::uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = static_cast<std::uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

/// Pack eight 6-bit scales and mins into the 12-byte layout (inverse of get_scale_min_k4).
SO8T_HOST_DEVICE void pack_scale_min_k4(const std::uint8_t* ls, const std::uint8_t* lm, std::uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = static_cast<std::uint8_t>((ls[j] & 63) | ((ls[j + 4] >> 4) << 6));
    q[j + 4] = static_cast<std::uint8_t>((lm[j] & 63) | ((lm[j + 4] >> 4) << 6));
    q[j + 8] = static_cast<std::uint8_t>((ls[j + 4] & 0xF) | ((lm[j + 4] & 0xF) << 4));
  }
}

/// ggml's asymmetric level search (use_mad = false) over n <= 32 values with weights w. Returns the scale,
/// writes -min to `min_out` (>= 0) and the levels 0..nmax to L.
SO8T_HOST_DEVICE float make_qkx2_quants(int n, int nmax, const float* x, const float* w, std::uint8_t* L, float& min_out,
                                        float rmin, float rdelta, int nstep) {
  float mn = x[0], mx = x[0];
  float sum_w = w[0];
  float sum_x = fp::mul(sum_w, x[0]);
  for (int i = 1; i < n; ++i) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
    sum_w = fp::add(sum_w, w[i]);
    sum_x = fp::madd(sum_x, w[i], x[i]);
  }
  if (mn > 0.0f) mn = 0.0f;
  if (mx == mn) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    min_out = -mn;
    return 0.0f;
  }
  // mn is updated below whenever a step wins, and later steps use the updated value (as ggml does).
  float iscale = div_rn(static_cast<float>(nmax), fp::sub(mx, mn));
  float scale = div_rn(1.0f, iscale);
  float best_error = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(fp::mul(iscale, fp::sub(x[i], mn))), 0, nmax);
    L[i] = static_cast<std::uint8_t>(l);
    const float diff = fp::sub(fp::add(fp::mul(scale, static_cast<float>(l)), mn), x[i]);
    best_error = fp::madd(best_error, w[i], fp::mul(diff, diff));
  }
  std::uint8_t Laux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = div_rn(fp::add(fp::add(rmin, fp::mul(rdelta, static_cast<float>(is))), static_cast<float>(nmax)), fp::sub(mx, mn));
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(fp::mul(iscale, fp::sub(x[i], mn))), 0, nmax);
      Laux[i] = static_cast<std::uint8_t>(l);
      const float lf = static_cast<float>(l);
      const float wl = fp::mul(w[i], lf);
      sum_l = fp::add(sum_l, wl);
      sum_l2 = fp::madd(sum_l2, wl, lf);
      sum_xl = fp::madd(sum_xl, wl, x[i]);
    }
    const float D = fp::sub(fp::mul(sum_w, sum_l2), fp::mul(sum_l, sum_l));
    if (D > 0.0f) {
      float this_scale = div_rn(fp::sub(fp::mul(sum_w, sum_xl), fp::mul(sum_x, sum_l)), D);
      float this_min = div_rn(fp::sub(fp::mul(sum_l2, sum_x), fp::mul(sum_l, sum_xl)), D);
      if (this_min > 0.0f) {
        this_min = 0.0f;
        this_scale = div_rn(sum_xl, sum_l2);
      }
      float cur_error = 0.0f;
      for (int i = 0; i < n; ++i) {
        const float diff = fp::sub(fp::add(fp::mul(this_scale, static_cast<float>(Laux[i])), this_min), x[i]);
        cur_error = fp::madd(cur_error, w[i], fp::mul(diff, diff));
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        mn = this_min;
      }
    }
  }
  min_out = -mn;
  return scale;
}

/// ggml's symmetric level search with rmse_type 1 and weights x^2, over n <= 16 values. Levels are
/// written offset by +nmax (0 .. 2*nmax-1), or all 0 for a block with amax < 1e-15. Returns the scale.
SO8T_HOST_DEVICE float make_qx_quants(int n, int nmax, const float* x, std::int8_t* L) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float a = abs_exact(x[i]);
    if (a > amax) {
      amax = a;
      max = x[i];
    }
  }
  if (amax < 1e-15f) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  float iscale = div_rn(static_cast<float>(-nmax), max);
  float sumlx = 0.0f, suml2 = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(fp::mul(iscale, x[i])), -nmax, nmax - 1);
    L[i] = static_cast<std::int8_t>(l + nmax);
    const float lf = static_cast<float>(l);
    const float w = fp::mul(x[i], x[i]);
    sumlx = fp::add(sumlx, fp::mul(fp::mul(w, x[i]), lf));
    suml2 = fp::add(suml2, fp::mul(fp::mul(w, lf), lf));
  }
  float scale = (suml2 != 0.0f) ? div_rn(sumlx, suml2) : 0.0f;
  float best = fp::mul(scale, sumlx);
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = div_rn(-fp::add(static_cast<float>(nmax), fp::mul(0.1f, static_cast<float>(is))), max);
    sumlx = 0.0f;
    suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(fp::mul(iscale, x[i])), -nmax, nmax - 1);
      const float lf = static_cast<float>(l);
      const float w = fp::mul(x[i], x[i]);
      sumlx = fp::add(sumlx, fp::mul(fp::mul(w, x[i]), lf));
      suml2 = fp::add(suml2, fp::mul(fp::mul(w, lf), lf));
    }
    if (suml2 > 0.0f && fp::mul(sumlx, sumlx) > fp::mul(best, suml2)) {
      for (int i = 0; i < n; ++i)
        L[i] = static_cast<std::int8_t>(nmax + clamp_int(nearest_int(fp::mul(iscale, x[i])), -nmax, nmax - 1));
      scale = div_rn(sumlx, suml2);
      best = fp::mul(scale, sumlx);
    }
  }
  return scale;
}

/// Level (0..15 for Q4_K, 0..31 for Q5_K) of value l of sub-block j: the 4 low bits, plus 16 times the
/// high bit for Q5_K.
SO8T_HOST_DEVICE int k_quant_level(const BlockQ4K& w, int j, int l) {
  return (w.qs[32 * (j / 2) + l] >> ((j % 2) * 4)) & 0xF;
}
SO8T_HOST_DEVICE int k_quant_level(const BlockQ5K& w, int j, int l) {
  return ((w.qs[32 * (j / 2) + l] >> ((j % 2) * 4)) & 0xF) + ((w.qh[l] >> j) & 1) * 16;
}

/// Q4_K / Q5_K dequantization: y = (d*sc_j) * level - (dmin*m_j), two roundings after the scale products.
template <class Block>
SO8T_HOST_DEVICE void dequantize_block_k_quant(const Block& b, float* y) {
  const float d = from_fp16(b.d), dmin = from_fp16(b.dmin);
  for (int j = 0; j < 8; ++j) {
    std::uint8_t sc, m;
    get_scale_min_k4(j, b.scales, sc, m);
    const float dj = fp::mul(d, static_cast<float>(sc)), mj = fp::mul(dmin, static_cast<float>(m));
    for (int l = 0; l < 32; ++l) y[32 * j + l] = fp::sub(fp::mul(dj, static_cast<float>(k_quant_level(b, j, l))), mj);
  }
}

}  // namespace so8t::quant::detail
