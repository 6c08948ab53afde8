// so8t/gguf/byte_cursor.hpp: a bounds-checked little-endian reader over a byte range.
//
// Every read first compares its size with the bytes that remain (attack list, calibration-pet-pipeline.md
// §5.4 "every read is bounds-checked"); nothing is read, allocated or skipped before that check passes.
// A failed check throws FormatError(truncated) at the position of the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "so8t/gguf/error.hpp"

namespace so8t::gguf {

class ByteCursor {
 public:
  ByteCursor(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint64_t position() const noexcept { return pos_; }
  std::uint64_t remaining() const noexcept { return size_ - pos_; }
  std::uint64_t size() const noexcept { return size_; }

  /// Throws truncated unless `n` more bytes exist; `what` names the field.
  void require(std::uint64_t n, const char* what) const {
    if (n > remaining())
      throw FormatError(Reason::truncated, pos_,
                        std::string(what) + " needs " + std::to_string(n) + " bytes, " +
                            std::to_string(remaining()) + " remain");
  }

  template <class T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>, "plain little-endian fields only");
    require(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  /// `n` bytes as a view into the buffer (no copy).
  std::string_view read_bytes(std::uint64_t n, const char* what) {
    require(n, what);
    std::string_view v(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(n));
    pos_ += n;
    return v;
  }

  const std::uint8_t* here() const noexcept { return data_ + pos_; }

 private:
  const std::uint8_t* data_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
};

}  // namespace so8t::gguf
