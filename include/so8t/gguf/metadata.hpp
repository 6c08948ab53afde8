// so8t/gguf/metadata.hpp: the ordered list of GGUF key-value pairs.
//
// Order matters: the writer emits pairs in insertion order, which is what makes its bytes equal ggml's for
// the same content (tests/data/gguf/MANIFEST.md). Keys are unique (ggml rejects duplicates, §6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gguf/error.hpp"
#include "so8t/gguf/value.hpp"

namespace so8t::gguf {

struct MetadataEntry {
  std::string key;
  Value value;
  std::uint64_t file_offset = 0;  ///< where the pair starts in the file it was read from (0 if built)
};

class Metadata {
 public:
  /// Appends a pair; throws so8t::InvalidArgument when the key is already present.
  void add(std::string key, Value value, std::uint64_t file_offset = 0) {
    if (index_.count(key)) throw InvalidArgument("so8t::gguf::Metadata: duplicate key '" + key + "'");
    index_.emplace(key, entries_.size());
    entries_.push_back(MetadataEntry{std::move(key), std::move(value), file_offset});
  }
  /// Replaces the value of an existing key, or appends the pair.
  void set(const std::string& key, Value value) {
    auto it = index_.find(key);
    if (it == index_.end()) return add(key, std::move(value));
    entries_[it->second].value = std::move(value);
  }

  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  /// The value of `key`, or nullptr.
  const Value* find(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].value;
  }
  /// The entry of `key`, or nullptr.
  const MetadataEntry* find_entry(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }

  /// The value of a required key as exactly T (std::uint32_t for UINT32, std::string for STRING, ...).
  /// Throws FormatError(missing_key) or FormatError(wrong_type, offset of the pair): llama.cpp refuses a
  /// key of the wrong type (spec §7), and so do we.
  template <class T>
  T get(const std::string& key) const {
    const MetadataEntry* e = find_entry(key);
    if (!e) throw FormatError(Reason::missing_key, 0, "required key '" + key + "' is absent");
    if (e->value.type() != value_type_of<T>::value)
      throw FormatError(Reason::wrong_type, e->file_offset,
                        "key '" + key + "' is " + value_type_name(e->value.type()) + ", expected " +
                            value_type_name(value_type_of<T>::value));
    return e->value.as<T>();
  }

  const std::vector<MetadataEntry>& entries() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  auto begin() const noexcept { return entries_.begin(); }
  auto end() const noexcept { return entries_.end(); }

 private:
  std::vector<MetadataEntry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace so8t::gguf
