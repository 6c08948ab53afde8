// so8t/gguf/error.hpp: the exceptions the GGUF reader and writer throw.
//
// A malformed file raises FormatError, which says which rule was broken (Reason) and at which byte of the
// file the offending field starts, so a bad file can be diagnosed with a hex dump. The rules are those of
// docs/ggml-quant-and-gguf.md §6 and the attack list in calibration-pet-pipeline.md §5.4.
// Operating-system failures (open, mmap, write, rename) raise IoError. Both are std::runtime_errors.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace so8t::gguf {

/// Why a file was rejected: one value per rule the reader enforces.
enum class Reason : int {
  truncated,              ///< a field or a string/array runs past the end of the file
  bad_magic,              ///< the first 4 bytes are not "GGUF"
  bad_version,            ///< version not 2 or 3 (0, 1, future, or byte-swapped)
  bad_count,              ///< n_tensors / n_kv negative or more than the remaining bytes can hold
  bad_key,                ///< key empty, longer than 65535 bytes, or with characters outside [A-Za-z0-9_.-]
  duplicate_key,          ///< the same key twice
  bad_value_type,         ///< value type (or array element type) outside 0..12
  nested_array,           ///< an array of arrays
  string_too_long,        ///< a string longer than limits::max_string_bytes
  array_too_long,         ///< an array with more than limits::max_array_elements elements
  bad_bool,               ///< a bool byte other than 0 or 1
  bad_utf8,               ///< a string value or tensor name that is not valid UTF-8
  bad_alignment,          ///< general.alignment not a UINT32 power of two, multiple of 8, <= 1 MiB
  bad_tensor_name,        ///< tensor name empty, >= 64 bytes, or with control characters
  duplicate_tensor_name,  ///< the same tensor name twice
  bad_n_dims,             ///< n_dims 0 or > 4
  bad_dimension,          ///< a negative ne[i]
  size_overflow,          ///< element count, byte size or a padded offset does not fit in 63 bits
  bad_tensor_type,        ///< a ggml type id so8t does not know (so8t::quant::is_known)
  bad_block_multiple,     ///< ne[0] not a multiple of the type's block size
  misaligned_offset,      ///< a tensor offset that is not a multiple of the alignment
  bad_offset,             ///< a tensor offset that is not the running sum of the padded sizes before it
  data_out_of_bounds,     ///< the data section or a tensor's bytes lie (partly) past the end of the file
  nonfinite_scale,        ///< a block scale (fp16 d/dmin) is NaN or Inf (only with ReadOptions::check_scales)
  missing_key,            ///< Metadata::get: the key is absent
  wrong_type,             ///< Metadata::get: the key has another value type
};

inline const char* to_string(Reason r) {
  switch (r) {
    case Reason::truncated: return "truncated";
    case Reason::bad_magic: return "bad magic";
    case Reason::bad_version: return "bad version";
    case Reason::bad_count: return "bad count";
    case Reason::bad_key: return "bad key";
    case Reason::duplicate_key: return "duplicate key";
    case Reason::bad_value_type: return "bad value type";
    case Reason::nested_array: return "nested array";
    case Reason::string_too_long: return "string too long";
    case Reason::array_too_long: return "array too long";
    case Reason::bad_bool: return "bad bool";
    case Reason::bad_utf8: return "invalid UTF-8";
    case Reason::bad_alignment: return "bad alignment";
    case Reason::bad_tensor_name: return "bad tensor name";
    case Reason::duplicate_tensor_name: return "duplicate tensor name";
    case Reason::bad_n_dims: return "bad n_dims";
    case Reason::bad_dimension: return "bad dimension";
    case Reason::size_overflow: return "size overflow";
    case Reason::bad_tensor_type: return "bad tensor type";
    case Reason::bad_block_multiple: return "ne[0] not a multiple of the block size";
    case Reason::misaligned_offset: return "misaligned tensor offset";
    case Reason::bad_offset: return "unexpected tensor offset";
    case Reason::data_out_of_bounds: return "data out of bounds";
    case Reason::nonfinite_scale: return "non-finite block scale";
    case Reason::missing_key: return "missing key";
    case Reason::wrong_type: return "wrong value type";
  }
  return "unknown reason";
}

/// A GGUF file broke a rule. offset() is the byte position in the file of the offending field.
class FormatError : public std::runtime_error {
 public:
  FormatError(Reason reason, std::uint64_t offset, const std::string& detail)
      : std::runtime_error("gguf: " + std::string(to_string(reason)) + " at byte " + std::to_string(offset) +
                           ": " + detail),
        reason_(reason),
        offset_(offset) {}
  Reason reason() const noexcept { return reason_; }
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  Reason reason_;
  std::uint64_t offset_;
};

/// The operating system refused an open, stat, mmap, write, fsync or rename; errno_value() is errno.
class IoError : public std::runtime_error {
 public:
  IoError(const std::string& what, int errno_value) : std::runtime_error(what), errno_(errno_value) {}
  int errno_value() const noexcept { return errno_; }

 private:
  int errno_;
};

}  // namespace so8t::gguf
