// Quantized dot products against an independent double computation on the dequantized operands.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "so8t/quant/dot.hpp"
#include "so8t/quant/quantize.hpp"

namespace {

using so8t::quant::Type;

struct DotCase {
  Type weight;
  const char* name;
};

class QuantDot : public ::testing::TestWithParam<DotCase> {};

TEST_P(QuantDot, MatchesDequantizedDoubleDot) {
  const Type wt = GetParam().weight;
  const Type at = so8t::quant::vec_dot_type(wt);
  const std::int64_t n = 4096;
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int trial = 0; trial < 20; ++trial) {
    const float ws = std::pow(10.0f, float(trial % 5) - 2.0f), as = std::pow(10.0f, float(trial % 3) - 1.0f);
    std::vector<float> w(n), a(n);
    for (auto& v : w) v = nd(rng) * ws;
    for (auto& v : a) v = nd(rng) * as;
    std::vector<std::uint8_t> qw(so8t::quant::row_bytes(wt, n)), qa(so8t::quant::row_bytes(at, n));
    so8t::quant::quantize(wt, w.data(), qw.data(), 1, n);
    so8t::quant::quantize(at, a.data(), qa.data(), 1, n);
    std::vector<float> dw(n), da(n);
    so8t::quant::dequantize(wt, qw.data(), dw.data(), 1, n);
    so8t::quant::dequantize(at, qa.data(), da.data(), 1, n);
    double ref = 0.0, mag = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
      ref += double(dw[i]) * double(da[i]);
      mag += std::fabs(double(dw[i]) * double(da[i]));
    }
    const float got = so8t::quant::vec_dot(wt, qw.data(), qa.data(), n);
    EXPECT_NEAR(double(got), ref, 2e-6 * mag + 1e-30) << GetParam().name << " trial " << trial;
    // And the quantized dot is close to the float dot (sanity on the quantizers themselves).
    double exact = 0.0;
    for (std::int64_t i = 0; i < n; ++i) exact += double(w[i]) * double(a[i]);
    EXPECT_NEAR(double(got), exact, 0.1 * mag) << GetParam().name;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, QuantDot,
                         ::testing::Values(DotCase{Type::q8_0, "q8_0"}, DotCase{Type::q4_0, "q4_0"},
                                           DotCase{Type::q4_k, "q4_k"}, DotCase{Type::q5_k, "q5_k"},
                                           DotCase{Type::q6_k, "q6_k"}),
                         [](const ::testing::TestParamInfo<DotCase>& i) { return std::string(i.param.name); });

TEST(QuantDotErrors, RejectsUnsupportedTypesAndBadLengths) {
  std::vector<std::uint8_t> buf(4096);
  EXPECT_THROW(so8t::quant::vec_dot(Type::q4_1, buf.data(), buf.data(), 32), std::invalid_argument);
  EXPECT_THROW(so8t::quant::vec_dot(Type::q4_k, buf.data(), buf.data(), 100), std::invalid_argument);
  EXPECT_THROW(so8t::quant::vec_dot(Type::q8_0, nullptr, buf.data(), 32), std::invalid_argument);
}

}  // namespace
