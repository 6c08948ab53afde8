// so8t/quant/q5_k.hpp: Q5_K (ggml type 13), as Q4_K with 5-bit levels (4 in qs, the 5th bit in qh).
//
// Spec §3 "Q5_K": nmax 31, make_qkx2_quants(rmin -0.5, rdelta 0.1, nstep 15), clamp [0, 31];
// bit 2c (2c+1) of qh[j] is the high bit of value 64c + j (64c + 32 + j).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/k_common.hpp"
#include "so8t/quant/q4_k.hpp"
#include "so8t/quant/rounding.hpp"

namespace so8t::quant {

SO8T_HOST_DEVICE void quantize_block_q5_k_ref(const float* x, BlockQ5K& y) {
  std::uint8_t L[256];
  detail::quantize_k4k5_levels(x, 31, -0.5f, 15, y.scales, y.d, y.dmin, L);
  for (int j = 0; j < 32; ++j) y.qh[j] = 0;
  for (int c = 0; c < 4; ++c) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[64 * c + j], l2 = L[64 * c + 32 + j];
      if (l1 > 15) {
        l1 -= 16;
        y.qh[j] = static_cast<std::uint8_t>(y.qh[j] | (1u << (2 * c)));
      }
      if (l2 > 15) {
        l2 -= 16;
        y.qh[j] = static_cast<std::uint8_t>(y.qh[j] | (1u << (2 * c + 1)));
      }
      y.qs[32 * c + j] = static_cast<std::uint8_t>(l1 | (l2 << 4));
    }
  }
}

SO8T_HOST_DEVICE void dequantize_block_q5_k(const BlockQ5K& b, float* y) { detail::dequantize_block_k_quant(b, y); }

inline void quantize_row_q5_k_ref(const float* x, BlockQ5K* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) quantize_block_q5_k_ref(x + 256 * i, y[i]);
}
inline void dequantize_row_q5_k_ref(const BlockQ5K* b, float* y, std::int64_t nblocks) {
  for (std::int64_t i = 0; i < nblocks; ++i) dequantize_block_q5_k(b[i], y + 256 * i);
}

}  // namespace so8t::quant
