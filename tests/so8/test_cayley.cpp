// Cayley map: definition against a long-double solve, the angle map phi = 2 atan(theta), orthogonality,
// inverse and its failure at pi, the VJP against finite differences and against the closed form.
#include <gtest/gtest.h>

#include "support/oracles.hpp"
#include "support/typed_suite.hpp"

using namespace so8t_test;

SO8T_TYPED_TEST_SUITE(CayleyTest, so8t_test::RealScalars);

TYPED_TEST(CayleyTest, MatchesDefinitionAndIsOrthogonal) {
  using S = TypeParam;
  std::mt19937_64 rng(1);
  for (double scale : {1e-6, 0.1, 1.0, 10.0}) {
    const auto a = random_coords<S>(rng, scale);
    const MatL A = hat_ld(a);
    const MatL ref = (MatL::Identity() - A).partialPivLu().solve(MatL::Identity() + A);
    const auto R = so8t::cayley(a);
    EXPECT_LE(double(max_abs_diff(to_ld(R.matrix()), ref)), (sizeof(S) == 4 ? 3e-6 : 1e-14) * (1 + scale)) << scale;
    EXPECT_LE(double(R.orthogonality_error()), sizeof(S) == 4 ? 3e-6 : 1e-14) << scale;
    EXPECT_GT(double(so8t::determinant(R.matrix())), 0.0);
  }
}

TEST(Cayley, AngleMapIsTwoArctan) {
  for (double theta : {0.1, 1.0, 5.0, 100.0}) {
    so8t::so8<double> a;
    a[so8t::so8_index(3, 6)] = theta;
    const auto R = so8t::cayley(a).matrix();
    const double phi = 2 * std::atan(theta);
    EXPECT_NEAR(R(3, 3), std::cos(phi), 1e-14);
    EXPECT_NEAR(R(3, 6), std::sin(phi), 1e-14);
  }
}

TEST(Cayley, AgreesWithExpOfTwiceTheArgumentToSecondOrder) {
  std::mt19937_64 rng(2);
  const auto a = random_coords<double>(rng, 1e-3);
  const auto C = so8t::cayley(a).matrix(), E = so8t::SO8<double>::exp(a * 2.0).matrix();
  EXPECT_LE(double(max_abs_diff(to_ld(C), to_ld(E))), 1e-7);  // O(|a|^3) ~ 1e-8
}

TYPED_TEST(CayleyTest, InverseRecoversCoefficients) {
  using S = TypeParam;
  std::mt19937_64 rng(3);
  for (double scale : {1e-4, 0.3, 2.0}) {
    const auto a = random_coords<S>(rng, scale);
    const auto b = so8t::cayley_inverse(so8t::cayley(a));
    double num = 0, den = 0;
    for (int k = 0; k < 28; ++k) {
      num += std::pow(double(b[k]) - double(a[k]), 2);
      den += std::pow(double(a[k]), 2);
    }
    EXPECT_LE(std::sqrt(num / den), sizeof(S) == 4 ? 5e-5 : 1e-12) << scale;
  }
}

TEST(Cayley, InverseOfARotationByPiThrows) {
  so8t::so8<double> a;
  a[so8t::so8_index(0, 1)] = M_PI;
  const auto R = so8t::SO8<double>::exp(a);  // eigenvalue -1 (twice)
  EXPECT_THROW((void)so8t::cayley_inverse(R), so8t::SingularMatrix);
  so8t::Status st;
  (void)so8t::cayley_inverse_checked(R.matrix(), &st);
  EXPECT_EQ(st, so8t::Status::singular);
}

TEST(CayleyVjp, MatchesFiniteDifferences) {
  std::mt19937_64 rng(4);
  for (double scale : {0.01, 0.5, 3.0}) {
    const auto a = random_coords<double>(rng, scale);
    const auto G = random_matrix<double>(rng);
    auto loss = [&](const so8t::so8<double>& p) {
      const auto R = so8t::cayley(p).matrix();
      double acc = 0;
      for (int k = 0; k < 64; ++k) acc += G.a[k] * R.a[k];
      return acc;
    };
    const auto g = so8t::cayley_vjp(a, G);
    double num = 0, den = 0;
    for (int k = 0; k < 28; ++k) {
      auto d = [&](double h) {
        so8t::so8<double> p = a, m = a;
        p[k] += h;
        m[k] -= h;
        return (loss(p) - loss(m)) / (2 * h);
      };
      const double fd = (4 * d(5e-4) - d(1e-3)) / 3;
      num += (g[k] - fd) * (g[k] - fd);
      den += fd * fd;
    }
    EXPECT_LE(std::sqrt(num / den), 1e-7) << scale;
  }
}

TYPED_TEST(CayleyTest, VjpMatchesClosedFormInLongDouble) {
  using S = TypeParam;
  std::mt19937_64 rng(5);
  const auto a = random_coords<S>(rng, 0.7);
  const auto G = random_matrix<S>(rng);
  const MatL IpA_inv = (MatL::Identity() + hat_ld(a)).inverse();
  const MatL Abar = 2 * IpA_inv * to_ld(G) * IpA_inv;
  const auto g = so8t::cayley_vjp(a, G);
  for (int k = 0; k < 28; ++k) {
    const int i = so8t::so8_row(k), j = so8t::so8_col(k);
    EXPECT_NEAR(double(g[k]), double(Abar(i, j) - Abar(j, i)), sizeof(S) == 4 ? 2e-5 : 1e-13);
  }
}
