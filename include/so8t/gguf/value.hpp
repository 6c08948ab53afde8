// so8t/gguf/value.hpp: one GGUF metadata value (a scalar, a string, or an array of one of those).
//
// Fixed-size scalars and array elements are kept as the little-endian bytes they have in the file, so that
// reading and writing a value is a copy and floats (NaN payloads, -0.0) survive a round trip bit for bit.
// Accessors check the type exactly and throw so8t::InvalidArgument otherwise.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gguf/value_type.hpp"

namespace so8t::gguf {

class Value {
 public:
  /// A UINT8 zero (so that containers of values can be resized).
  Value() = default;

  // ---- scalars: the C++ type picks the GGUF type exactly (std::uint32_t -> UINT32, float -> FLOAT32, ...)
  template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
  static Value of(T v) {
    Value out;
    out.type_ = value_type_of<T>::value;
    if constexpr (std::is_same_v<T, bool>) {
      out.bits_ = v ? 1 : 0;
    } else {
      std::memcpy(&out.bits_, &v, sizeof(T));
    }
    return out;
  }
  static Value of(std::string s) { return string(std::move(s)); }
  static Value of(const char* s) { return string(s); }
  static Value string(std::string s) {
    Value out;
    out.type_ = ValueType::string;
    out.string_ = std::move(s);
    return out;
  }

  // ---- arrays
  /// Array of a fixed-size type (T = std::uint8_t ... double, bool) or of std::string.
  template <class T>
  static Value array(const std::vector<T>& elements) {
    Value out;
    out.type_ = ValueType::array;
    out.element_type_ = value_type_of<T>::value;
    out.count_ = elements.size();
    if constexpr (std::is_same_v<T, std::string>) {
      out.strings_ = elements;
    } else if constexpr (std::is_same_v<T, bool>) {
      for (bool b : elements) out.packed_.push_back(b ? 1 : 0);
    } else {
      out.packed_.resize(elements.size() * sizeof(T));
      if (!elements.empty()) std::memcpy(out.packed_.data(), elements.data(), out.packed_.size());
    }
    return out;
  }
  /// Array of `count` fixed-size elements given as their little-endian bytes (what the reader copies out
  /// of the file). Bool bytes must be 0 or 1.
  static Value packed_array(ValueType element_type, std::uint64_t count, std::vector<std::uint8_t> bytes) {
    const std::size_t size = scalar_size(element_type);
    if (size == 0) throw InvalidArgument("so8t::gguf::Value::packed_array: element type must be fixed-size");
    if (bytes.size() / size != count || bytes.size() % size != 0)
      throw InvalidArgument("so8t::gguf::Value::packed_array: byte count does not match the element count");
    if (element_type == ValueType::boolean)
      for (std::uint8_t b : bytes)
        if (b > 1) throw InvalidArgument("so8t::gguf::Value::packed_array: bool byte not 0 or 1");
    Value out;
    out.type_ = ValueType::array;
    out.element_type_ = element_type;
    out.count_ = count;
    out.packed_ = std::move(bytes);
    return out;
  }
  /// A fixed-size scalar from its little-endian bytes (bool: 0 or 1).
  static Value packed_scalar(ValueType type, std::uint64_t bits) {
    const std::size_t size = scalar_size(type);
    if (size == 0) throw InvalidArgument("so8t::gguf::Value::packed_scalar: type must be fixed-size");
    if (size < 8 && (bits >> (8 * size)) != 0)
      throw InvalidArgument("so8t::gguf::Value::packed_scalar: bits wider than the type");
    if (type == ValueType::boolean && bits > 1)
      throw InvalidArgument("so8t::gguf::Value::packed_scalar: bool byte not 0 or 1");
    Value out;
    out.type_ = type;
    out.bits_ = bits;
    return out;
  }

  // ---- inspection
  ValueType type() const noexcept { return type_; }
  bool is_array() const noexcept { return type_ == ValueType::array; }
  /// The element type of an array (meaningless for scalars).
  ValueType element_type() const noexcept { return element_type_; }
  /// Number of array elements (0 for scalars).
  std::uint64_t size() const noexcept { return count_; }

  /// The scalar as T, which must be exactly the stored type (std::string for STRING).
  template <class T>
  T as() const {
    if (type_ != value_type_of<T>::value)
      throw InvalidArgument(std::string("so8t::gguf::Value: value is ") + value_type_name(type_) + ", not " +
                            value_type_name(value_type_of<T>::value));
    if constexpr (std::is_same_v<T, std::string>) {
      return string_;
    } else if constexpr (std::is_same_v<T, bool>) {
      return bits_ != 0;
    } else {
      T v;
      std::memcpy(&v, &bits_, sizeof(T));
      return v;
    }
  }
  /// The string value without a copy.
  const std::string& as_string() const {
    if (type_ != ValueType::string)
      throw InvalidArgument(std::string("so8t::gguf::Value: value is ") + value_type_name(type_) + ", not STRING");
    return string_;
  }
  /// Raw little-endian bits of a fixed-size scalar (zero-extended).
  std::uint64_t bits() const noexcept { return bits_; }

  /// The array's elements as T, which must be exactly the element type.
  template <class T>
  std::vector<T> as_array() const {
    if (type_ != ValueType::array || element_type_ != value_type_of<T>::value)
      throw InvalidArgument(std::string("so8t::gguf::Value: value is not an array of ") +
                            value_type_name(value_type_of<T>::value));
    if constexpr (std::is_same_v<T, std::string>) {
      return strings_;
    } else if constexpr (std::is_same_v<T, bool>) {
      std::vector<bool> out;
      for (std::uint8_t b : packed_) out.push_back(b != 0);
      return out;
    } else {
      std::vector<T> out(static_cast<std::size_t>(count_));
      if (count_ != 0) std::memcpy(out.data(), packed_.data(), packed_.size());
      return out;
    }
  }
  /// Elements of an array of strings (empty for other values).
  const std::vector<std::string>& string_elements() const noexcept { return strings_; }
  /// Little-endian bytes of an array of fixed-size elements (empty for other values).
  const std::vector<std::uint8_t>& packed_elements() const noexcept { return packed_; }

  /// Same type and same bytes (so NaN == NaN when the bits agree, and 0.0 != -0.0).
  friend bool operator==(const Value& a, const Value& b) {
    return a.type_ == b.type_ && a.element_type_ == b.element_type_ && a.count_ == b.count_ && a.bits_ == b.bits_ &&
           a.string_ == b.string_ && a.packed_ == b.packed_ && a.strings_ == b.strings_;
  }
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

  /// A one-line rendering for people (CLI `info`): at most `max_elements` array elements, strings quoted
  /// with control and non-ASCII-printable bytes escaped and cut after `max_string_bytes` (at a UTF-8 character
  /// boundary, with the full length noted; 0 = never cut), so a 10 MB string prints as one short line.
  std::string to_display(std::size_t max_elements = 8, std::size_t max_string_bytes = 0) const {
    if (type_ != ValueType::array) return scalar_display(type_, bits_, string_, max_string_bytes);
    std::string out = std::string("[") + value_type_name(element_type_) + " x " + std::to_string(count_) + ": ";
    const std::size_t size = scalar_size(element_type_);
    for (std::uint64_t i = 0; i < count_ && i < max_elements; ++i) {
      if (i) out += ", ";
      if (element_type_ == ValueType::string) {
        out += scalar_display(ValueType::string, 0, strings_[static_cast<std::size_t>(i)], max_string_bytes);
      } else {
        std::uint64_t b = 0;
        std::memcpy(&b, packed_.data() + i * size, size);
        out += scalar_display(element_type_, b, string_);
      }
    }
    if (count_ > max_elements) out += ", ...";
    return out + "]";
  }

 private:
  static std::string scalar_display(ValueType t, std::uint64_t b, const std::string& s, std::size_t max_bytes = 0) {
    char buf[64];
    auto bits_as = [&](auto v) {
      std::memcpy(&v, &b, sizeof(v));
      return v;
    };
    switch (t) {
      case ValueType::u8: case ValueType::u16: case ValueType::u32: case ValueType::u64:
        return std::to_string(b);
      case ValueType::i8: return std::to_string(bits_as(std::int8_t{}));
      case ValueType::i16: return std::to_string(bits_as(std::int16_t{}));
      case ValueType::i32: return std::to_string(bits_as(std::int32_t{}));
      case ValueType::i64: return std::to_string(bits_as(std::int64_t{}));
      case ValueType::f32: std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(bits_as(float{}))); return buf;
      case ValueType::f64: std::snprintf(buf, sizeof buf, "%.17g", bits_as(double{})); return buf;
      case ValueType::boolean: return b ? "true" : "false";
      case ValueType::string: {
        std::size_t n = s.size();
        if (max_bytes > 0 && n > max_bytes) {
          n = max_bytes;
          while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // not inside a character
        }
        std::string out = "\"";
        for (std::size_t i = 0; i < n; ++i) {
          const unsigned char c = static_cast<unsigned char>(s[i]);
          if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
        }
        if (n < s.size()) return out + "\"... (" + std::to_string(s.size()) + " bytes)";
        return out + "\"";
      }
      case ValueType::array: return "[...]";
    }
    return "?";
  }

  ValueType type_ = ValueType::u8;
  ValueType element_type_ = ValueType::u8;
  std::uint64_t count_ = 0;
  std::uint64_t bits_ = 0;
  std::string string_;
  std::vector<std::uint8_t> packed_;
  std::vector<std::string> strings_;
};

}  // namespace so8t::gguf
