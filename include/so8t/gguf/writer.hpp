// so8t/gguf/writer.hpp: a streaming GGUF v3 writer whose bytes equal ggml's for the same content.
//
// Use: declare metadata and tensors (name, type, shape) first, then give each tensor's bytes in declaration
// order, whole or in chunks, then finish(). Only the header and one chunk are held in memory. Layout as
// ggml's gguf_write_to_file (docs/ggml-quant-and-gguf.md §6, tests/data/gguf/MANIFEST.md):
// KV pairs in insertion order, tensor infos in declaration order with n_dims = one past the last dimension
// > 1, each offset the running sum of the previous sizes padded to the alignment, zero padding after the
// tensor infos and after every tensor (so the file size is a multiple of the alignment, even with no tensors).
// general.alignment, when present, must be a UINT32 accepted by is_valid_alignment and sets the alignment.
//
// A file destination is written atomically (AtomicFile): until finish() returns, the destination keeps its
// previous content, and a Writer destroyed before finish() leaves no temporary file behind.
// Everything the reader would reject is refused here first, with so8t::InvalidArgument.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gguf/atomic_file.hpp"
#include "so8t/gguf/checked_math.hpp"
#include "so8t/gguf/format.hpp"
#include "so8t/gguf/metadata.hpp"
#include "so8t/gguf/tensor_info.hpp"
#include "so8t/gguf/utf8.hpp"
#include "so8t/gguf/value.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::gguf {

class Writer {
 public:
  /// Writes to `path` through a temporary file in the same directory. Throws IoError.
  explicit Writer(const std::string& path) : file_(std::make_unique<AtomicFile>(path)) {}
  /// Appends the file's bytes to *out instead (tests, fuzzing, in-memory round trips).
  explicit Writer(std::vector<std::uint8_t>* out) : buffer_(out) {
    if (!out) throw InvalidArgument("so8t::gguf::Writer: null output buffer");
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  Writer(Writer&&) = default;
  Writer& operator=(Writer&&) = default;
  /// Without finish(), the temporary file is removed and the destination is untouched.
  ~Writer() = default;

  // ---- declarations (before the first tensor byte)

  /// Appends a KV pair. Keys: 1..65535 bytes of [A-Za-z0-9_.-], unique. Strings: valid UTF-8, at most
  /// limits::max_string_bytes; arrays at most limits::max_array_elements.
  void add_metadata(std::string key, Value value) {
    require_declaring("add_metadata");
    check_key(key);
    check_value(key, value);
    if (key == alignment_key) {
      if (value.type() != ValueType::u32 || !is_valid_alignment(value.as<std::uint32_t>()))
        throw InvalidArgument("so8t::gguf::Writer: general.alignment must be a UINT32 power of two in 8..2^20");
      if (!tensors_.empty())
        throw InvalidArgument("so8t::gguf::Writer: set general.alignment before adding tensors");
      alignment_ = value.as<std::uint32_t>();
    }
    if (metadata_.contains(key)) throw InvalidArgument("so8t::gguf::Writer: duplicate key '" + key + "'");
    metadata_.add(std::move(key), std::move(value));
  }
  template <class T>
  void add(std::string key, T v) {
    add_metadata(std::move(key), Value::of(std::move(v)));
  }

  /// Declares a tensor of 1..4 dimensions (ne[0] fastest). ne[0] must be a multiple of the type's block
  /// size. Returns its index.
  std::size_t add_tensor(std::string name, quant::Type type, const std::vector<std::int64_t>& ne) {
    require_declaring("add_tensor");
    if (name.empty() || name.size() > limits::max_tensor_name_bytes || !is_valid_utf8(name))
      throw InvalidArgument("so8t::gguf::Writer: tensor name '" + name + "' must be 1..63 bytes of UTF-8");
    for (unsigned char c : name)
      if (c < 0x20 || c == 0x7F) throw InvalidArgument("so8t::gguf::Writer: control character in tensor name");
    if (tensor_index_.count(name)) throw InvalidArgument("so8t::gguf::Writer: duplicate tensor '" + name + "'");
    if (!quant::is_known(static_cast<std::uint32_t>(type)))
      throw InvalidArgument("so8t::gguf::Writer: unknown tensor type for '" + name + "'");
    if (ne.empty() || ne.size() > limits::max_dims)
      throw InvalidArgument("so8t::gguf::Writer: tensor '" + name + "' needs 1..4 dimensions");
    TensorInfo t;
    t.name = std::move(name);
    t.type = type;
    for (std::size_t i = 0; i < ne.size(); ++i) t.ne[i] = ne[i];
    std::uint64_t elements = 0;
    if (!checked_element_count(t.ne, &elements) || !checked_tensor_bytes(type, t.ne, &t.nbytes))
      throw InvalidArgument("so8t::gguf::Writer: tensor '" + t.name + "' shape " + t.shape_string() +
                            " is negative, overflows, or ne[0] is not a multiple of the " + quant::type_name(type) +
                            " block size");
    t.n_dims = stored_n_dims(t.ne);
    t.offset = next_offset_;
    std::uint64_t padded = 0;
    if (!checked::align_up(t.nbytes, alignment_, &padded) || !checked::add(next_offset_, padded, &next_offset_))
      throw InvalidArgument("so8t::gguf::Writer: total tensor size overflows");
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
    return tensors_.size() - 1;
  }

  const Metadata& metadata() const noexcept { return metadata_; }
  const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
  std::uint64_t alignment() const noexcept { return alignment_; }

  // ---- data

  /// Appends `n` bytes to the current tensor (the first one not yet complete), writing the header first if
  /// needed. A tensor may arrive in any number of chunks; it is padded when its last byte arrives.
  void write_tensor_data(const void* data, std::size_t n) {
    start_data();
    complete_finished_tensors();  // 0-byte tensors ahead of the data are complete already
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (n > 0) {
      if (current_ >= tensors_.size())
        throw InvalidArgument("so8t::gguf::Writer: more tensor bytes than the declared tensors hold");
      const TensorInfo& t = tensors_[current_];
      const std::uint64_t room = t.nbytes - written_in_current_;
      const std::size_t k = static_cast<std::size_t>(n < room ? n : room);
      emit(p, k);
      p += k;
      n -= k;
      written_in_current_ += k;
      complete_finished_tensors();
    }
  }
  /// Writes the whole of tensor `name`, which must be the next one and exactly its declared size.
  void write_tensor(const std::string& name, const void* data, std::size_t n) {
    start_data();
    complete_finished_tensors();
    // A 0-byte tensor is complete as soon as the one before it is, so it may already lie behind current_.
    auto it = tensor_index_.find(name);
    if (n == 0 && it != tensor_index_.end() && it->second < current_ && tensors_[it->second].nbytes == 0) return;
    if (current_ >= tensors_.size() || tensors_[current_].name != name || written_in_current_ != 0)
      throw InvalidArgument("so8t::gguf::Writer: tensor '" + name + "' is not the next tensor to write");
    if (n != tensors_[current_].nbytes)
      throw InvalidArgument("so8t::gguf::Writer: tensor '" + name + "' needs " +
                            std::to_string(tensors_[current_].nbytes) + " bytes, got " + std::to_string(n));
    write_tensor_data(data, n);
  }

  /// Checks that every tensor is complete, then commits (renames the temporary file into place).
  void finish() {
    start_data();
    complete_finished_tensors();
    if (current_ != tensors_.size())
      throw InvalidArgument("so8t::gguf::Writer: tensor '" + tensors_[current_].name + "' is incomplete (" +
                            std::to_string(written_in_current_) + " of " + std::to_string(tensors_[current_].nbytes) +
                            " bytes)");
    if (file_) file_->commit();
    finished_ = true;
  }
  bool finished() const noexcept { return finished_; }

 private:
  void require_declaring(const char* what) const {
    if (header_written_)
      throw InvalidArgument(std::string("so8t::gguf::Writer: ") + what + " after tensor data was written");
  }
  static void check_key(const std::string& key) {
    if (key.empty() || key.size() > limits::max_key_bytes)
      throw InvalidArgument("so8t::gguf::Writer: key length must be 1..65535");
    for (unsigned char c : key)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
            c == '-'))
        throw InvalidArgument("so8t::gguf::Writer: key '" + key + "' has a character outside [A-Za-z0-9_.-]");
  }
  static void check_string(const std::string& key, const std::string& s) {
    if (s.size() > limits::max_string_bytes || !is_valid_utf8(s))
      throw InvalidArgument("so8t::gguf::Writer: a string of '" + key + "' is too long or not UTF-8");
  }
  static void check_value(const std::string& key, const Value& v) {
    if (v.type() == ValueType::string) check_string(key, v.as_string());
    if (v.is_array()) {
      if (v.size() > limits::max_array_elements)
        throw InvalidArgument("so8t::gguf::Writer: array '" + key + "' has too many elements");
      for (const std::string& s : v.string_elements()) check_string(key, s);
    }
  }

  void emit(const void* p, std::size_t n) {
    if (n == 0) return;
    if (file_) {
      file_->write(p, n);
    } else {
      const auto* b = static_cast<const std::uint8_t*>(p);
      buffer_->insert(buffer_->end(), b, b + n);
    }
    bytes_out_ += n;
  }
  void emit_zeros(std::uint64_t n) {
    static const std::uint8_t zeros[256] = {};
    while (n > 0) {
      const std::size_t k = static_cast<std::size_t>(n < sizeof zeros ? n : sizeof zeros);
      emit(zeros, k);
      n -= k;
    }
  }
  void pad_to_alignment() {
    std::uint64_t target = 0;
    checked::align_up(bytes_out_, alignment_, &target);
    emit_zeros(target - bytes_out_);
  }
  void complete_finished_tensors() {
    while (current_ < tensors_.size() && written_in_current_ == tensors_[current_].nbytes) {
      pad_to_alignment();
      ++current_;
      written_in_current_ = 0;
    }
  }

  // Serialization of the header (§6 items 1-7), little-endian.
  template <class T>
  static void put(std::vector<std::uint8_t>& out, T v) {
    std::uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  static void put_string(std::vector<std::uint8_t>& out, const std::string& s) {
    put<std::uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  static void put_value(std::vector<std::uint8_t>& out, const Value& v) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(v.type()));
    switch (v.type()) {
      case ValueType::string:
        put_string(out, v.as_string());
        return;
      case ValueType::array:
        put<std::uint32_t>(out, static_cast<std::uint32_t>(v.element_type()));
        put<std::uint64_t>(out, v.size());
        if (v.element_type() == ValueType::string) {
          for (const std::string& s : v.string_elements()) put_string(out, s);
        } else {
          out.insert(out.end(), v.packed_elements().begin(), v.packed_elements().end());
        }
        return;
      default: {
        std::uint8_t b[8];
        const std::uint64_t bits = v.bits();
        std::memcpy(b, &bits, 8);
        out.insert(out.end(), b, b + scalar_size(v.type()));
        return;
      }
    }
  }

  void start_data() {
    if (finished_) throw InvalidArgument("so8t::gguf::Writer: already finished");
    if (header_written_) return;
    header_written_ = true;
    std::vector<std::uint8_t> h;
    h.insert(h.end(), magic, magic + 4);
    put<std::uint32_t>(h, version);
    put<std::int64_t>(h, static_cast<std::int64_t>(tensors_.size()));
    put<std::int64_t>(h, static_cast<std::int64_t>(metadata_.size()));
    for (const MetadataEntry& e : metadata_) {
      put_string(h, e.key);
      put_value(h, e.value);
    }
    for (const TensorInfo& t : tensors_) {
      put_string(h, t.name);
      put<std::uint32_t>(h, t.n_dims);
      for (std::uint32_t i = 0; i < t.n_dims; ++i) put<std::int64_t>(h, t.ne[i]);
      put<std::uint32_t>(h, static_cast<std::uint32_t>(t.type));
      put<std::uint64_t>(h, t.offset);
    }
    emit(h.data(), h.size());
    pad_to_alignment();
  }

  std::unique_ptr<AtomicFile> file_;
  std::vector<std::uint8_t>* buffer_ = nullptr;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> tensor_index_;
  std::uint64_t alignment_ = default_alignment;
  std::uint64_t next_offset_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::size_t current_ = 0;
  std::uint64_t written_in_current_ = 0;
  bool header_written_ = false;
  bool finished_ = false;
};

}  // namespace so8t::gguf
