// so8t/quant/blocks.hpp: the packed ggml block layouts, byte for byte.
//
// Layouts from docs/ggml-quant-and-gguf.md §2 (32-value blocks) and §3 (256-value super-blocks).
// fp16 fields are stored as raw binary16 bits (std::uint16_t) and converted with so8t/base/half.hpp. Every
// struct has exactly ggml's size (static_assert below) and alignment 2 (4 for BlockQ8K, whose d is a
// float32), so an array of blocks is the row's bytes with no padding. Multi-byte fields are
// little-endian on disk; so8t assumes a little-endian host (checked below).
#pragma once

#include <cstdint>

#include "so8t/base/config.hpp"

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
#  error "so8t/quant: ggml blocks are little-endian; big-endian hosts are not supported"
#endif

namespace so8t::quant {

/// Values per legacy block (Q4_0 ... Q8_0) and per K-quant super-block.
inline constexpr int qk_legacy = 32;
inline constexpr int qk_k = 256;

/// Q8_0: d (fp16) | qs[32] int8. y = qs * d.
struct BlockQ8_0 {
  std::uint16_t d;
  std::int8_t qs[32];
};

/// Q4_0: d (fp16) | qs[16]; byte k = element k (low nibble) and k+16 (high nibble). y = (q - 8) * d.
struct BlockQ4_0 {
  std::uint16_t d;
  std::uint8_t qs[16];
};

/// Q4_1: d, m (fp16) | qs[16] as Q4_0. y = q * d + m.
struct BlockQ4_1 {
  std::uint16_t d;
  std::uint16_t m;
  std::uint8_t qs[16];
};

/// Q5_0: d (fp16) | qh[4] (bit j = 5th bit of element j, little-endian u32) | qs[16] low nibbles.
struct BlockQ5_0 {
  std::uint16_t d;
  std::uint8_t qh[4];
  std::uint8_t qs[16];
};

/// Q5_1: d, m (fp16) | qh[4] | qs[16].
struct BlockQ5_1 {
  std::uint16_t d;
  std::uint16_t m;
  std::uint8_t qh[4];
  std::uint8_t qs[16];
};

/// Q4_K: d, dmin (fp16) | scales[12] (eight 6-bit scales and mins, §3 "Shared") | qs[128].
struct BlockQ4K {
  std::uint16_t d;
  std::uint16_t dmin;
  std::uint8_t scales[12];
  std::uint8_t qs[128];
};

/// Q5_K: d, dmin (fp16) | scales[12] | qh[32] | qs[128].
struct BlockQ5K {
  std::uint16_t d;
  std::uint16_t dmin;
  std::uint8_t scales[12];
  std::uint8_t qh[32];
  std::uint8_t qs[128];
};

/// Q6_K: ql[128] | qh[64] | scales[16] int8 | d (fp16) - d comes last.
struct BlockQ6K {
  std::uint8_t ql[128];
  std::uint8_t qh[64];
  std::int8_t scales[16];
  std::uint16_t d;
};

/// Q8_K: d (float32, not fp16) | qs[256] int8 | bsums[16] int16 (sum of each 16 quants).
struct BlockQ8K {
  float d;
  std::int8_t qs[256];
  std::int16_t bsums[16];
};

static_assert(sizeof(BlockQ8_0) == 34 && alignof(BlockQ8_0) == 2, "Q8_0 block is 34 bytes");
static_assert(sizeof(BlockQ4_0) == 18 && alignof(BlockQ4_0) == 2, "Q4_0 block is 18 bytes");
static_assert(sizeof(BlockQ4_1) == 20 && alignof(BlockQ4_1) == 2, "Q4_1 block is 20 bytes");
static_assert(sizeof(BlockQ5_0) == 22 && alignof(BlockQ5_0) == 2, "Q5_0 block is 22 bytes");
static_assert(sizeof(BlockQ5_1) == 24 && alignof(BlockQ5_1) == 2, "Q5_1 block is 24 bytes");
static_assert(sizeof(BlockQ4K) == 144 && alignof(BlockQ4K) == 2, "Q4_K block is 144 bytes");
static_assert(sizeof(BlockQ5K) == 176 && alignof(BlockQ5K) == 2, "Q5_K block is 176 bytes");
static_assert(sizeof(BlockQ6K) == 210 && alignof(BlockQ6K) == 2, "Q6_K block is 210 bytes");
static_assert(sizeof(BlockQ8K) == 292 && alignof(BlockQ8K) == 4, "Q8_K block is 292 bytes");

}  // namespace so8t::quant
