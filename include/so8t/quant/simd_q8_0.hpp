// so8t/quant/simd_q8_0.hpp: xsimd fast path of Q8_0 quantize and dequantize, byte-identical to
// quantize_block_q8_0_ref / dequantize_block_q8_0 (tested in tests/quant/test_quant_simd.cpp).
//
// Same steps as the reference (spec §2 "Q8_0"), lane-wise: amax (order-free for finite inputs),
// d = amax/127, id = 1/d, v = x*id, roundf done as trunc + "fraction >= 0.5" (exact below 2^23).
// Blocks with inf/NaN, or whose id overflows (amax < ~4e-37, spec §0.7), go to the scalar reference.
#pragma once

#include <cstdint>

#include "so8t/quant/blocks.hpp"
#include "so8t/quant/q8_0.hpp"
#include "so8t/quant/rounding.hpp"
#include "so8t/quant/simd_batch.hpp"

namespace so8t::quant {

inline void quantize_block_q8_0_simd(const float* x, BlockQ8_0& y) {
  using simd::fbatch;
  using simd::lanes;
  if (!simd::all_finite(x, 32)) return quantize_block_q8_0_ref(x, y);
  fbatch vmax(0.0f);
  for (int i = 0; i < 32; i += lanes) vmax = xsimd::max(vmax, xsimd::abs(fbatch::load_unaligned(x + i)));
  alignas(32) float m[simd::lanes];
  vmax.store_aligned(m);
  float amax = 0.0f;
  for (int k = 0; k < lanes; ++k) amax = amax > m[k] ? amax : m[k];
  const float d = amax / 127.0f;
  const float id = (d != 0.0f) ? 1.0f / d : 0.0f;
  if (!(id < 3.0e38f)) return quantize_block_q8_0_ref(x, y);  // 1/d overflowed: reference handles it
  y.d = detail::to_fp16(d);
  alignas(32) std::int32_t q[32];
  const fbatch vid(id);
  for (int i = 0; i < 32; i += lanes) {
    const fbatch v = fp::mul(fbatch::load_unaligned(x + i), vid);
    const fbatch a = xsimd::abs(v);
    const fbatch t = xsimd::trunc(a);
    const fbatch r = xsimd::select((a - t) >= fbatch(0.5f), t + fbatch(1.0f), t);
    const simd::ibatch qi = xsimd::to_int(r);
    xsimd::select(xsimd::bitwise_cast<simd::ibatch>(v) < simd::ibatch(0), simd::ibatch(0) - qi, qi).store_aligned(q + i);
  }
  for (int j = 0; j < 32; ++j) y.qs[j] = static_cast<std::int8_t>(q[j]);
}

inline void dequantize_block_q8_0_simd(const BlockQ8_0& b, float* y) {
  using simd::fbatch;
  alignas(32) float q[32];
  for (int j = 0; j < 32; ++j) q[j] = static_cast<float>(b.qs[j]);
  const fbatch d(detail::from_fp16(b.d));
  for (int i = 0; i < 32; i += simd::lanes) (fbatch::load_aligned(q + i) * d).store_unaligned(y + i);
}

inline void quantize_row_q8_0_simd(const float* x, BlockQ8_0* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q8_0_simd(x + 32 * i, y[i]);
}
inline void dequantize_row_q8_0_simd(const BlockQ8_0* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q8_0_simd(b[i], y + 32 * i);
}

}  // namespace so8t::quant
