// log: log(exp(a)) = a away from pi, exp(log R) = R everywhere, the near-pi / ambiguous flags, angles.
#include <gtest/gtest.h>

#include "support/oracles.hpp"
#include "support/typed_suite.hpp"

using namespace so8t_test;

SO8T_TYPED_TEST_SUITE(LogTest, so8t_test::RealScalars);

template <class S>
double rel_coeff_error(const so8t::so8<S>& x, const so8t::so8<S>& ref) {
  double num = 0, den = 0;
  for (int k = 0; k < 28; ++k) {
    num += (double(x[k]) - double(ref[k])) * (double(x[k]) - double(ref[k]));
    den += double(ref[k]) * double(ref[k]);
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

TYPED_TEST(LogTest, LogOfExpRecoversCoefficientsAwayFromPi) {
  using S = TypeParam;
  std::mt19937_64 rng(101);
  double worst = 0;
  // "Away from pi": largest angle <= pi - 0.1, where log's condition number is about 1 / 0.1.
  for (LD angle : {1e-8L, 1e-4L, 0.01L, 0.3L, 1.0L, 2.0L, 2.8L, 3.04L}) {
    for (int trial = 0; trial < 40; ++trial) {
      const auto a = random_with_max_angle<S>(rng, angle);
      so8t::LogReport<S> rep;
      const auto b = so8t::SO8<S>::exp(a).log(&rep);
      const double e = rel_coeff_error(b, a);
      worst = std::max(worst, e);
      EXPECT_LE(e, sizeof(S) == 4 ? 1e-5 : 1e-12) << "angle " << double(angle);
      EXPECT_FALSE(rep.near_pi);
      EXPECT_NEAR(double(rep.max_angle), double(angle), sizeof(S) == 4 ? 1e-5 : 1e-12);
    }
  }
  std::printf("[%s] worst relative error of log(exp(a)): %.3g\n", sizeof(S) == 4 ? "float" : "double", worst);
}

TYPED_TEST(LogTest, IsoclinicAndRepeatedAngles) {
  using S = TypeParam;
  std::mt19937_64 rng(5);
  for (const std::array<LD, 4>& th : {std::array<LD, 4>{1, 1, 1, 1}, std::array<LD, 4>{2, 2, 0.5L, 0.5L},
                                      std::array<LD, 4>{1e-8L, 1e-8L, 1e-8L, 1e-8L},
                                      std::array<LD, 4>{2.5L, 0, 0, 0}}) {
    const auto a = random_with_angles<S>(rng, th);
    EXPECT_LE(rel_coeff_error(so8t::SO8<S>::exp(a).log(), a), sizeof(S) == 4 ? 1e-5 : 1e-12) << double(th[0]);
  }
}

TYPED_TEST(LogTest, ZeroAndIdentity) {
  using S = TypeParam;
  const auto b = so8t::SO8<S>().log();
  for (int k = 0; k < 28; ++k) EXPECT_EQ(b[k], S(0));
}

TYPED_TEST(LogTest, ExactlyPiIsFlaggedAndExpOfLogIsR) {
  using S = TypeParam;
  std::mt19937_64 rng(9);
  const LD pi = 3.141592653589793238L;
  for (const std::array<LD, 4>& th :
       {std::array<LD, 4>{pi, 0.5L, 0.25L, 0}, std::array<LD, 4>{pi, pi, 1, 0}, std::array<LD, 4>{pi, pi, pi, pi}}) {
    // Build R exactly from the planes in long double (no exp involved), then round to S.
    const MatL Q = random_orthogonal(rng);
    const MatL R_ld = exp_ref(skew_with_angles(Q, th));
    so8t::Mat8<S> Rm;
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) Rm(i, j) = S(R_ld(i, j));
    const auto R = so8t::SO8<S>::from_matrix_unchecked(Rm);
    so8t::LogReport<S> rep;
    const auto b = R.log(&rep);
    EXPECT_TRUE(rep.near_pi);
    EXPECT_NEAR(double(rep.max_angle), double(pi), sizeof(S) == 4 ? 1e-3 : 1e-7);
    // exp(log R) = R, whichever logarithm was chosen.
    const double back = double(max_abs_diff(to_ld(so8t::SO8<S>::exp(b).matrix()), to_ld(Rm)));
    EXPECT_LE(back, sizeof(S) == 4 ? 2e-5 : 1e-12) << "planes at pi: " << (th[1] == pi ? (th[2] == pi ? 4 : 2) : 1);
    // The result is a principal log: every angle <= pi.
    EXPECT_LE(double(max_angle_of(hat_ld(b))), double(pi) + (sizeof(S) == 4 ? 1e-4 : 1e-10));
  }
}

TYPED_TEST(LogTest, JustBelowPi) {
  using S = TypeParam;
  std::mt19937_64 rng(19);
  const LD pi = 3.141592653589793238L;
  for (LD delta : {1e-1L, 1e-2L, 1e-3L, 1e-6L}) {
    const auto a = random_with_angles<S>(rng, {pi - delta, 1.0L, 0.5L, 0.1L});
    const auto R = so8t::SO8<S>::exp(a);
    so8t::LogReport<S> rep;
    const auto b = R.log(&rep);
    EXPECT_EQ(rep.near_pi, double(delta) < double(so8t::default_pi_tolerance<S>())) << double(delta);
    // Conditioning of log near pi: error ~ eps / delta (so8-math-and-style.md §1d); exp(log R) = R always.
    const double e = rel_coeff_error(b, a);
    EXPECT_LE(e, 8 * eps<S>() / double(delta) + (sizeof(S) == 4 ? 1e-5 : 1e-12)) << double(delta);
    const double back = double(max_abs_diff(to_ld(so8t::SO8<S>::exp(b).matrix()), to_ld(R.matrix())));
    EXPECT_LE(back, sizeof(S) == 4 ? 2e-5 : 1e-12) << double(delta);
  }
}

TEST(LogReportTest, AnglesAreSortedAndCorrect) {
  std::mt19937_64 rng(4);
  const auto a = random_with_angles<double>(rng, {0.3L, 1.9L, 0.7L, 1.1L});
  so8t::LogReport<double> rep;
  (void)so8t::SO8<double>::exp(a).log(&rep);
  EXPECT_NEAR(rep.angles[0], 1.9, 1e-12);
  EXPECT_NEAR(rep.angles[1], 1.1, 1e-12);
  EXPECT_NEAR(rep.angles[2], 0.7, 1e-12);
  EXPECT_NEAR(rep.angles[3], 0.3, 1e-12);
  EXPECT_FALSE(rep.ambiguous);
}

TEST(LogLargeAngles, WrapsIntoThePrincipalBranch) {
  // 10 rad is 10 - 4 pi = -2.566 rad modulo 2 pi: the principal log turns the plane the other way.
  so8t::so8<double> a;
  a[so8t::so8_index(0, 3)] = 10.0;
  const auto b = so8t::SO8<double>::exp(a).log();
  EXPECT_NEAR(b[so8t::so8_index(0, 3)], 10.0 - 4 * M_PI, 1e-12);
  for (int k = 0; k < 28; ++k) {
    if (k != so8t::so8_index(0, 3)) {
      EXPECT_NEAR(b[k], 0.0, 1e-13);
    }
  }
}
