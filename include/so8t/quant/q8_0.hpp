// so8t/quant/q8_0.hpp: Q8_0 (ggml type 8), 32 values -> fp16 scale + 32 int8.
//
// Spec §2 "Q8_0": amax with MAX(a, b) = a > b ? a : b, d = amax / 127, quantize with the float32
// id = 1/d (not the fp16-rounded d, §0.3), round with C roundf (§0.2), and convert like x86 gcc (§0.7).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

/// Scalar reference quantizer for one block (bit-exact with ggml's quantize_row_q8_0_ref).
SO8T_HOST_DEVICE void quantize_block_q8_0_ref(const float* x, BlockQ8_0& y) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) {
    const float a = detail::abs_exact(x[j]);
    amax = (amax > a) ? amax : a;
  }
  const float d = detail::div_rn(amax, 127.0f);
  const float id = (d != 0.0f) ? detail::div_rn(1.0f, d) : 0.0f;
  y.d = detail::to_fp16(d);
  for (int j = 0; j < 32; ++j) {
    const float v = detail::round_half_away(fp::mul(x[j], id));
    y.qs[j] = detail::low_byte_i8(detail::trunc_to_i32_x86(v));
  }
}

/// Dequantize one block: y = qs * f32(d).
SO8T_HOST_DEVICE void dequantize_block_q8_0(const BlockQ8_0& b, float* y) {
  const float d = detail::from_fp16(b.d);
  for (int j = 0; j < 32; ++j) y[j] = fp::mul(static_cast<float>(b.qs[j]), d);
}

inline void quantize_row_q8_0_ref(const float* x, BlockQ8_0* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q8_0_ref(x + 32 * i, y[i]);
}
inline void dequantize_row_q8_0_ref(const BlockQ8_0* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q8_0(b[i], y + 32 * i);
}

}  // namespace so8t::quant
