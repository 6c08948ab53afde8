// fp:: steps round exactly as the IEEE sequence they name (checked against long double, where the
// intermediate product is exact), and the config macros behave.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "so8t/base/cpu_features.hpp"
#include "so8t/base/fp.hpp"

#include <xsimd/xsimd.hpp>

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

// The same barrier on registers: GCC/Clang vector types and xsimd batches multiply lane by lane with the
// product rounded before the add (the inputs of MaddRoundsTwiceNotOnce in every lane).
TEST(Fp, VectorAndBatchMulRoundBeforeTheAdd) {
  const float a = 1.0f + 0x1p-12f, c = -(1.0f + 0x1p-11f);
  typedef float v4 __attribute__((vector_size(16)));
  const v4 va = {a, a, a, a}, vc = {c, c, c, c};
  const v4 vr = so8t::fp::madd(vc, va, va);
  for (int l = 0; l < 4; ++l) EXPECT_EQ(vr[l], 0.0f) << "lane " << l;
  using B = xsimd::batch<float>;
  const B r = so8t::fp::add(B(c), so8t::fp::mul(B(a), B(a)));
  alignas(64) float out[B::size];
  r.store_aligned(out);
  for (std::size_t l = 0; l < B::size; ++l) EXPECT_EQ(out[l], 0.0f) << "lane " << l;
  B p = B(a) * B(a);
  so8t::fp::opaque(p);  // a batch passes through the barrier unchanged
  p.store_aligned(out);
  EXPECT_EQ(out[0], a * a);
}

// The CPU probe's answers are consistent with each other (and all false off x86).
TEST(CpuFeatures, ProbesAreConsistent) {
  namespace cpu = so8t::cpu;
  EXPECT_EQ(cpu::has_avx2_fma(), cpu::has_avx2() && cpu::has_fma());
  EXPECT_EQ(cpu::has_avx2_fma_f16c(), cpu::has_avx2_fma() && cpu::has_f16c());
#if !SO8T_CPU_X86
  EXPECT_FALSE(cpu::has_avx2() || cpu::has_fma() || cpu::has_f16c() || cpu::has_avx512_vnni());
#endif
  std::printf("[ cpu      ] avx2 %d fma %d f16c %d avx512vnni %d\n", int(cpu::has_avx2()), int(cpu::has_fma()),
              int(cpu::has_f16c()), int(cpu::has_avx512_vnni()));
}
