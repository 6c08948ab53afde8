// Loading the shared ggml test vectors (tests/data/ggml, see its MANIFEST.md).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "so8t/quant/type.hpp"

namespace so8t_test {

inline std::string ggml_vector_path(const std::string& file) { return std::string(SO8T_TEST_DATA_DIR) + "/ggml/" + file; }

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open test vector " + path);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::vector<float> read_floats(const std::string& path) {
  const auto b = read_bytes(path);
  std::vector<float> f(b.size() / 4);
  std::memcpy(f.data(), b.data(), f.size() * 4);
  return f;
}

inline std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

/// The nine block types of the shared vectors, with their file stems.
struct VectorType {
  so8t::quant::Type type;
  const char* stem;
};
inline const VectorType kVectorTypes[] = {
    {so8t::quant::Type::q8_0, "q8_0"}, {so8t::quant::Type::q4_0, "q4_0"}, {so8t::quant::Type::q4_1, "q4_1"},
    {so8t::quant::Type::q5_0, "q5_0"}, {so8t::quant::Type::q5_1, "q5_1"}, {so8t::quant::Type::q4_k, "q4_k"},
    {so8t::quant::Type::q5_k, "q5_k"}, {so8t::quant::Type::q6_k, "q6_k"}, {so8t::quant::Type::q8_k, "q8_k"},
};

/// gtest prints the parameter as its stem instead of raw bytes.
inline void PrintTo(const VectorType& v, std::ostream* os) { *os << v.stem; }

inline constexpr int kVectorRows = 64;
inline constexpr int kVectorCols = 256;

}  // namespace so8t_test
