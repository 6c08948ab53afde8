// so8t/gguf/value_type.hpp: the 13 GGUF metadata value types and the C++ types that hold them.
//
// Ids and sizes from docs/ggml-quant-and-gguf.md §6: stored as an i32 before each value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace so8t::gguf {

enum class ValueType : std::uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,  ///< one byte, 0 or 1
  string = 8,   ///< u64 byte length + UTF-8 bytes, no terminator
  array = 9,    ///< i32 element type + u64 count + elements
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

/// True for the ids 0..12.
constexpr bool is_valid_value_type(std::uint32_t id) { return id <= 12; }

/// Bytes of one value of a fixed-size type; 0 for string and array.
constexpr std::size_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: return 8;
    case ValueType::string: case ValueType::array: return 0;
  }
  return 0;
}

/// GGUF's name of the type, as gguf-py prints it.
constexpr const char* value_type_name(ValueType t) {
  switch (t) {
    case ValueType::u8: return "UINT8";
    case ValueType::i8: return "INT8";
    case ValueType::u16: return "UINT16";
    case ValueType::i16: return "INT16";
    case ValueType::u32: return "UINT32";
    case ValueType::i32: return "INT32";
    case ValueType::f32: return "FLOAT32";
    case ValueType::boolean: return "BOOL";
    case ValueType::string: return "STRING";
    case ValueType::array: return "ARRAY";
    case ValueType::u64: return "UINT64";
    case ValueType::i64: return "INT64";
    case ValueType::f64: return "FLOAT64";
  }
  return "?";
}

/// value_type_of<T>::value: the GGUF type stored for C++ type T (exact types only, so that a u32 key is
/// never silently read as an i32: llama.cpp checks key types strictly, spec §7).
template <class T> struct value_type_of;
template <> struct value_type_of<std::uint8_t> { static constexpr ValueType value = ValueType::u8; };
template <> struct value_type_of<std::int8_t> { static constexpr ValueType value = ValueType::i8; };
template <> struct value_type_of<std::uint16_t> { static constexpr ValueType value = ValueType::u16; };
template <> struct value_type_of<std::int16_t> { static constexpr ValueType value = ValueType::i16; };
template <> struct value_type_of<std::uint32_t> { static constexpr ValueType value = ValueType::u32; };
template <> struct value_type_of<std::int32_t> { static constexpr ValueType value = ValueType::i32; };
template <> struct value_type_of<float> { static constexpr ValueType value = ValueType::f32; };
template <> struct value_type_of<bool> { static constexpr ValueType value = ValueType::boolean; };
template <> struct value_type_of<std::string> { static constexpr ValueType value = ValueType::string; };
template <> struct value_type_of<std::uint64_t> { static constexpr ValueType value = ValueType::u64; };
template <> struct value_type_of<std::int64_t> { static constexpr ValueType value = ValueType::i64; };
template <> struct value_type_of<double> { static constexpr ValueType value = ValueType::f64; };

}  // namespace so8t::gguf
