// Argument checking of the public dispatch, the float types, and the mixing presets.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "so8t/quant/presets.hpp"
#include "so8t/quant/quantize.hpp"

namespace {

using so8t::quant::Type;

std::string message_of(Type t, const float* src, void* dst, std::int64_t nrows, std::int64_t ncols) {
  try {
    so8t::quant::quantize(t, src, dst, nrows, ncols);
  } catch (const so8t::InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(QuantApi, ErrorsNameTheOffendingValue) {
  std::vector<float> x(512, 1.0f);
  std::vector<std::uint8_t> y(1024);
  EXPECT_NE(message_of(Type::q4_k, x.data(), y.data(), 1, 100).find("ncols = 100"), std::string::npos);
  EXPECT_NE(message_of(Type::q8_0, x.data(), y.data(), 1, 33).find("block size 32"), std::string::npos);
  EXPECT_NE(message_of(Type::q8_0, x.data(), y.data(), -2, 32).find("nrows = -2"), std::string::npos);
  EXPECT_NE(message_of(Type::q8_0, x.data(), y.data(), 1, -32).find("ncols = -32"), std::string::npos);
  EXPECT_NE(message_of(Type::q8_0, nullptr, y.data(), 1, 32).find("src is null"), std::string::npos);
  EXPECT_NE(message_of(Type::q8_0, x.data(), nullptr, 1, 32).find("dst is null"), std::string::npos);
  EXPECT_NE(message_of(static_cast<Type>(99), x.data(), y.data(), 1, 32).find("unknown type id 99"), std::string::npos);
  EXPECT_NE(message_of(Type::q8_0, x.data(), y.data(), std::numeric_limits<std::int64_t>::max(), 64).find("overflows"),
            std::string::npos);
  EXPECT_THROW(so8t::quant::dequantize(Type::q6_k, y.data(), x.data(), 1, 128), std::invalid_argument);
  EXPECT_THROW(so8t::quant::dequantize(Type::q6_k, nullptr, x.data(), 1, 256), std::invalid_argument);
  // Empty shapes are fine, even with null pointers.
  EXPECT_NO_THROW(so8t::quant::quantize(Type::q4_k, nullptr, nullptr, 0, 256));
  EXPECT_NO_THROW(so8t::quant::dequantize(Type::q4_k, nullptr, nullptr, 3, 0));
}

TEST(QuantApi, FloatTypes) {
  const float x[4] = {1.0f, -2.5f, 65520.0f, 3.0e-8f};
  std::uint16_t h[4] = {};
  so8t::quant::quantize(Type::f16, x, h, 1, 4);
  EXPECT_EQ(h[0], 0x3C00);
  EXPECT_EQ(h[1], 0xC100);
  EXPECT_EQ(h[2], 0x7C00);  // >= 65520 overflows to inf
  EXPECT_EQ(h[3], 0x0001);  // 3e-8 rounds to the smallest subnormal 2^-24 = 5.96e-8
  std::uint16_t b[4] = {};
  so8t::quant::quantize(Type::bf16, x, b, 2, 2);
  EXPECT_EQ(b[0], 0x3F80);
  EXPECT_EQ(b[1], 0xC020);
  float back[4] = {};
  so8t::quant::dequantize(Type::bf16, b, back, 1, 4);
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], -2.5f);
  float copy[4] = {};
  so8t::quant::quantize(Type::f32, x, copy, 1, 4);
  EXPECT_EQ(std::memcmp(copy, x, sizeof x), 0);
}

TEST(QuantPresets, LlamaMixTable) {
  using so8t::quant::Preset;
  using so8t::quant::preset_tensor_type;
  const so8t::quant::TensorShape mat{2, 4096}, norm{1, 4096}, odd{2, 4000}, tiny{2, 100};
  const int L = 32;
  // Q4_K_M
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.0.attn_norm.weight", norm, L), Type::f32);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "output.weight", mat, L), Type::q6_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "token_embd.weight", mat, L), Type::q4_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "token_embd.weight", mat, L, false), Type::q6_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.0.attn_q.weight", mat, L), Type::q4_k);
  // more_bits for L = 32: layers 0-3, 28-31 and 4 + 3k + 2 = 6, 9, ..., 27.
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.3.attn_v.weight", mat, L), Type::q6_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.4.attn_v.weight", mat, L), Type::q4_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.6.ffn_down.weight", mat, L), Type::q6_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.7.ffn_down.weight", mat, L), Type::q4_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.28.ffn_down.weight", mat, L), Type::q6_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.7.ffn_up.weight", mat, L), Type::q4_k);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.7.attn_qkv.weight", mat, L), Type::q5_k);
  // Fallbacks when ne0 % 256 != 0, then % 32 != 0.
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.7.ffn_up.weight", odd, L), Type::q5_0);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.3.attn_v.weight", odd, L), Type::q8_0);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "output.weight", odd, L), Type::q8_0);
  EXPECT_EQ(preset_tensor_type(Preset::q4_k_m, "blk.7.ffn_up.weight", tiny, L), Type::f16);
  // Q5_K_M
  EXPECT_EQ(preset_tensor_type(Preset::q5_k_m, "blk.7.ffn_up.weight", mat, L), Type::q5_k);
  EXPECT_EQ(preset_tensor_type(Preset::q5_k_m, "blk.0.ffn_down.weight", mat, L), Type::q6_k);
  EXPECT_EQ(preset_tensor_type(Preset::q5_k_m, "blk.7.ffn_up.weight", odd, L), Type::q5_1);
  EXPECT_EQ(preset_tensor_type(Preset::q5_k_m, "blk.7.attn_qkv.weight", mat, L), Type::q6_k);
  // Q8_0: everything Q8_0 except 1-D tensors; F16 when rows are not a multiple of 32.
  EXPECT_EQ(preset_tensor_type(Preset::q8_0, "output.weight", mat, L), Type::q8_0);
  EXPECT_EQ(preset_tensor_type(Preset::q8_0, "blk.0.attn_v.weight", odd, L), Type::q8_0);
  EXPECT_EQ(preset_tensor_type(Preset::q8_0, "blk.0.attn_v.weight", tiny, L), Type::f16);
  EXPECT_EQ(preset_tensor_type(Preset::q8_0, "blk.0.ffn_norm.weight", norm, L), Type::f32);
  EXPECT_THROW(preset_tensor_type(Preset::q8_0, "output.weight", mat, 0), std::invalid_argument);
}

}  // namespace
