// so8t/quant/type.hpp: the ggml tensor types so8t reads and writes, with their block geometry.
//
// Ids are GGUF's ggml_type values (docs/ggml-quant-and-gguf.md, type table). A row of n values
// is n / block_size(t) blocks of type_size(t) bytes with no padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "so8t/base/config.hpp"
#include "so8t/base/errors.hpp"

namespace so8t::quant {

enum class Type : std::uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  q8_k = 15,
  bf16 = 30,
};

/// True for the ids above (GGUF files may carry others, which so8t does not decode).
SO8T_HOST_DEVICE constexpr bool is_known(std::uint32_t id) {
  return id == 0 || id == 1 || id == 2 || id == 3 || id == 6 || id == 7 || id == 8 || id == 12 || id == 13 ||
         id == 14 || id == 15 || id == 30;
}

/// Values per block (1 for the float types).
SO8T_HOST_DEVICE constexpr std::int64_t block_size(Type t) {
  switch (t) {
    case Type::f32: case Type::f16: case Type::bf16: return 1;
    case Type::q4_0: case Type::q4_1: case Type::q5_0: case Type::q5_1: case Type::q8_0: return 32;
    case Type::q4_k: case Type::q5_k: case Type::q6_k: case Type::q8_k: return 256;
  }
  return 0;
}

/// Bytes per block.
SO8T_HOST_DEVICE constexpr std::size_t type_size(Type t) {
  switch (t) {
    case Type::f32: return 4;
    case Type::f16: case Type::bf16: return 2;
    case Type::q4_0: return 18;
    case Type::q4_1: return 20;
    case Type::q5_0: return 22;
    case Type::q5_1: return 24;
    case Type::q8_0: return 34;
    case Type::q4_k: return 144;
    case Type::q5_k: return 176;
    case Type::q6_k: return 210;
    case Type::q8_k: return 292;
  }
  return 0;
}

/// ggml's name of the type ("q4_K", "f16", ...).
constexpr const char* type_name(Type t) {
  switch (t) {
    case Type::f32: return "f32";
    case Type::f16: return "f16";
    case Type::bf16: return "bf16";
    case Type::q4_0: return "q4_0";
    case Type::q4_1: return "q4_1";
    case Type::q5_0: return "q5_0";
    case Type::q5_1: return "q5_1";
    case Type::q8_0: return "q8_0";
    case Type::q4_k: return "q4_K";
    case Type::q5_k: return "q5_K";
    case Type::q6_k: return "q6_K";
    case Type::q8_k: return "q8_K";
  }
  return "?";
}

/// Bytes of one row of `ncols` values. Throws InvalidArgument (a std::invalid_argument) when ncols is
/// negative or not a multiple of the block size.
inline std::size_t row_bytes(Type t, std::int64_t ncols) {
  const std::int64_t bs = block_size(t);
  if (bs == 0) throw InvalidArgument("so8t::quant::row_bytes: unknown type id " + std::to_string(std::uint32_t(t)));
  if (ncols < 0 || ncols % bs != 0)
    throw InvalidArgument(std::string("so8t::quant::row_bytes: ncols = ") + std::to_string(ncols) +
                          " is not a non-negative multiple of the " + type_name(t) + " block size " +
                          std::to_string(bs));
  return static_cast<std::size_t>(ncols / bs) * type_size(t);
}

}  // namespace so8t::quant
