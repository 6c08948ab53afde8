// tests/gguf/reference_content.hpp: the content of tests/data/gguf/gguf-structure-align*.gguf as
// MANIFEST.md describes it, fed to so8t::gguf::Writer.
//
// Float tensors come from the manifest's formula v(i); the quantized tensors' bytes are sliced out of the
// reference file at the data offsets the manifest lists (so8t's quantizers are tested elsewhere).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gguf_bytes.hpp"
#include "so8t/gguf/writer.hpp"
#include "so8t/base/half.hpp"

namespace so8t_test {

inline std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string reference_dir() { return std::string(SO8T_TEST_DATA_DIR) + "/gguf/"; }

struct ReferenceTensor {
  std::string name;
  so8t::quant::Type type;
  std::vector<std::int64_t> ne;
  std::vector<std::uint8_t> bytes;
};

/// The KV pairs of the structure files, in order (MANIFEST.md table), without general.alignment.
inline void add_reference_metadata(so8t::gguf::Writer& w) {
  using so8t::gguf::Value;
  w.add("general.architecture", std::string("llama"));
  w.add("test.u8", std::uint8_t{200});
  w.add("test.i8", std::int8_t{-100});
  w.add("test.u16", std::uint16_t{60000});
  w.add("test.i16", std::int16_t{-30000});
  w.add("test.u32", std::uint32_t{4000000000u});
  w.add("test.i32", std::int32_t{-2000000000});
  w.add("test.f32", 3.14159274f);
  w.add("test.bool", true);
  w.add("test.string", std::string("h\xC3\xA9llo \xE2\x96\x81w\xC3\xB6rld"));
  w.add("test.u64", std::uint64_t{9223372036854775813ull});
  w.add("test.i64", std::int64_t{-4611686018427387904ll});
  w.add("test.f64", 2.718281828459045);
  w.add_metadata("test.arr_u32", Value::array(std::vector<std::uint32_t>{1, 2, 3}));
  w.add_metadata("test.arr_str", Value::array(std::vector<std::string>{"a", "", "ccc"}));
  w.add_metadata("test.arr_f32", Value::array(std::vector<float>{0.5f, -1.0f}));
  w.add_metadata("test.arr_bool", Value::array(std::vector<bool>{true, false, true}));
  w.add_metadata("test.empty_arr_i32", Value::array(std::vector<std::int32_t>{}));
}

template <class F>
std::vector<std::uint8_t> f32_bytes(std::int64_t first, std::int64_t n, F convert) {
  std::vector<std::uint8_t> out;
  for (std::int64_t i = first; i < first + n; ++i) {
    const auto v = convert(reference_value(i));
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(v));
  }
  return out;
}

/// The five tensors; `data_offset` and `q8_offset` / `q4k_offset` locate the quantized bytes in `file`.
inline std::vector<ReferenceTensor> reference_tensors(const std::vector<std::uint8_t>& file, std::size_t data_offset,
                                                      std::size_t q8_offset, std::size_t q4k_offset) {
  using so8t::quant::Type;
  auto same = [](float x) { return x; };
  auto half = [](float x) { return so8t::fp32_to_fp16_bits(x); };
  const auto q8 = file.begin() + static_cast<std::ptrdiff_t>(data_offset + q8_offset);
  const auto q4k = file.begin() + static_cast<std::ptrdiff_t>(data_offset + q4k_offset);
  return {
      {"t.f32", Type::f32, {7}, f32_bytes(0, 7, same)},
      {"t.q8_0", Type::q8_0, {64, 2}, std::vector<std::uint8_t>(q8, q8 + 2 * 2 * 34)},
      {"t.q4_k", Type::q4_k, {256, 2}, std::vector<std::uint8_t>(q4k, q4k + 2 * 144)},
      {"t.f16_3d", Type::f16, {4, 3, 2}, f32_bytes(0, 24, half)},
      {"t.f32_trailing1", Type::f32, {3, 1}, f32_bytes(100, 3, same)},
  };
}

}  // namespace so8t_test
