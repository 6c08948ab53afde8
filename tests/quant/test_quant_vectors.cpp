// Every row of ggml's reference vectors, bit for bit: quantized bytes and dequantized floats, through the
// public dispatch and through each scalar *_ref function. This file is also compiled with
// -O3 -march=native -ffp-contract=fast (test_quant_vectors_native) to show the flags change nothing.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "quant_test_data.hpp"
#include "so8t/quant/quantize.hpp"

namespace {

using so8t::quant::Type;
using namespace so8t_test;

std::string row_mismatch_report(const std::vector<std::uint8_t>& got, const std::vector<std::uint8_t>& want,
                                std::size_t row_bytes, int& bad_rows) {
  std::string rows;
  bad_rows = 0;
  for (int r = 0; r < kVectorRows; ++r) {
    if (std::memcmp(got.data() + r * row_bytes, want.data() + r * row_bytes, row_bytes) != 0) {
      ++bad_rows;
      rows += std::to_string(r) + " ";
    }
  }
  return rows;
}

/// The scalar reference row function of each type, called on the whole 64 x 256 input.
void quantize_ref(Type t, const float* x, void* y, std::int64_t n) {
  using namespace so8t::quant;
  switch (t) {
    case Type::q8_0: return quantize_row_q8_0_ref(x, static_cast<BlockQ8_0*>(y), n / 32);
    case Type::q4_0: return quantize_row_q4_0_ref(x, static_cast<BlockQ4_0*>(y), n / 32);
    case Type::q4_1: return quantize_row_q4_1_ref(x, static_cast<BlockQ4_1*>(y), n / 32);
    case Type::q5_0: return quantize_row_q5_0_ref(x, static_cast<BlockQ5_0*>(y), n / 32);
    case Type::q5_1: return quantize_row_q5_1_ref(x, static_cast<BlockQ5_1*>(y), n / 32);
    case Type::q4_k: return quantize_row_q4_k_ref(x, static_cast<BlockQ4K*>(y), n / 256);
    case Type::q5_k: return quantize_row_q5_k_ref(x, static_cast<BlockQ5K*>(y), n / 256);
    case Type::q6_k: return quantize_row_q6_k_ref(x, static_cast<BlockQ6K*>(y), n / 256);
    case Type::q8_k: return quantize_row_q8_k_ref(x, static_cast<BlockQ8K*>(y), n / 256);
    default: FAIL() << "no reference for " << so8t::quant::type_name(t);
  }
}

class QuantVectors : public ::testing::TestWithParam<VectorType> {};

TEST_P(QuantVectors, QuantizeMatchesGgmlBytesEveryRow) {
  const auto vt = GetParam();
  const auto input = read_floats(ggml_vector_path(std::string(vt.stem) + ".input.f32"));
  const auto want = read_bytes(ggml_vector_path(std::string(vt.stem) + ".quant.bin"));
  const std::size_t rb = so8t::quant::row_bytes(vt.type, kVectorCols);
  ASSERT_EQ(input.size(), std::size_t(kVectorRows * kVectorCols));
  ASSERT_EQ(want.size(), rb * kVectorRows);

  std::vector<std::uint8_t> got(want.size(), 0xA5);
  so8t::quant::quantize(vt.type, input.data(), got.data(), kVectorRows, kVectorCols);
  int bad = 0;
  std::string rows = row_mismatch_report(got, want, rb, bad);
  EXPECT_EQ(bad, 0) << vt.stem << " quantize(): rows differing from ggml: " << rows;

  std::vector<std::uint8_t> ref(want.size(), 0x5A);
  quantize_ref(vt.type, input.data(), ref.data(), kVectorRows * kVectorCols);
  rows = row_mismatch_report(ref, want, rb, bad);
  EXPECT_EQ(bad, 0) << vt.stem << " *_ref: rows differing from ggml: " << rows;
}

TEST_P(QuantVectors, DequantizeMatchesGgmlFloatsBitwise) {
  const auto vt = GetParam();
  const auto quant = read_bytes(ggml_vector_path(std::string(vt.stem) + ".quant.bin"));
  const auto want = read_floats(ggml_vector_path(std::string(vt.stem) + ".dequant.f32"));
  std::vector<float> got(want.size(), 1234.5f);
  so8t::quant::dequantize(vt.type, quant.data(), got.data(), kVectorRows, kVectorCols);
  int bad_rows = 0;
  for (int r = 0; r < kVectorRows; ++r) {
    int bad = 0;
    for (int c = 0; c < kVectorCols; ++c)
      bad += float_bits(got[r * kVectorCols + c]) != float_bits(want[r * kVectorCols + c]);
    if (bad) {
      ++bad_rows;
      ADD_FAILURE() << vt.stem << " row " << r << ": " << bad << " values differ bitwise";
    }
  }
  EXPECT_EQ(bad_rows, 0);
}

TEST_P(QuantVectors, MisalignedBuffersAndRowByRowGiveSameBytes) {
  const auto vt = GetParam();
  const auto input = read_floats(ggml_vector_path(std::string(vt.stem) + ".input.f32"));
  const auto want = read_bytes(ggml_vector_path(std::string(vt.stem) + ".quant.bin"));
  const std::size_t rb = so8t::quant::row_bytes(vt.type, kVectorCols);
  // Row by row into a buffer offset by one byte (every block misaligned).
  std::vector<std::uint8_t> buf(want.size() + 1);
  for (int r = 0; r < kVectorRows; ++r)
    so8t::quant::quantize(vt.type, input.data() + r * kVectorCols, buf.data() + 1 + r * rb, 1, kVectorCols);
  EXPECT_EQ(std::memcmp(buf.data() + 1, want.data(), want.size()), 0) << vt.stem;
  std::vector<float> a(input.size()), b(input.size());
  so8t::quant::dequantize(vt.type, buf.data() + 1, a.data(), kVectorRows, kVectorCols);
  so8t::quant::dequantize(vt.type, want.data(), b.data(), kVectorRows, kVectorCols);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0) << vt.stem;
}

INSTANTIATE_TEST_SUITE_P(Ggml, QuantVectors, ::testing::ValuesIn(kVectorTypes),
                         [](const ::testing::TestParamInfo<VectorType>& i) { return std::string(i.param.stem); });

TEST(QuantVectorsF16, ConversionMatchesGgmlBothWays) {
  const auto input = read_floats(ggml_vector_path("f16.input.f32"));
  const auto want = read_bytes(ggml_vector_path("f16.quant.bin"));
  const auto want_back = read_floats(ggml_vector_path("f16.dequant.f32"));
  ASSERT_EQ(input.size(), 4096u);
  std::vector<std::uint8_t> got(want.size() + 1);
  so8t::quant::quantize(Type::f16, input.data(), got.data() + 1, 1, 4096);  // misaligned on purpose
  EXPECT_EQ(std::memcmp(got.data() + 1, want.data(), want.size()), 0);
  std::vector<float> back(4096);
  so8t::quant::dequantize(Type::f16, want.data(), back.data(), 64, 64);
  int bad = 0;
  for (int i = 0; i < 4096; ++i) bad += float_bits(back[i]) != float_bits(want_back[i]);
  EXPECT_EQ(bad, 0);
}

}  // namespace
