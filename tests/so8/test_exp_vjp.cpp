// Gradient of exp: the analytic VJP against central finite differences (double) and against the
// block-triangular Fréchet oracle in long double (Mathias 1996), on random and curated inputs.
#include <gtest/gtest.h>

#include "support/oracles.hpp"
#include "support/typed_suite.hpp"

using namespace so8t_test;

namespace {

// <G, exp(hat a)>_F in double.
double loss(const so8t::so8<double>& a, const so8t::Mat8<double>& G) {
  const auto R = so8t::SO8<double>::exp(a).matrix();
  double acc = 0;
  for (int k = 0; k < 64; ++k) acc += G.a[k] * R.a[k];
  return acc;
}

// Central differences, step h per coordinate, Richardson-extrapolated (error O(h^4)).
so8t::so8<double> fd_gradient(const so8t::so8<double>& a, const so8t::Mat8<double>& G, double h) {
  so8t::so8<double> g;
  for (int k = 0; k < 28; ++k) {
    auto d = [&](double step) {
      so8t::so8<double> p = a, m = a;
      p[k] += step;
      m[k] -= step;
      return (loss(p, G) - loss(m, G)) / (2 * step);
    };
    g[k] = (4 * d(h / 2) - d(h)) / 3;
  }
  return g;
}

double rel_error(const so8t::so8<double>& x, const so8t::so8<double>& ref) {
  double num = 0, den = 0;
  for (int k = 0; k < 28; ++k) {
    num += (x[k] - ref[k]) * (x[k] - ref[k]);
    den += ref[k] * ref[k];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// The oracle: Abar = L(-A, G) from Eigen's 16x16 long-double exp, chained through hat.
template <class S>
std::array<LD, 28> vjp_ref(const so8t::so8<S>& a, const so8t::Mat8<S>& G) {
  const MatL Abar = frechet_ref(-hat_ld(a), to_ld(G));
  std::array<LD, 28> g{};
  for (int k = 0; k < 28; ++k) g[k] = Abar(so8t::so8_row(k), so8t::so8_col(k)) - Abar(so8t::so8_col(k), so8t::so8_row(k));
  return g;
}

template <class S>
double rel_error_ld(const so8t::so8<S>& x, const std::array<LD, 28>& ref) {
  LD num = 0, den = 0;
  for (int k = 0; k < 28; ++k) {
    num += (LD(x[k]) - ref[k]) * (LD(x[k]) - ref[k]);
    den += ref[k] * ref[k];
  }
  return double(std::sqrt(num / std::max(den, LD(1e-300))));
}

}  // namespace

TEST(ExpVjp, MatchesCentralFiniteDifferencesInDouble) {
  std::mt19937_64 rng(42);
  double worst = 0;
  for (LD angle : {1e-3L, 0.1L, 0.5L, 1.0L, 2.0L, 3.0L, 3.14L}) {
    for (int trial = 0; trial < 8; ++trial) {
      const auto a = random_with_max_angle<double>(rng, angle);
      const auto G = random_matrix<double>(rng);
      const double e = rel_error(so8t::exp_vjp(a, G), fd_gradient(a, G, 1e-3));
      worst = std::max(worst, e);
      EXPECT_LE(e, 1e-7) << "angle " << double(angle);
    }
  }
  std::printf("worst relative gradient error against finite differences: %.3g\n", worst);
}

TEST(ExpVjp, FiniteDifferencesAtEdgeCases) {
  std::mt19937_64 rng(8);
  const LD pi = 3.141592653589793238L;
  const std::array<LD, 4> cases[] = {{0, 0, 0, 0},           {1e-8L, 1e-8L, 0, 0},  {1, 1, 1, 1},
                                     {pi, 0.3L, 0.2L, 0.1L}, {pi - 1e-6L, 1, 0, 0}, {10, 2, 1, 0}};
  for (const auto& th : cases) {
    const auto a = random_with_angles<double>(rng, th);
    const auto G = random_matrix<double>(rng);
    EXPECT_LE(rel_error(so8t::exp_vjp(a, G), fd_gradient(a, G, 1e-3)), 1e-7) << double(th[0]);
  }
}

SO8T_TYPED_TEST_SUITE(ExpVjpTyped, so8t_test::RealScalars);

TYPED_TEST(ExpVjpTyped, MatchesBlockTriangularOracle) {
  using S = TypeParam;
  std::mt19937_64 rng(5);
  double worst = 0;
  for (LD angle : {1e-8L, 1e-2L, 0.5L, 1.5L, 3.0L, 3.141592653589793L, 10.0L}) {
    for (int trial = 0; trial < 10; ++trial) {
      const auto a = random_with_max_angle<S>(rng, angle);
      const auto G = random_matrix<S>(rng);
      const double e = rel_error_ld(so8t::exp_vjp(a, G), vjp_ref(a, G));
      worst = std::max(worst, e);
      // Rounding grows with the squarings, as in the forward map.
      EXPECT_LE(e, (sizeof(S) == 4 ? 2e-6 : 4e-15) * (angle > 4 ? 8 : 1)) << double(angle);
    }
  }
  std::printf("[%s] worst relative VJP error against the long-double oracle: %.3g\n",
              sizeof(S) == 4 ? "float" : "double", worst);
}

TYPED_TEST(ExpVjpTyped, FrechetDerivativeOfGeneralMatrices) {
  using S = TypeParam;
  std::mt19937_64 rng(13);
  for (double scale : {1e-3, 0.1, 0.5, 2.0, 6.0}) {
    const auto A = random_matrix<S>(rng, scale), E = random_matrix<S>(rng);
    so8t::Mat8<S> L;
    const auto R = so8t::expm_frechet(A, E, &L);
    const MatL Lref = frechet_ref(to_ld(A), to_ld(E));
    const double rel = double(max_abs_diff(to_ld(L), Lref) / Lref.cwiseAbs().maxCoeff());
    EXPECT_LE(rel, sizeof(S) == 4 ? 2e-5 : 1e-12) << scale;
    // The forward value is exp(A).
    EXPECT_EQ(0, std::memcmp(R.a, so8t::expm(A).a, sizeof(R.a)));
  }
}

TYPED_TEST(ExpVjpTyped, ExpAndVjpAgreesWithSeparateCalls) {
  using S = TypeParam;
  std::mt19937_64 rng(77);
  const auto a = random_with_max_angle<S>(rng, 2.0L);
  const auto G = random_matrix<S>(rng);
  so8t::Mat8<S> R;
  const auto g1 = so8t::exp_and_vjp(a, G, &R);
  const auto g2 = so8t::exp_vjp(a, G);
  for (int k = 0; k < 28; ++k) EXPECT_EQ(g1[k], g2[k]);
  EXPECT_LE(double(max_abs_diff(to_ld(R), to_ld(so8t::SO8<S>::exp(a).matrix()))), 8 * eps<S>());
}

TEST(ExpVjp, LinearInTheCotangent) {
  std::mt19937_64 rng(31);
  const auto a = random_with_max_angle<double>(rng, 2.0L);
  const auto G1 = random_matrix<double>(rng), G2 = random_matrix<double>(rng);
  const auto g = so8t::exp_vjp(a, 2.0 * G1 + G2);
  const auto g1 = so8t::exp_vjp(a, G1), g2 = so8t::exp_vjp(a, G2);
  for (int k = 0; k < 28; ++k) EXPECT_NEAR(g[k], 2 * g1[k] + g2[k], 1e-13);
}

TEST(ExpVjp, AtZeroIsTheSkewPartOfTheCotangent) {
  // d/da <G, I + hat a + ...> at a = 0 is G_ij - G_ji exactly (a definition, no oracle needed).
  std::mt19937_64 rng(2);
  const auto G = random_matrix<double>(rng);
  const auto g = so8t::exp_vjp(so8t::so8<double>(), G);
  for (int k = 0; k < 28; ++k) {
    const int i = so8t::so8_row(k), j = so8t::so8_col(k);
    EXPECT_NEAR(g[k], G(i, j) - G(j, i), 1e-15);
  }
}
