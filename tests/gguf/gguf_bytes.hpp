// tests/gguf/gguf_bytes.hpp: a tiny little-endian byte builder for handcrafting GGUF files in tests.
//
// Deliberately independent of so8t::gguf::Writer: the bad files and the expected offsets come from the
// layout in docs/ggml-quant-and-gguf.md §6, not from the code under test.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace so8t_test {

struct GgufBytes {
  std::vector<std::uint8_t> b;

  std::uint64_t pos() const { return b.size(); }
  template <class T>
  GgufBytes& put(T v) {
    std::uint8_t x[sizeof(T)];
    std::memcpy(x, &v, sizeof(T));
    b.insert(b.end(), x, x + sizeof(T));
    return *this;
  }
  GgufBytes& u8(std::uint8_t v) { return put(v); }
  GgufBytes& u32(std::uint32_t v) { return put(v); }
  GgufBytes& i64(std::int64_t v) { return put(v); }
  GgufBytes& u64(std::uint64_t v) { return put(v); }
  GgufBytes& raw(const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  /// GGUF string: u64 length + bytes.
  GgufBytes& str(const std::string& s) { return u64(s.size()).raw(s); }
  GgufBytes& zeros(std::size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  GgufBytes& pad_to(std::uint64_t alignment) {
    while (b.size() % alignment) b.push_back(0);
    return *this;
  }
  /// "GGUF", version, n_tensors, n_kv.
  GgufBytes& header(std::int64_t n_tensors, std::int64_t n_kv, std::uint32_t version = 3) {
    return raw("GGUF").u32(version).i64(n_tensors).i64(n_kv);
  }
  /// A KV pair with a u32 value.
  GgufBytes& kv_u32(const std::string& key, std::uint32_t v) { return str(key).u32(4).u32(v); }
  /// A tensor info.
  GgufBytes& tensor_info(const std::string& name, const std::vector<std::int64_t>& ne, std::uint32_t type,
                         std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(ne.size()));
    for (std::int64_t d : ne) i64(d);
    return u32(type).u64(offset);
  }
};

/// The element values of the reference files (MANIFEST.md): v(i) = (((i*37) mod 101) - 50) / 16.
inline float reference_value(std::int64_t i) { return static_cast<float>(((i * 37) % 101) - 50) / 16.0f; }

}  // namespace so8t_test
