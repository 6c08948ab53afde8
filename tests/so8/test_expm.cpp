// exp: accuracy against Eigen's long-double MatrixExponential, orthogonality bounds from the issue, the
// degree table, and the curated edge cases (zero, tiny, isoclinic, pi, pi - 1e-6, 10, 100).
#include <gtest/gtest.h>

#include "support/oracles.hpp"
#include "support/typed_suite.hpp"

using namespace so8t_test;

SO8T_TYPED_TEST_SUITE(ExpTest, so8t_test::RealScalars);

// The bound for every angle <= pi.
template <class S>
constexpr double orth_bound() {
  return sizeof(S) == 4 ? 2e-6 : 1e-13;
}
// max |R - R_ref| for angles <= pi (so8-math-and-style.md §1a.5 suggests 2e-6 / 1e-13).
template <class S>
constexpr double value_bound() {
  return sizeof(S) == 4 ? 2e-6 : 1e-13;
}

TYPED_TEST(ExpTest, RandomAnglesUpToPiMeetOrthogonalityAndAccuracyBounds) {
  using S = TypeParam;
  std::mt19937_64 rng(1234);
  double worst_orth = 0, worst_err = 0;
  const LD angles[] = {1e-6L, 1e-3L, 0.1L, 0.4L, 1.0L, 1.9L, 2.5L, 3.0L, 3.14L, 3.141592653589793L};
  for (LD max_angle : angles)
    for (int trial = 0; trial < 60; ++trial) {
      const so8t::so8<S> a = random_with_max_angle<S>(rng, max_angle);
      const auto R = so8t::SO8<S>::exp(a);
      worst_orth = std::max(worst_orth, double(R.orthogonality_error()));
      const MatL ref = exp_ref(hat_ld(a));  // reference for the coefficients as rounded to S
      worst_err = std::max(worst_err, double(max_abs_diff(to_ld(R.matrix()), ref)));
    }
  this->RecordProperty("worst_orthogonality", std::to_string(worst_orth));
  this->RecordProperty("worst_abs_error", std::to_string(worst_err));
  std::printf("[%s] worst ||R^T R - I||_F = %.3g, worst max|R - ref| = %.3g\n", sizeof(S) == 4 ? "float" : "double",
              worst_orth, worst_err);
  EXPECT_LE(worst_orth, orth_bound<S>());
  EXPECT_LE(worst_err, value_bound<S>());
}

TYPED_TEST(ExpTest, GeneralCoefficientsAcrossScales) {
  using S = TypeParam;
  std::mt19937_64 rng(99);
  for (double scale : {1e-8, 1e-4, 0.01, 0.1, 0.3, 1.0}) {
    for (int trial = 0; trial < 30; ++trial) {
      const so8t::so8<S> a = random_coords<S>(rng, scale);
      const MatL A = hat_ld(a);
      if (max_angle_of(A) > 3.14159L) continue;
      const auto R = so8t::SO8<S>::exp(a);
      EXPECT_LE(double(R.orthogonality_error()), orth_bound<S>()) << "scale " << scale;
      EXPECT_LE(double(max_abs_diff(to_ld(R.matrix()), exp_ref(A))), value_bound<S>()) << "scale " << scale;
    }
  }
}

TYPED_TEST(ExpTest, ZeroGivesExactIdentity) {
  using S = TypeParam;
  const auto R = so8t::SO8<S>::exp(so8t::so8<S>());
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) EXPECT_EQ(R.matrix()(i, j), i == j ? S(1) : S(0));
}

TYPED_TEST(ExpTest, TinyCoefficientsAreFirstOrderExact) {
  using S = TypeParam;
  std::mt19937_64 rng(7);
  const so8t::so8<S> a = random_coords<S>(rng, 1e-8);
  const auto R = so8t::SO8<S>::exp(a);
  const so8t::Mat8<S> A = a.hat();
  // exp(A) = I + A + O(1e-16): each entry equals I + A to rounding.
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j)
      EXPECT_NEAR(double(R.matrix()(i, j)), (i == j ? 1.0 : 0.0) + double(A(i, j)), 2 * eps<S>());
}

TYPED_TEST(ExpTest, SinglePlaneMatchesRodrigues) {
  using S = TypeParam;
  // a = theta E_{2,5}: rotation by theta in the (e2, e5) plane. exp(theta E) e5 = cos e5 + sin e2 ... written out.
  for (double theta : {0.0, 1e-8, 0.3, 1.0, 2.0, 3.0, M_PI, 10.0, 100.0}) {
    so8t::so8<S> a;
    a[so8t::so8_index(2, 5)] = S(theta);
    const so8t::Mat8<S> R = so8t::SO8<S>::exp(a).matrix();
    const double c = std::cos(double(S(theta))), s = std::sin(double(S(theta)));
    const double tol = (sizeof(S) == 4 ? 4e-7 : 1e-15) * (1.0 + std::abs(theta));
    EXPECT_NEAR(double(R(2, 2)), c, tol) << theta;
    EXPECT_NEAR(double(R(5, 5)), c, tol) << theta;
    EXPECT_NEAR(double(R(2, 5)), s, tol) << theta;  // hat puts +theta at (2,5)
    EXPECT_NEAR(double(R(5, 2)), -s, tol) << theta;
    EXPECT_NEAR(double(R(0, 0)), 1.0, tol) << theta;
  }
}

TYPED_TEST(ExpTest, IsoclinicAngles) {
  using S = TypeParam;
  std::mt19937_64 rng(11);
  for (LD t : {1e-8L, 0.5L, 1.0L, 3.0L, 3.141592653589793L}) {
    const so8t::so8<S> a = random_with_angles<S>(rng, {t, t, t, t});
    const auto R = so8t::SO8<S>::exp(a);
    EXPECT_LE(double(R.orthogonality_error()), orth_bound<S>()) << double(t);
    EXPECT_LE(double(max_abs_diff(to_ld(R.matrix()), exp_ref(hat_ld(a)))), value_bound<S>()) << double(t);
  }
}

TYPED_TEST(ExpTest, ExactlyPiAndJustBelow) {
  using S = TypeParam;
  std::mt19937_64 rng(5);
  for (LD t : {3.141592653589793238L, 3.141592653589793238L - 1e-6L}) {
    const so8t::so8<S> a = random_with_angles<S>(rng, {t, 1.0L, 0.5L, 0.0L});
    const auto R = so8t::SO8<S>::exp(a);
    EXPECT_LE(double(R.orthogonality_error()), orth_bound<S>());
    EXPECT_LE(double(max_abs_diff(to_ld(R.matrix()), exp_ref(hat_ld(a)))), value_bound<S>());
  }
}

// Beyond pi: documented growth (so8t/so8/expm.hpp). Each squaring doubles the orthogonality error it inherits, so
// ||R^T R - I||_F <= c_S 2^s with s the number of squarings, c_float = 1.5e-6, c_double = 3e-15.
TYPED_TEST(ExpTest, LargeAnglesHaveBoundedDocumentedGrowth) {
  using S = TypeParam;
  std::mt19937_64 rng(17);
  double worst10 = 0, worst100 = 0;
  for (LD t : {10.0L, 100.0L})
    for (int trial = 0; trial < 40; ++trial) {
      const so8t::so8<S> a = random_with_max_angle<S>(rng, t);
      const int s = so8t::exp_plan(so8t::norm1(a.hat())).squarings;
      const auto R = so8t::SO8<S>::exp(a);
      const double e = double(R.orthogonality_error());
      (t < 50 ? worst10 : worst100) = std::max(t < 50 ? worst10 : worst100, e);
      EXPECT_LE(e, (sizeof(S) == 4 ? 1.5e-6 : 3e-15) * double(1 << s)) << "angle " << double(t) << " squarings " << s;
      // Values: relative to the conditioning of exp at this angle (errors in the coefficients times ~|A|).
      const double err = double(max_abs_diff(to_ld(R.matrix()), exp_ref(hat_ld(a))));
      EXPECT_LE(err, (sizeof(S) == 4 ? 1e-6 : 1e-14) * double(t) * (1 + s)) << double(t);
    }
  std::printf("[%s] worst orthogonality at angle 10: %.3g, at angle 100: %.3g\n", sizeof(S) == 4 ? "float" : "double",
              worst10, worst100);
}

TYPED_TEST(ExpTest, ExpOfMinusAIsTheInverse) {
  using S = TypeParam;
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const so8t::so8<S> a = random_with_max_angle<S>(rng, 3.0L);
    const auto P = so8t::SO8<S>::exp(a) * so8t::SO8<S>::exp(-a);
    EXPECT_LE(double(max_abs_diff(to_ld(P.matrix()), MatL::Identity())), 4 * orth_bound<S>());
  }
}

TEST(ExpPlan, DegreeTableFollowsHigham2005) {
  EXPECT_EQ(so8t::exp_plan(0.0f).degree, 3);
  EXPECT_EQ(so8t::exp_plan(0.42f).degree, 3);
  EXPECT_EQ(so8t::exp_plan(0.43f).degree, 5);
  EXPECT_EQ(so8t::exp_plan(1.89f).degree, 7);
  EXPECT_EQ(so8t::exp_plan(3.9f).squarings, 0);
  EXPECT_EQ(so8t::exp_plan(3.93f).squarings, 1);
  EXPECT_EQ(so8t::exp_plan(100.0f).squarings, 5);  // 100 / 3.9257 = 25.5 -> 2^5
  EXPECT_EQ(so8t::exp_plan(0.01).degree, 3);
  EXPECT_EQ(so8t::exp_plan(0.2).degree, 5);
  EXPECT_EQ(so8t::exp_plan(0.9).degree, 7);
  EXPECT_EQ(so8t::exp_plan(2.0).degree, 9);
  EXPECT_EQ(so8t::exp_plan(2.1).degree, 13);
  EXPECT_EQ(so8t::exp_plan(5.3).squarings, 0);
  EXPECT_EQ(so8t::exp_plan(5.4).squarings, 1);
}

TEST(ExpGeneral, NonSkewMatrixMatchesEigen) {
  std::mt19937_64 rng(21);
  for (double scale : {0.01, 0.3, 1.0, 3.0}) {
    const auto M = random_matrix<double>(rng, scale);
    const MatL ref = exp_ref(to_ld(M));
    const double rel = double(max_abs_diff(to_ld(so8t::expm(M)), ref) / ref.cwiseAbs().maxCoeff());
    EXPECT_LE(rel, 1e-13) << scale;
  }
}

TEST(ExpErrors, NonFiniteCoefficientThrowsNamingIt) {
  so8t::so8<double> a;
  a[5] = std::numeric_limits<double>::quiet_NaN();
  try {
    (void)so8t::SO8<double>::exp(a);
    FAIL() << "no exception";
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("coefficient 5"), std::string::npos) << e.what();
  }
  a[5] = std::numeric_limits<double>::infinity();
  EXPECT_THROW((void)so8t::SO8<double>::exp(a), so8t::InvalidArgument);
}
