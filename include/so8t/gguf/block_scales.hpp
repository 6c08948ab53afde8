// so8t/gguf/block_scales.hpp: find quantized blocks whose scale is NaN or Inf.
//
// The attack list (calibration-pet-pipeline.md §5.4, "f16 scale values in Q8_0/Q4_K blocks that are NaN or
// Inf") asks to reject or flag them: a single such block turns a whole dot product into NaN. Field positions
// are the block layouts of docs/ggml-quant-and-gguf.md §4.
#pragma once

#include <cstdint>
#include <cstring>

#include "so8t/quant/type.hpp"

namespace so8t::gguf {

namespace detail {
inline bool fp16_bits_finite(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return (h & 0x7C00u) != 0x7C00u;  // exponent all ones = Inf or NaN
}
inline bool fp32_bits_finite(const std::uint8_t* p) {
  std::uint32_t u;
  std::memcpy(&u, p, 4);
  return (u & 0x7F800000u) != 0x7F800000u;
}
}  // namespace detail

/// Index of the first block of `nbytes` bytes of `type` data whose scale (d, and m / dmin where the type
/// has one) is not finite, or -1 when all are finite. Float types (F32/F16/BF16) have no scales: -1.
inline std::int64_t first_nonfinite_scale(quant::Type type, const std::uint8_t* data, std::uint64_t nbytes) {
  using quant::Type;
  const std::uint64_t bsize = quant::type_size(type);
  if (quant::block_size(type) <= 1 || bsize == 0) return -1;
  const std::uint64_t nblocks = nbytes / bsize;
  for (std::uint64_t b = 0; b < nblocks; ++b) {
    const std::uint8_t* p = data + b * bsize;
    bool ok = true;
    switch (type) {
      case Type::q4_0: case Type::q5_0: case Type::q8_0:  // d at 0
        ok = detail::fp16_bits_finite(p);
        break;
      case Type::q4_1: case Type::q5_1: case Type::q4_k: case Type::q5_k:  // d at 0, m / dmin at 2
        ok = detail::fp16_bits_finite(p) && detail::fp16_bits_finite(p + 2);
        break;
      case Type::q6_k:  // ql[128], qh[64], scales[16], then d at 208
        ok = detail::fp16_bits_finite(p + 208);
        break;
      case Type::q8_k:  // d is a float32 at 0
        ok = detail::fp32_bits_finite(p);
        break;
      default:
        break;
    }
    if (!ok) return static_cast<std::int64_t>(b);
  }
  return -1;
}

}  // namespace so8t::gguf
