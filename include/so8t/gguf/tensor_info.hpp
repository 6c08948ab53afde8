// so8t/gguf/tensor_info.hpp: what a GGUF file says about one tensor, and its checked byte size.
//
// ne[0] is the contiguous (fastest) dimension; unused dimensions are 1. A tensor is ne[1]*ne[2]*ne[3] rows
// of so8t::quant::row_bytes(type, ne[0]) bytes (docs/ggml-quant-and-gguf.md §4, §6).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "so8t/gguf/checked_math.hpp"
#include "so8t/gguf/format.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::gguf {

struct TensorInfo {
  std::string name;
  quant::Type type = quant::Type::f32;
  std::uint32_t n_dims = 1;                  ///< as stored in the file (1..4)
  std::array<std::int64_t, 4> ne{1, 1, 1, 1};  ///< elements per dimension, ne[0] fastest; unused ones are 1
  std::uint64_t offset = 0;       ///< of the data, relative to the start of the data section
  std::uint64_t nbytes = 0;       ///< bytes of data (unpadded)
  std::uint64_t info_offset = 0;  ///< where this tensor info starts in the file (for error messages)

  /// ne[0] * ne[1] * ne[2] * ne[3] (validated not to overflow when read).
  std::int64_t element_count() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  /// Rows of ne[0] values.
  std::int64_t row_count() const { return ne[1] * ne[2] * ne[3]; }
  /// "[ne0, ne1, ...]" over the stored dimensions.
  std::string shape_string() const {
    std::string s = "[";
    for (std::uint32_t i = 0; i < n_dims && i < 4; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
  }
};

/// n_dims as ggml writes it: one past the last dimension with ne > 1, at least 1 (a [3, 1] tensor is
/// stored as 1-D [3]; MANIFEST.md, t.f32_trailing1). One difference: a trailing dimension of 0 is kept
/// (ggml's rule would drop it and turn an empty tensor into a non-empty one; found by fuzz_reader.cpp).
inline std::uint32_t stored_n_dims(const std::array<std::int64_t, 4>& ne) {
  std::uint32_t n = 1;
  for (std::uint32_t i = 1; i < 4; ++i)
    if (ne[i] != 1) n = i + 1;
  return n;
}

/// Element count of `ne` into *out; false when a dimension is negative or the product exceeds INT64_MAX.
inline bool checked_element_count(const std::array<std::int64_t, 4>& ne, std::uint64_t* out) {
  std::uint64_t n = 1;
  for (std::int64_t d : ne) {
    if (d < 0) return false;
    if (!checked::mul(n, static_cast<std::uint64_t>(d), &n) || n > std::uint64_t(INT64_MAX)) return false;
  }
  *out = n;
  return true;
}

/// Bytes of a tensor of `type` and shape `ne` into *out; false when ne[0] is not a multiple of the block
/// size, a dimension is negative, or the size exceeds INT64_MAX.
inline bool checked_tensor_bytes(quant::Type type, const std::array<std::int64_t, 4>& ne, std::uint64_t* out) {
  const std::int64_t bs = quant::block_size(type);
  if (bs <= 0 || ne[0] < 0 || ne[0] % bs != 0) return false;
  std::uint64_t n = 0;
  if (!checked::mul(static_cast<std::uint64_t>(ne[0] / bs), quant::type_size(type), &n)) return false;
  for (int i = 1; i < 4; ++i) {
    if (ne[i] < 0 || !checked::mul(n, static_cast<std::uint64_t>(ne[i]), &n)) return false;
  }
  if (n > std::uint64_t(INT64_MAX)) return false;
  *out = n;
  return true;
}

}  // namespace so8t::gguf
