// so8t/quant/q8_k.hpp: Q8_K (ggml type 15), the activation type of the K-quant dot products:
// float32 d, 256 int8, sixteen int16 block sums.
//
// Spec §3 "Q8_K": iscale = -127 / max (signed largest element), qs = min(127, NI(iscale * x)) stored as
// int8 (wraps like ggml for pathological inputs), d = 1 / iscale. ggml leaves bsums unwritten for an
// all-zero block; so8t writes zeros there (what the shared vectors hold, and deterministic).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/q4_0.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

SO8T_HOST_DEVICE void quantize_block_q8_k_ref(const float* x, BlockQ8K& y) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 256; ++j) {
    const float a = detail::abs_exact(x[j]);
    if (a > amax) {
      amax = a;
      max = x[j];
    }
  }
  if (amax == 0.0f) {
    y.d = 0.0f;
    for (int j = 0; j < 256; ++j) y.qs[j] = 0;
    for (int k = 0; k < 16; ++k) y.bsums[k] = 0;
    return;
  }
  const float iscale = detail::div_rn(-127.0f, max);
  for (int j = 0; j < 256; ++j) {
    const int v = detail::nearest_int(fp::mul(iscale, x[j]));
    y.qs[j] = detail::low_byte_i8(v < 127 ? v : 127);
  }
  for (int k = 0; k < 16; ++k) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += y.qs[16 * k + i];
    y.bsums[k] = static_cast<std::int16_t>(sum);
  }
  y.d = detail::div_rn(1.0f, iscale);
}

/// y = d * qs.
SO8T_HOST_DEVICE void dequantize_block_q8_k(const BlockQ8K& b, float* y) {
  for (int j = 0; j < 256; ++j) y[j] = fp::mul(b.d, static_cast<float>(b.qs[j]));
}

inline void quantize_row_q8_k_ref(const float* x, BlockQ8K* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q8_k_ref(x + 256 * i, y[i]);
}
inline void dequantize_row_q8_k_ref(const BlockQ8K* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q8_k(b[i], y + 256 * i);
}

}  // namespace so8t::quant
