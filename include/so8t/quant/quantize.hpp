// so8t/quant/quantize.hpp: the public entry points quantize() and dequantize() for every so8t::quant::Type.
//
// quantize(t, src, dst, nrows, ncols) writes nrows * row_bytes(t, ncols) bytes: each row is ncols / QK
// blocks, exactly the bytes ggml's quantize_row_<type>_ref (ggml_quantize_chunk without importance
// matrix) produces (docs/ggml-quant-and-gguf.md §1-§3), whatever the compiler flags.
// Blocks never straddle rows, so the rows are processed as one run of blocks. Q8_0 and Q4_K take the
// xsimd fast path (so8t/quant/simd_q8_0.hpp, simd_q4_k.hpp), which gives the same bytes as the scalar
// *_ref functions; define SO8T_QUANT_NO_SIMD to use the references only.
// dst (src for dequantize) may have any alignment; aligned buffers avoid a per-block copy.
// Errors (so8t::InvalidArgument, a std::invalid_argument): unknown type, negative nrows/ncols, ncols not
// a multiple of the block size, nrows * ncols overflowing, a null pointer with a non-empty shape.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "so8t/base/errors.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/float_types.hpp"
#include "so8t/quant/q4_0.hpp"
#include "so8t/quant/q4_1.hpp"
#include "so8t/quant/q4_k.hpp"
#include "so8t/quant/q5_0.hpp"
#include "so8t/quant/q5_1.hpp"
#include "so8t/quant/q5_k.hpp"
#include "so8t/quant/q6_k.hpp"
#include "so8t/quant/q8_0.hpp"
#include "so8t/quant/q8_k.hpp"
#include "so8t/quant/type.hpp"

#if !defined(SO8T_QUANT_NO_SIMD)
#  include "so8t/quant/simd_q4_k.hpp"
#  include "so8t/quant/simd_q8_0.hpp"
#endif

namespace so8t::quant {

namespace detail {

/// Validates the arguments and returns the number of blocks in nrows x ncols.
inline std::int64_t checked_block_count(const char* fn, Type t, const void* src, const void* dst, std::int64_t nrows,
                                        std::int64_t ncols) {
  const std::int64_t qk = block_size(t);
  if (qk == 0) throw InvalidArgument(std::string(fn) + ": unknown type id " + std::to_string(std::uint32_t(t)));
  if (nrows < 0) throw InvalidArgument(std::string(fn) + ": nrows = " + std::to_string(nrows) + " is negative");
  if (ncols < 0) throw InvalidArgument(std::string(fn) + ": ncols = " + std::to_string(ncols) + " is negative");
  if (ncols % qk != 0)
    throw InvalidArgument(std::string(fn) + ": ncols = " + std::to_string(ncols) + " is not a multiple of the " +
                          type_name(t) + " block size " + std::to_string(qk));
  if (ncols != 0 && nrows > std::numeric_limits<std::int64_t>::max() / ncols)
    throw InvalidArgument(std::string(fn) + ": nrows * ncols = " + std::to_string(nrows) + " * " + std::to_string(ncols) +
                          " overflows");
  const std::int64_t n = nrows * ncols;
  if (n > 0 && src == nullptr) throw InvalidArgument(std::string(fn) + ": src is null for " + std::to_string(n) + " values");
  if (n > 0 && dst == nullptr) throw InvalidArgument(std::string(fn) + ": dst is null for " + std::to_string(n) + " values");
  return n / qk;
}

/// Runs row(src, Block*, nblocks) on dst, through an aligned local copy per block if dst is misaligned.
template <class Block, class RowFn>
void quantize_blocks(const float* src, void* dst, std::int64_t nblocks, std::int64_t qk, RowFn row) {
  if (reinterpret_cast<std::uintptr_t>(dst) % alignof(Block) == 0) {
    row(src, static_cast<Block*>(dst), nblocks);
    return;
  }
  auto* out = static_cast<unsigned char*>(dst);
  for (std::int64_t i = 0; i < nblocks; ++i) {
    Block tmp;
    row(src + qk * i, &tmp, 1);
    std::memcpy(out + sizeof(Block) * static_cast<std::size_t>(i), &tmp, sizeof(Block));
  }
}

template <class Block, class RowFn>
void dequantize_blocks(const void* src, float* dst, std::int64_t nblocks, std::int64_t qk, RowFn row) {
  if (reinterpret_cast<std::uintptr_t>(src) % alignof(Block) == 0) {
    row(static_cast<const Block*>(src), dst, nblocks);
    return;
  }
  const auto* in = static_cast<const unsigned char*>(src);
  for (std::int64_t i = 0; i < nblocks; ++i) {
    Block tmp;
    std::memcpy(&tmp, in + sizeof(Block) * static_cast<std::size_t>(i), sizeof(Block));
    row(&tmp, dst + qk * i, 1);
  }
}

}  // namespace detail

/// Row functions the dispatch uses: the xsimd path where there is one, else the scalar reference.
inline void quantize_row_q8_0(const float* x, BlockQ8_0* y, std::int64_t nb) {
#if !defined(SO8T_QUANT_NO_SIMD)
  quantize_row_q8_0_simd(x, y, nb);
#else
  quantize_row_q8_0_ref(x, y, nb);
#endif
}
inline void dequantize_row_q8_0(const BlockQ8_0* b, float* y, std::int64_t nb) {
#if !defined(SO8T_QUANT_NO_SIMD)
  dequantize_row_q8_0_simd(b, y, nb);
#else
  dequantize_row_q8_0_ref(b, y, nb);
#endif
}
inline void quantize_row_q4_k(const float* x, BlockQ4K* y, std::int64_t nb) {
#if !defined(SO8T_QUANT_NO_SIMD)
  quantize_row_q4_k_simd(x, y, nb);
#else
  quantize_row_q4_k_ref(x, y, nb);
#endif
}
inline void dequantize_row_q4_k(const BlockQ4K* b, float* y, std::int64_t nb) {
#if !defined(SO8T_QUANT_NO_SIMD)
  dequantize_row_q4_k_simd(b, y, nb);
#else
  dequantize_row_q4_k_ref(b, y, nb);
#endif
}

/// Quantizes nrows x ncols float32 values (row-major, contiguous) into nrows * row_bytes(t, ncols) bytes.
inline void quantize(Type t, const float* src, void* dst, std::int64_t nrows, std::int64_t ncols) {
  const std::int64_t nb = detail::checked_block_count("so8t::quant::quantize", t, src, dst, nrows, ncols);
  if (nb == 0) return;
  switch (t) {
    case Type::f32: std::memmove(dst, src, static_cast<std::size_t>(nb) * 4); return;
    case Type::f16: return detail::quantize_blocks<std::uint16_t>(src, dst, nb, 1, quantize_row_f16);
    case Type::bf16: return detail::quantize_blocks<std::uint16_t>(src, dst, nb, 1, quantize_row_bf16);
    case Type::q4_0: return detail::quantize_blocks<BlockQ4_0>(src, dst, nb, 32, quantize_row_q4_0_ref);
    case Type::q4_1: return detail::quantize_blocks<BlockQ4_1>(src, dst, nb, 32, quantize_row_q4_1_ref);
    case Type::q5_0: return detail::quantize_blocks<BlockQ5_0>(src, dst, nb, 32, quantize_row_q5_0_ref);
    case Type::q5_1: return detail::quantize_blocks<BlockQ5_1>(src, dst, nb, 32, quantize_row_q5_1_ref);
    case Type::q8_0: return detail::quantize_blocks<BlockQ8_0>(src, dst, nb, 32, quantize_row_q8_0);
    case Type::q4_k: return detail::quantize_blocks<BlockQ4K>(src, dst, nb, 256, quantize_row_q4_k);
    case Type::q5_k: return detail::quantize_blocks<BlockQ5K>(src, dst, nb, 256, quantize_row_q5_k_ref);
    case Type::q6_k: return detail::quantize_blocks<BlockQ6K>(src, dst, nb, 256, quantize_row_q6_k_ref);
    case Type::q8_k: return detail::quantize_blocks<BlockQ8K>(src, dst, nb, 256, quantize_row_q8_k_ref);
  }
}

/// Decodes nrows rows of ncols values (nrows * row_bytes(t, ncols) bytes) into float32.
inline void dequantize(Type t, const void* src, float* dst, std::int64_t nrows, std::int64_t ncols) {
  const std::int64_t nb = detail::checked_block_count("so8t::quant::dequantize", t, src, dst, nrows, ncols);
  if (nb == 0) return;
  switch (t) {
    case Type::f32: std::memmove(dst, src, static_cast<std::size_t>(nb) * 4); return;
    case Type::f16: return detail::dequantize_blocks<std::uint16_t>(src, dst, nb, 1, dequantize_row_f16);
    case Type::bf16: return detail::dequantize_blocks<std::uint16_t>(src, dst, nb, 1, dequantize_row_bf16);
    case Type::q4_0: return detail::dequantize_blocks<BlockQ4_0>(src, dst, nb, 32, dequantize_row_q4_0_ref);
    case Type::q4_1: return detail::dequantize_blocks<BlockQ4_1>(src, dst, nb, 32, dequantize_row_q4_1_ref);
    case Type::q5_0: return detail::dequantize_blocks<BlockQ5_0>(src, dst, nb, 32, dequantize_row_q5_0_ref);
    case Type::q5_1: return detail::dequantize_blocks<BlockQ5_1>(src, dst, nb, 32, dequantize_row_q5_1_ref);
    case Type::q8_0: return detail::dequantize_blocks<BlockQ8_0>(src, dst, nb, 32, dequantize_row_q8_0);
    case Type::q4_k: return detail::dequantize_blocks<BlockQ4K>(src, dst, nb, 256, dequantize_row_q4_k);
    case Type::q5_k: return detail::dequantize_blocks<BlockQ5K>(src, dst, nb, 256, dequantize_row_q5_k_ref);
    case Type::q6_k: return detail::dequantize_blocks<BlockQ6K>(src, dst, nb, 256, dequantize_row_q6_k_ref);
    case Type::q8_k: return detail::dequantize_blocks<BlockQ8K>(src, dst, nb, 256, dequantize_row_q8_k_ref);
  }
}

}  // namespace so8t::quant
