// so8t/quant/float_types.hpp: the unquantized row types F32, F16 and BF16 as block size 1 "quantizers".
//
// fp16 and bf16 conversions are so8t/base/half.hpp's integer-only routines (IEEE round to nearest even, NaN
// rules of ggml; spec §1), so they are flag-independent like the block quantizers.
#pragma once

#include <cstdint>
#include <cstring>

#include "so8t/base/config.hpp"
#include "so8t/base/half.hpp"

namespace so8t::quant {

inline void quantize_row_f16(const float* x, std::uint16_t* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16_bits(x[i]);
}
inline void dequantize_row_f16(const std::uint16_t* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = fp16_bits_to_fp32(x[i]);
}
inline void quantize_row_bf16(const float* x, std::uint16_t* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16_bits(x[i]);
}
inline void dequantize_row_bf16(const std::uint16_t* x, float* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = bf16_bits_to_fp32(x[i]);
}

}  // namespace so8t::quant
