// so8t/llm/convert/safetensors.hpp: a safetensors file opened read-only and checked as carefully as a GGUF
// (namespace so8t::llm).
//
// Layout (docs/hf-checkpoints.md "safetensors"): an 8-byte little-endian header length N, N bytes of UTF-8
// JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}},
// then the data section; offsets are relative to its start. Every entry is checked before any tensor is
// used: the header fits the file and is a JSON object, dtypes are known, shapes are non-negative and their
// byte size is exactly end - begin (no overflow), [begin, end) lies inside the data section, and no two
// tensors overlap. A failure is a SafetensorsError naming the file, the tensor and the value.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "so8t/gguf/mapped_file.hpp"

namespace so8t::llm {

/// A malformed or lying safetensors file (the container, not the model: see HfCheckpointError).
class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The element types of a checkpoint so8t converts (safetensors spells them "F32", "F16", "BF16").
enum class StDtype { f32, f16, bf16 };

inline const char* st_dtype_name(StDtype t) { return t == StDtype::f32 ? "F32" : t == StDtype::f16 ? "F16" : "BF16"; }
inline std::size_t st_dtype_size(StDtype t) { return t == StDtype::f32 ? 4 : 2; }

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::f32;
  std::vector<std::int64_t> shape;  ///< row-major, outermost first (PyTorch order)
  const std::uint8_t* data = nullptr;
  std::size_t bytes = 0;

  std::int64_t elements() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
  std::string shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

class SafetensorsFile {
 public:
  /// Maps and checks `path` (gguf::IoError when unreadable, SafetensorsError when malformed).
  static SafetensorsFile open(const std::string& path) {
    SafetensorsFile f;
    f.path_ = path;
    f.map_ = gguf::MappedFile(path);
    f.parse();
    return f;
  }

  const std::string& path() const noexcept { return path_; }
  const std::vector<StTensor>& tensors() const noexcept { return tensors_; }
  const StTensor* find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }

 private:
  static constexpr std::uint64_t kMaxHeader = std::uint64_t(100) << 20;  // the format's own 100 MB limit

  [[noreturn]] void fail(const std::string& what) const {
    throw SafetensorsError("so8t::llm: safetensors file '" + path_ + "': " + what);
  }

  static bool parse_dtype(const std::string& s, StDtype& t) {
    if (s == "F32") t = StDtype::f32;
    else if (s == "F16") t = StDtype::f16;
    else if (s == "BF16") t = StDtype::bf16;
    else return false;
    return true;
  }

  void parse() {
    const std::size_t size = map_.size();
    if (size < 8) fail("is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | map_.data()[i];
    if (n > kMaxHeader) fail("header length " + std::to_string(n) + " is above the 100 MiB limit");
    if (n > size - 8) fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) + " bytes)");
    const char* h = reinterpret_cast<const char*>(map_.data() + 8);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(h, h + n);
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("header is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) fail("header is not a JSON object");
    const std::uint8_t* data = map_.data() + 8 + n;
    const std::uint64_t data_size = size - 8 - n;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& name = it.key();
      if (name == "__metadata__") {
        if (!it->is_object()) fail("__metadata__ is not an object");
        continue;
      }
      const nlohmann::json& e = *it;
      const std::string where = "tensor '" + name + "'";
      if (!e.is_object()) fail(where + " is not an object");
      if (!e.contains("dtype") || !e["dtype"].is_string()) fail(where + " has no dtype string");
      StTensor t;
      t.name = name;
      const std::string dtype = e["dtype"].get<std::string>();
      if (!parse_dtype(dtype, t.dtype)) fail(where + " has dtype " + dtype + " (so8t converts F32, F16 and BF16)");
      if (!e.contains("shape") || !e["shape"].is_array()) fail(where + " has no shape array");
      if (e["shape"].size() > 8) fail(where + " has " + std::to_string(e["shape"].size()) + " dimensions");
      std::uint64_t elements = 1;
      for (const nlohmann::json& d : e["shape"]) {
        if (!d.is_number_unsigned()) fail(where + " has shape entry " + d.dump() + ", expected a non-negative integer");
        const std::uint64_t v = d.get<std::uint64_t>();
        if (v > (std::uint64_t(1) << 40) || (v != 0 && elements > (std::uint64_t(1) << 50) / v))
          fail(where + " has shape " + e["shape"].dump() + ", whose element count overflows");
        elements *= v;
        t.shape.push_back(static_cast<std::int64_t>(v));
      }
      if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2 ||
          !e["data_offsets"][0].is_number_unsigned() || !e["data_offsets"][1].is_number_unsigned())
        fail(where + " has no [begin, end] data_offsets of non-negative integers");
      const std::uint64_t b = e["data_offsets"][0].get<std::uint64_t>(), en = e["data_offsets"][1].get<std::uint64_t>();
      if (b > en) fail(where + " has data_offsets [" + std::to_string(b) + ", " + std::to_string(en) + "]: begin after end");
      if (en > data_size)
        fail(where + " has data_offsets [" + std::to_string(b) + ", " + std::to_string(en) + "] beyond the data section of " +
             std::to_string(data_size) + " bytes");
      const std::uint64_t want = elements * st_dtype_size(t.dtype);
      if (en - b != want)
        fail(where + " holds " + std::to_string(en - b) + " bytes, but " + dtype + " " + e["shape"].dump() + " needs " +
             std::to_string(want));
      t.data = data + b;
      t.bytes = static_cast<std::size_t>(want);
      spans.emplace_back(b, en);
      index_[name] = tensors_.size();
      tensors_.push_back(std::move(t));
    }
    // Overlaps: sort the spans and compare neighbours (empty tensors overlap nothing).
    std::vector<std::size_t> order(spans.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return spans[a] < spans[b]; });
    std::uint64_t end = 0;
    std::size_t last = SIZE_MAX;
    for (std::size_t i : order) {
      if (spans[i].first == spans[i].second) continue;
      if (last != SIZE_MAX && spans[i].first < end)
        fail("tensor '" + tensors_[i].name + "' [" + std::to_string(spans[i].first) + ", " + std::to_string(spans[i].second) +
             ") overlaps tensor '" + tensors_[last].name + "' (ends at " + std::to_string(end) + ")");
      end = spans[i].second;
      last = i;
    }
  }

  std::string path_;
  gguf::MappedFile map_;
  std::vector<StTensor> tensors_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace so8t::llm
