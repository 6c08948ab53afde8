// so8t/gguf/reader.hpp: a strict, memory-mapped GGUF v2/v3 reader with zero-copy tensor views.
//
// Opening a file parses and validates all of it before returning (rules: docs/ggml-quant-and-
// gguf.md §6 and every item of the attack list, calibration-pet-pipeline.md §5.4 "Header", "KV section",
// "Tensor infos"); a file that breaks a rule raises FormatError with the byte offset of the offending field.
// On any input the parser reads only inside the buffer, allocates at most a small multiple of the file size
// (each count is compared with the remaining bytes before anything is reserved), and never aborts.
//
// Decisions the attack list leaves open, and what so8t does:
//  - version 2 is read (same little-endian layout as 3); 0, 1, > 3 and byte-swapped versions are rejected;
//  - keys use [A-Za-z0-9_.-] (the spec's lower_snake_case plus '-' and upper case, which real
//    architecture names like "command-r" need); string values must be UTF-8 (ReadOptions::require_utf8);
//  - a bool byte other than 0 or 1 is rejected, not normalized;
//  - n_dims = 0 is rejected (ggml never writes it); ne = 0 is accepted (an empty tensor);
//  - only the tensor types so8t::quant knows are accepted (quant::is_known);
//  - offsets must be exactly ggml's running offsets (contiguous, in order, each padded to the alignment);
//  - bytes after the last tensor are allowed; the padding after the last tensor is not required.
// Model-level checks (required keys, shapes against hyperparameters) belong to the model loader; use
// Metadata::get<T> there to get typed missing_key / wrong_type errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "so8t/gguf/block_scales.hpp"
#include "so8t/gguf/byte_cursor.hpp"
#include "so8t/gguf/checked_math.hpp"
#include "so8t/gguf/error.hpp"
#include "so8t/gguf/format.hpp"
#include "so8t/gguf/mapped_file.hpp"
#include "so8t/gguf/metadata.hpp"
#include "so8t/gguf/tensor_info.hpp"
#include "so8t/gguf/utf8.hpp"
#include "so8t/gguf/value.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::gguf {

struct ReadOptions {
  /// Reject string values that are not valid UTF-8 (keys and tensor names are always checked).
  bool require_utf8 = true;
  /// Also scan every quantized block for a NaN/Inf scale (touches the data: time grows with the file).
  bool check_scales = false;
};

/// A tensor's bytes inside the mapped file (valid while the Reader lives).
struct TensorView {
  const TensorInfo* info = nullptr;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

class Reader {
 public:
  /// Maps and validates the file at `path`. Throws IoError or FormatError.
  static Reader open(const std::string& path, ReadOptions options = {}) {
    Reader r;
    r.file_ = MappedFile(path);
    r.data_ = r.file_.data();
    r.size_ = r.file_.size();
    r.parse(options);
    return r;
  }
  /// Validates `size` bytes at `data` without copying them; the caller keeps the buffer alive.
  static Reader from_memory(const void* data, std::size_t size, ReadOptions options = {}) {
    Reader r;
    r.data_ = size ? static_cast<const std::uint8_t*>(data) : reinterpret_cast<const std::uint8_t*>("");
    r.size_ = size;
    r.parse(options);
    return r;
  }

  std::uint32_t version() const noexcept { return version_; }
  std::uint64_t alignment() const noexcept { return alignment_; }
  /// File position of the data section (the end of the tensor infos rounded up to the alignment).
  std::uint64_t data_offset() const noexcept { return data_offset_; }
  std::size_t file_size() const noexcept { return size_; }
  const std::uint8_t* file_data() const noexcept { return data_; }

  const Metadata& metadata() const noexcept { return metadata_; }
  const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }

  /// The tensor called `name`, or nullptr.
  const TensorInfo* find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
  }
  /// Zero-copy view of tensor i (0 <= i < tensors().size(); throws std::out_of_range otherwise).
  TensorView tensor(std::size_t i) const {
    const TensorInfo& t = tensors_.at(i);
    return TensorView{&t, data_ + data_offset_ + t.offset, static_cast<std::size_t>(t.nbytes)};
  }
  /// Zero-copy view of the tensor called `name`; throws std::out_of_range when there is none.
  TensorView tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    if (it == tensor_index_.end()) throw std::out_of_range("so8t::gguf::Reader: no tensor '" + name + "'");
    return tensor(it->second);
  }

 private:
  Reader() = default;

  static bool is_key_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  }
  static bool has_control_char(std::string_view s) {
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7F) return true;
    return false;
  }

  /// A u64 length or count, refused (with `reason`, at its own offset) above `limit`.
  static std::uint64_t read_bounded_count(ByteCursor& c, const char* what, std::uint64_t limit, Reason reason,
                                          const char* thing, const char* unit) {
    const std::uint64_t at = c.position();
    const std::uint64_t n = c.read<std::uint64_t>(what);
    if (n > limit)
      throw FormatError(reason, at,
                        std::string(thing) + " of " + std::to_string(n) + " " + unit + " exceeds the limit of " +
                            std::to_string(limit));
    return n;
  }

  std::string read_string_value(ByteCursor& c, const ReadOptions& options) {
    const std::uint64_t at = c.position();
    const std::uint64_t len =
        read_bounded_count(c, "string length", limits::max_string_bytes, Reason::string_too_long, "string", "bytes");
    const std::string_view bytes = c.read_bytes(len, "string bytes");
    if (options.require_utf8 && !is_valid_utf8(bytes))
      throw FormatError(Reason::bad_utf8, at, "string value is not valid UTF-8");
    return std::string(bytes);
  }

  std::uint64_t read_scalar_bits(ByteCursor& c, ValueType t) {
    const std::uint64_t at = c.position();
    std::uint64_t bits = 0;
    switch (scalar_size(t)) {
      case 1: bits = c.read<std::uint8_t>("value"); break;
      case 2: bits = c.read<std::uint16_t>("value"); break;
      case 4: bits = c.read<std::uint32_t>("value"); break;
      default: bits = c.read<std::uint64_t>("value"); break;
    }
    if (t == ValueType::boolean && bits > 1)
      throw FormatError(Reason::bad_bool, at, "bool byte is " + std::to_string(bits) + ", not 0 or 1");
    return bits;
  }

  Value read_value(ByteCursor& c, ValueType t, const ReadOptions& options) {
    if (t == ValueType::string) return Value::string(read_string_value(c, options));
    if (t != ValueType::array) return Value::packed_scalar(t, read_scalar_bits(c, t));

    const std::uint64_t elem_at = c.position();
    const std::uint32_t elem_id = c.read<std::uint32_t>("array element type");
    if (elem_id == static_cast<std::uint32_t>(ValueType::array))
      throw FormatError(Reason::nested_array, elem_at, "arrays of arrays are not allowed");
    if (!is_valid_value_type(elem_id))
      throw FormatError(Reason::bad_value_type, elem_at, "array element type " + std::to_string(elem_id));
    const auto elem = static_cast<ValueType>(elem_id);
    const std::uint64_t count =
        read_bounded_count(c, "array count", limits::max_array_elements, Reason::array_too_long, "array", "elements");
    if (elem == ValueType::string) {
      c.require(count * 8, "array of strings (8 bytes per length at least)");  // count <= 2^26: no overflow
      std::vector<std::string> strings;
      strings.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) strings.push_back(read_string_value(c, options));
      return Value::array(strings);
    }
    const std::uint64_t size = scalar_size(elem);
    const std::uint64_t nbytes = count * size;  // count <= 2^26, size <= 8: no overflow
    c.require(nbytes, "array elements");
    const std::uint8_t* p = c.here();
    if (elem == ValueType::boolean)
      for (std::uint64_t i = 0; i < count; ++i)
        if (p[i] > 1)
          throw FormatError(Reason::bad_bool, c.position() + i,
                            "bool array element is " + std::to_string(p[i]) + ", not 0 or 1");
    std::vector<std::uint8_t> bytes(p, p + nbytes);
    c.read_bytes(nbytes, "array elements");
    return Value::packed_array(elem, count, std::move(bytes));
  }

  void parse(const ReadOptions& options) {
    ByteCursor c(data_, size_);

    // ---- header (§6 items 1-4)
    const std::string_view m = c.read_bytes(4, "magic");
    if (m != std::string_view(magic, 4)) throw FormatError(Reason::bad_magic, 0, "file does not start with GGUF");
    version_ = c.read<std::uint32_t>("version");
    if (version_ == 0 || (version_ & 0xFFFFu) == 0)
      throw FormatError(Reason::bad_version, 4,
                        "version " + std::to_string(version_) + " (0, or a big-endian / byte-swapped file)");
    if (version_ == 1) throw FormatError(Reason::bad_version, 4, "GGUF version 1 is not supported");
    if (version_ > 3) throw FormatError(Reason::bad_version, 4, "version " + std::to_string(version_) + " is newer than 3");
    const auto n_tensors = c.read<std::int64_t>("tensor count");
    if (n_tensors < 0) throw FormatError(Reason::bad_count, 8, "negative tensor count " + std::to_string(n_tensors));
    const auto n_kv = c.read<std::int64_t>("key-value count");
    if (n_kv < 0) throw FormatError(Reason::bad_count, 16, "negative key-value count " + std::to_string(n_kv));
    // Counts against the bytes that remain, before anything is reserved (CVE class: allocation overflow).
    const std::uint64_t rest = c.remaining();
    const auto nt = static_cast<std::uint64_t>(n_tensors), nkv = static_cast<std::uint64_t>(n_kv);
    if (nt > rest / limits::min_tensor_info_bytes)
      throw FormatError(Reason::bad_count, 8,
                        std::to_string(nt) + " tensor infos cannot fit in the " + std::to_string(rest) +
                            " bytes after the header");
    if (nkv > rest / limits::min_kv_bytes || nkv * limits::min_kv_bytes > rest - nt * limits::min_tensor_info_bytes)
      throw FormatError(Reason::bad_count, 16,
                        std::to_string(nkv) + " key-value pairs cannot fit in the " + std::to_string(rest) +
                            " bytes after the header");

    // ---- key-value pairs (§6 item 5)
    for (std::uint64_t i = 0; i < nkv; ++i) {
      const std::uint64_t kv_at = c.position();
      const std::uint64_t key_len = c.read<std::uint64_t>("key length");
      if (key_len == 0 || key_len > limits::max_key_bytes)
        throw FormatError(Reason::bad_key, kv_at, "key length " + std::to_string(key_len) + " is not in 1..65535");
      const std::string_view key = c.read_bytes(key_len, "key");
      for (unsigned char ch : key)
        if (!is_key_char(ch)) throw FormatError(Reason::bad_key, kv_at, "key has a character outside [A-Za-z0-9_.-]");
      std::string key_str(key);
      if (metadata_.contains(key_str)) throw FormatError(Reason::duplicate_key, kv_at, "key '" + key_str + "' repeats");
      const std::uint64_t type_at = c.position();
      const std::uint32_t type_id = c.read<std::uint32_t>("value type");
      if (!is_valid_value_type(type_id))
        throw FormatError(Reason::bad_value_type, type_at, "value type " + std::to_string(type_id) + " for '" + key_str + "'");
      Value v = read_value(c, static_cast<ValueType>(type_id), options);
      metadata_.add(std::move(key_str), std::move(v), kv_at);
    }

    // ---- general.alignment: UINT32, power of two, multiple of 8, <= 1 MiB (§6; attack list)
    alignment_ = default_alignment;
    if (const MetadataEntry* e = metadata_.find_entry(alignment_key)) {
      if (e->value.type() != ValueType::u32)
        throw FormatError(Reason::bad_alignment, e->file_offset,
                          std::string("general.alignment is ") + value_type_name(e->value.type()) + ", not UINT32");
      const std::uint32_t a = e->value.as<std::uint32_t>();
      if (!is_valid_alignment(a))
        throw FormatError(Reason::bad_alignment, e->file_offset,
                          "general.alignment " + std::to_string(a) +
                              " is not a power of two, a multiple of 8 and at most 1 MiB");
      alignment_ = a;
    }

    // ---- tensor infos (§6 item 6)
    tensors_.reserve(static_cast<std::size_t>(nt));
    std::uint64_t expected_offset = 0;
    for (std::uint64_t i = 0; i < nt; ++i) {
      TensorInfo t;
      t.info_offset = c.position();
      const std::uint64_t name_len = c.read<std::uint64_t>("tensor name length");
      if (name_len == 0 || name_len > limits::max_tensor_name_bytes)
        throw FormatError(Reason::bad_tensor_name, t.info_offset,
                          "tensor name length " + std::to_string(name_len) + " is not in 1..63");
      const std::string_view name = c.read_bytes(name_len, "tensor name");
      if (!is_valid_utf8(name) || has_control_char(name))
        throw FormatError(Reason::bad_tensor_name, t.info_offset, "tensor name is not printable UTF-8");
      t.name = std::string(name);
      if (tensor_index_.count(t.name))
        throw FormatError(Reason::duplicate_tensor_name, t.info_offset, "tensor '" + t.name + "' repeats");

      const std::uint64_t dims_at = c.position();
      t.n_dims = c.read<std::uint32_t>("n_dims");
      if (t.n_dims == 0 || t.n_dims > limits::max_dims)  // checked before anything is stored in ne[4]
        throw FormatError(Reason::bad_n_dims, dims_at,
                          "tensor '" + t.name + "' has n_dims " + std::to_string(t.n_dims) + ", not 1..4");
      for (std::uint32_t d = 0; d < t.n_dims; ++d) {
        const std::uint64_t ne_at = c.position();
        t.ne[d] = c.read<std::int64_t>("ne");
        if (t.ne[d] < 0)
          throw FormatError(Reason::bad_dimension, ne_at,
                            "tensor '" + t.name + "' has ne[" + std::to_string(d) + "] = " + std::to_string(t.ne[d]));
      }
      std::uint64_t elements = 0;
      if (!checked_element_count(t.ne, &elements))
        throw FormatError(Reason::size_overflow, dims_at + 4,
                          "tensor '" + t.name + "' element count " + t.shape_string() + " overflows int64");

      const std::uint64_t type_at = c.position();
      const std::uint32_t type_id = c.read<std::uint32_t>("tensor type");
      if (!quant::is_known(type_id))
        throw FormatError(Reason::bad_tensor_type, type_at,
                          "tensor '" + t.name + "' has ggml type " + std::to_string(static_cast<std::int32_t>(type_id)) +
                              ", which so8t does not support");
      t.type = static_cast<quant::Type>(type_id);
      if (t.ne[0] % quant::block_size(t.type) != 0)
        throw FormatError(Reason::bad_block_multiple, dims_at + 4,
                          "tensor '" + t.name + "' ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of " +
                              std::to_string(quant::block_size(t.type)) + " (" + quant::type_name(t.type) + ")");
      if (!checked_tensor_bytes(t.type, t.ne, &t.nbytes))
        throw FormatError(Reason::size_overflow, dims_at + 4,
                          "tensor '" + t.name + "' byte size overflows int64");

      const std::uint64_t offset_at = c.position();
      t.offset = c.read<std::uint64_t>("tensor offset");
      if (t.offset % alignment_ != 0)
        throw FormatError(Reason::misaligned_offset, offset_at,
                          "tensor '" + t.name + "' offset " + std::to_string(t.offset) + " is not a multiple of " +
                              std::to_string(alignment_));
      if (t.offset != expected_offset)
        throw FormatError(Reason::bad_offset, offset_at,
                          "tensor '" + t.name + "' has offset " + std::to_string(t.offset) + ", expected " +
                              std::to_string(expected_offset));
      std::uint64_t padded = 0;
      if (!checked::align_up(t.nbytes, alignment_, &padded) || !checked::add(expected_offset, padded, &expected_offset))
        throw FormatError(Reason::size_overflow, offset_at, "running tensor offset overflows");
      tensor_index_.emplace(t.name, tensors_.size());
      tensors_.push_back(std::move(t));
    }

    // ---- data section (§6 items 7-8): every tensor lies inside the file (CVE-2026-7482 "Bleeding Llama")
    const std::uint64_t infos_end = c.position();
    checked::align_up(infos_end, alignment_, &data_offset_);  // infos_end <= size_ < 2^63: cannot overflow
    if (nt == 0) return;
    if (data_offset_ > size_)
      throw FormatError(Reason::data_out_of_bounds, infos_end,
                        "data section would start at " + std::to_string(data_offset_) + ", past the end of the " +
                            std::to_string(size_) + "-byte file");
    const std::uint64_t available = size_ - data_offset_;
    for (const TensorInfo& t : tensors_) {
      if (t.offset > available || t.nbytes > available - t.offset)
        throw FormatError(Reason::data_out_of_bounds, t.offset > available ? size_ : data_offset_ + t.offset,
                          "tensor '" + t.name + "' needs bytes " + std::to_string(t.offset) + ".." +
                              std::to_string(t.offset) + "+" + std::to_string(t.nbytes) + " of a " +
                              std::to_string(available) + "-byte data section");
    }
    if (options.check_scales) {
      for (const TensorInfo& t : tensors_) {
        const std::int64_t bad = first_nonfinite_scale(t.type, data_ + data_offset_ + t.offset, t.nbytes);
        if (bad >= 0)
          throw FormatError(Reason::nonfinite_scale,
                            data_offset_ + t.offset + static_cast<std::uint64_t>(bad) * quant::type_size(t.type),
                            "tensor '" + t.name + "' block " + std::to_string(bad) + " has a NaN or Inf scale");
      }
    }
  }

  MappedFile file_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = default_alignment;
  std::uint64_t data_offset_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> tensor_index_;
};

}  // namespace so8t::gguf
