// Quantized dot products against an independent double computation on the dequantized operands.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "so8t/quant/dot.hpp"
#include "so8t/quant/dot_avx2.hpp"
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
                                           DotCase{Type::q4_1, "q4_1"}, DotCase{Type::q5_0, "q5_0"},
                                           DotCase{Type::q5_1, "q5_1"},
                                           DotCase{Type::q4_k, "q4_k"}, DotCase{Type::q5_k, "q5_k"},
                                           DotCase{Type::q6_k, "q6_k"}),
                         [](const ::testing::TestParamInfo<DotCase>& i) { return std::string(i.param.name); });

// The AVX2 dots (so8t/quant/dot_avx2.hpp, what CpuLinear runs) against the scalar vec_dot and the double
// reference. Tolerance: both compute the same exact int32 (sub-)block sums and differ only in how the float
// block terms t_b (|t_b| <= the block's share of mag) are scaled and summed: at most 16 sequential steps
// (K-quants: one term per 256-value super-block, as in the scalar) or two 8-lane FMA chains of n/512 steps
// plus a 3-level horizontal add (q8_0/q4_0), each rounding adding at most 2^-24 times the partial sums'
// magnitude. The scalar dot meets 2e-6 * mag against the double reference above; the AVX2 one has at most as
// many roundings per term (fused products only remove some), so it meets the same bound, and the two differ
// by at most 4e-6 * mag. (q5_K has no AVX2 kernel: there vec_dot_best is the scalar dot.)
TEST_P(QuantDot, Avx2MatchesScalarDot) {
  const Type wt = GetParam().weight;
  if (!so8t::quant::has_avx2_dots()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  const Type at = so8t::quant::vec_dot_type(wt);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const std::int64_t n : {std::int64_t(256), std::int64_t(768), std::int64_t(4096)}) {  // odd block counts too
    for (int trial = 0; trial < 20; ++trial) {
      const float ws = std::pow(10.0f, float(trial % 5) - 2.0f), as = std::pow(10.0f, float(trial % 3) - 1.0f);
      std::vector<float> w(static_cast<std::size_t>(n)), a(static_cast<std::size_t>(n));
      for (auto& v : w) v = nd(rng) * ws;
      for (auto& v : a) v = nd(rng) * as;
      std::vector<std::uint8_t> qw(so8t::quant::row_bytes(wt, n)), qa(so8t::quant::row_bytes(at, n));
      so8t::quant::quantize(wt, w.data(), qw.data(), 1, n);
      so8t::quant::quantize(at, a.data(), qa.data(), 1, n);
      std::vector<float> dw(static_cast<std::size_t>(n)), da(static_cast<std::size_t>(n));
      so8t::quant::dequantize(wt, qw.data(), dw.data(), 1, n);
      so8t::quant::dequantize(at, qa.data(), da.data(), 1, n);
      double ref = 0.0, mag = 0.0;
      for (std::size_t i = 0; i < dw.size(); ++i) {
        ref += double(dw[i]) * double(da[i]);
        mag += std::fabs(double(dw[i]) * double(da[i]));
      }
      const float scalar = so8t::quant::vec_dot(wt, qw.data(), qa.data(), n);
      const float fast = so8t::quant::vec_dot_best(wt, qw.data(), qa.data(), n, true);
      EXPECT_NEAR(double(fast), ref, 2e-6 * mag + 1e-30) << GetParam().name << " n " << n << " trial " << trial;
      EXPECT_NEAR(double(fast), double(scalar), 4e-6 * mag + 1e-30) << GetParam().name << " n " << n << " trial " << trial;
    }
  }
}

TEST(QuantDotBest, WithoutSimdIsTheScalarDot) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const std::int64_t n = 512;
  std::vector<float> w(n), a(n);
  for (auto& v : w) v = nd(rng);
  for (auto& v : a) v = nd(rng);
  for (const Type wt : {Type::q8_0, Type::q4_0, Type::q4_1, Type::q5_0, Type::q5_1, Type::q4_k, Type::q5_k, Type::q6_k}) {
    const Type at = so8t::quant::vec_dot_type(wt);
    std::vector<std::uint8_t> qw(so8t::quant::row_bytes(wt, n)), qa(so8t::quant::row_bytes(at, n));
    so8t::quant::quantize(wt, w.data(), qw.data(), 1, n);
    so8t::quant::quantize(at, a.data(), qa.data(), 1, n);
    EXPECT_EQ(so8t::quant::vec_dot_best(wt, qw.data(), qa.data(), n, false),
              so8t::quant::vec_dot(wt, qw.data(), qa.data(), n))
        << so8t::quant::type_name(wt);
  }
  std::vector<std::uint8_t> buf(64);
  EXPECT_THROW(so8t::quant::vec_dot_best(Type::q8_0, buf.data(), buf.data(), 33, false), std::invalid_argument);
}

#if SO8T_CPU_X86
// The AVX2 Q8_K activation quantizer gives quantize_row_q8_k_ref's bytes (ties, zeros, +/- max).
TEST(QuantDotBest, Avx2Q8KQuantizerIsExact) {
  if (!so8t::quant::has_avx2_dots()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int nb = 8;
  std::vector<float> x(256 * nb);
  for (float& v : x) v = nd(rng) * 3.0f;
  for (int j = 0; j < 256; ++j) x[256 + j] = 0.0f;                               // an all-zero block
  for (int j = 0; j < 256; ++j) x[512 + j] = static_cast<float>(j % 9) - 4.0f;  // +/-4 ties, first is -4
  x[768 + 7] = 3.0f, x[768 + 9] = -3.0f;                                        // max tie of opposite signs
  std::vector<so8t::quant::BlockQ8K> a(nb), b(nb);
  so8t::quant::quantize(Type::q8_k, x.data(), a.data(), 1, 256 * nb);
  so8t::quant::quantize_row_q8_k_avx2(x.data(), b.data(), nb);
  for (int i = 0; i < nb; ++i) EXPECT_EQ(std::memcmp(&a[i], &b[i], sizeof a[i]), 0) << "block " << i;
}
#endif

TEST(QuantDotErrors, RejectsUnsupportedTypesAndBadLengths) {
  std::vector<std::uint8_t> buf(4096);
  EXPECT_THROW(so8t::quant::vec_dot(Type::f16, buf.data(), buf.data(), 32), std::invalid_argument);
  EXPECT_THROW(so8t::quant::vec_dot(Type::q5_1, buf.data(), buf.data(), 48), std::invalid_argument);
  EXPECT_THROW(so8t::quant::vec_dot(Type::q4_k, buf.data(), buf.data(), 100), std::invalid_argument);
  EXPECT_THROW(so8t::quant::vec_dot(Type::q8_0, nullptr, buf.data(), 32), std::invalid_argument);
}

}  // namespace
