// fp:: steps round exactly as the IEEE sequence they name (checked against long double, where the
// intermediate product is exact), and the config macros behave.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "so8t/base/fp.hpp"

TEST(Fp, MaddRoundsTwiceNotOnce) {
  // a*b = 1 + 2^-11 + 2^-24 is not a float (it rounds to 1 + 2^-11, ties to even); with c = -(1 + 2^-11)
  // the unfused result is 0 and the fused one 2^-24. madd must give the unfused one.
  const float a = 1.0f + 0x1p-12f, b = a, c = -(1.0f + 0x1p-11f);
  const long double exact_product = (long double)a * (long double)b;
  const float rounded_product = float(exact_product);
  const float expected = float((long double)rounded_product + (long double)c);  // exact sum, then rounded
  const float fused = float(exact_product + (long double)c);
  ASSERT_NE(expected, fused) << "test inputs must distinguish fused from unfused";
  EXPECT_EQ(expected, 0.0f);
  EXPECT_EQ(fused, 0x1p-24f);
  EXPECT_EQ(so8t::fp::madd(c, a, b), expected);
}

TEST(Fp, MatchesTwoRoundingsOnRandomInputs) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-1, 1);
  int distinguishing = 0;
  for (int i = 0; i < 100000; ++i) {
    const double a = u(rng), b = u(rng), c = u(rng);
    volatile double pv = a * b;  // product rounded once: volatile so no flag can fuse the reference
    const double p = pv;
    const double expected = p + c;            // second rounding
    const double fused = std::fma(a, b, c);   // single rounding, from libm
    distinguishing += expected != fused;
    ASSERT_EQ(so8t::fp::madd(c, a, b), expected);
    ASSERT_EQ(so8t::fp::msub(c, a, b), c - p);
  }
  EXPECT_GT(distinguishing, 1000) << "random inputs should often tell fused from unfused";
}

TEST(Fp, FloatOverloads) {
  EXPECT_EQ(so8t::fp::mul(3.0f, 0.5f), 1.5f);
  EXPECT_EQ(so8t::fp::add(1.0f, 2.0f), 3.0f);
  EXPECT_EQ(so8t::fp::sub(1.0f, 2.0f), -1.0f);
  double d = 2.0;
  so8t::fp::opaque(d);
  EXPECT_EQ(d, 2.0);
}
