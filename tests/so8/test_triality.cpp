// Triality: the local identity sigma_plus(a)(x y) = (a x) y + x (sigma_minus(a) y), its group form up to a
// common sign, the order-3 automorphism and its 28x28 matrix, the maximal torus, and the double cover.
// Identities from so8-math-and-style.md §1f (T1, T2, T4, T7, T8, T9), checked here from scratch.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

namespace {
using A = so8t::so8<double>;
so8t::Vec8<double> random_oct(std::mt19937_64& rng) {
  so8t::Vec8<double> x;
  for (int i = 0; i < 8; ++i) x[i] = std::normal_distribution<double>()(rng);
  return x;
}
double dist(const so8t::Vec8<double>& x, const so8t::Vec8<double>& y) {
  double s = 0;
  for (int i = 0; i < 8; ++i) s = std::max(s, std::abs(x[i] - y[i]));
  return s;
}
so8t::Vec8<double> add(const so8t::Vec8<double>& x, const so8t::Vec8<double>& y) {
  so8t::Vec8<double> r;
  for (int i = 0; i < 8; ++i) r[i] = x[i] + y[i];
  return r;
}
// The 28x28 matrix of a linear map on coordinates.
template <class F>
Eigen::Matrix<double, 28, 28> matrix_of(F f) {
  Eigen::Matrix<double, 28, 28> P;
  for (int k = 0; k < 28; ++k) {
    const A img = f(A::generator(k));
    for (int r = 0; r < 28; ++r) P(r, k) = img[r];
  }
  return P;
}
}  // namespace

TEST(Triality, LocalTrialityIdentity) {
  std::mt19937_64 rng(1);
  double worst = 0;
  for (int trial = 0; trial < 50; ++trial) {
    const auto a = random_coords<double>(rng);
    const auto x = random_oct(rng), y = random_oct(rng);
    const auto lhs = so8t::sigma_plus(a).hat() * so8t::octonion_mul(x, y);
    const auto rhs = add(so8t::octonion_mul(a.hat() * x, y), so8t::octonion_mul(x, so8t::sigma_minus(a).hat() * y));
    worst = std::max(worst, dist(lhs, rhs));
  }
  std::printf("worst residual of sigma_plus(a)(xy) - (ax)y - x(sigma_minus(a)y): %.3g\n", worst);
  EXPECT_LE(worst, 1e-13);
}

TEST(Triality, GroupFormHoldsUpToACommonSign) {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 20; ++trial) {
    const auto a = random_coords<double>(rng, 1.5);
    const auto x = random_oct(rng), y = random_oct(rng);
    // From the algebra element: exact sign.
    const auto t = so8t::spin_lift(a);
    EXPECT_LE(dist(t.plus * so8t::octonion_mul(x, y), so8t::octonion_mul(t.vector * x, t.minus * y)), 1e-12);
    // From the rotation alone: the identity holds with (plus, minus) or both negated, which still satisfies it.
    const auto u = so8t::spin_lift(t.vector);
    EXPECT_LE(dist(u.plus * so8t::octonion_mul(x, y), so8t::octonion_mul(u.vector * x, u.minus * y)), 1e-11);
    const double same = double(max_abs_diff(to_ld(u.plus.matrix()), to_ld(t.plus.matrix())));
    const double flipped = double(max_abs_diff(to_ld(u.plus.matrix()), -to_ld(t.plus.matrix())));
    EXPECT_LE(std::min(same, flipped), 1e-10);
  }
}

TEST(Triality, DoubleCoverAtTwoPi) {
  A a;
  a[so8t::so8_index(0, 1)] = 2 * M_PI;  // exp(a) = I but the spinor lifts are -I
  const auto t = so8t::spin_lift(a);
  EXPECT_LE(double(max_abs_diff(to_ld(t.vector.matrix()), MatL::Identity())), 1e-14);
  EXPECT_LE(double(max_abs_diff(to_ld(t.plus.matrix()), -MatL::Identity())), 1e-14);
  EXPECT_LE(double(max_abs_diff(to_ld(t.minus.matrix()), -MatL::Identity())), 1e-14);
}

TEST(Triality, AutomorphismHasOrderThreeAndPreservesBrackets) {
  std::mt19937_64 rng(3);
  const auto a = random_coords<double>(rng), b = random_coords<double>(rng);
  const auto T = [](const A& x) { return so8t::triality_automorphism(x); };
  const A ttt = T(T(T(a)));
  for (int k = 0; k < 28; ++k) EXPECT_NEAR(ttt[k], a[k], 1e-14);
  const A lhs = T(A::bracket(a, b)), rhs = A::bracket(T(a), T(b));
  for (int k = 0; k < 28; ++k) EXPECT_NEAR(lhs[k], rhs[k], 1e-13);
  EXPECT_NEAR(T(a).dot(T(b)), a.dot(b), 1e-12);  // tr(T(a)T(b)) = tr(ab)
  // T^2(a) = C sigma_plus(a) C with C = diag(1, -1, ..., -1).
  so8t::Mat8<double> C = so8t::Mat8<double>::identity();
  for (int i = 1; i < 8; ++i) C(i, i) = -1;
  EXPECT_LE(double(max_abs_diff(to_ld(T(T(a)).hat()), to_ld(C * so8t::sigma_plus(a).hat() * C))), 1e-14);
}

TEST(Triality, MatrixOnCoordinates) {
  const auto P = matrix_of([](const A& x) { return so8t::triality_automorphism(x); });
  const Eigen::Matrix<double, 28, 28> I = Eigen::Matrix<double, 28, 28>::Identity();
  EXPECT_LE((P * P * P - I).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LE((P.transpose() * P - I).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_NEAR(P.trace(), 7.0, 1e-14);
  EXPECT_NEAR(P.determinant(), 1.0, 1e-12);
  for (int i = 0; i < 28; ++i)
    for (int j = 0; j < 28; ++j) {
      const double v = std::abs(P(i, j));
      EXPECT_TRUE(v == 0.0 || v == 0.5) << P(i, j);
    }
  // Fixed subspace = g2, dimension 14.
  Eigen::FullPivLU<Eigen::Matrix<double, 28, 28>> lu(P - I);
  EXPECT_EQ(28 - lu.rank(), 14);
  // sigma_plus is an involution of trace 14.
  const auto Sp = matrix_of([](const A& x) { return so8t::sigma_plus(x); });
  EXPECT_LE((Sp * Sp - I).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_NEAR(Sp.trace(), 14.0, 1e-14);
}

TEST(Triality, GoldenValueSigmaPlusE01) {
  // sigma_plus(E_01): +1/2 at (0,1), (2,4), (3,7), (5,6), -1/2 at the transposes; sigma_minus(E_01) = -that.
  const auto sp = so8t::sigma_plus(A::generator(0)).hat(), sm = so8t::sigma_minus(A::generator(0)).hat();
  so8t::Mat8<double> ref = so8t::Mat8<double>::zero();
  const int pos[4][2] = {{0, 1}, {2, 4}, {3, 7}, {5, 6}};
  for (const auto& p : pos) {
    ref(p[0], p[1]) = 0.5;
    ref(p[1], p[0]) = -0.5;
  }
  EXPECT_EQ(to_ld(sp), to_ld(ref));
  EXPECT_EQ(to_ld(sm), -to_ld(ref));
}

TEST(Triality, MaximalTorusSignProducts) {
  // a rotates plane (e_2k, e_2k+1) by theta_k with a[2k+1, 2k] = theta_k.
  const double th[4] = {0.3, 0.7, 1.1, 1.9};
  A a;
  for (int k = 0; k < 4; ++k) a[so8t::so8_index(2 * k, 2 * k + 1)] = -th[k];
  auto angles = [](const A& x) {
    Eigen::SelfAdjointEigenSolver<MatL> es(hat_ld(x).transpose() * hat_ld(x));
    std::vector<double> r;
    for (int i = 0; i < 8; i += 2) r.push_back(double(std::sqrt(std::max(LD(0), es.eigenvalues()(i)))));
    return r;
  };
  const auto v = angles(a), bot = angles(so8t::sigma_minus(a)), top = angles(so8t::sigma_plus(a));
  const double ev[4] = {0.3, 0.7, 1.1, 1.9}, eb[4] = {0.2, 0.6, 1.0, 2.0}, et[4] = {0.1, 0.9, 1.3, 1.7};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(v[i], ev[i], 1e-14);
    EXPECT_NEAR(bot[i], eb[i], 1e-14);
    EXPECT_NEAR(top[i], et[i], 1e-14);
  }
}

TEST(Triality, IsOuterNotAConjugation) {
  std::mt19937_64 rng(6);
  const auto a = random_with_angles<double>(rng, {1.0L, 0.5L, 0.2L, 0.1L});
  auto sorted_angles = [](const A& x) {
    Eigen::SelfAdjointEigenSolver<MatL> es(hat_ld(x).transpose() * hat_ld(x));
    return es.eigenvalues();
  };
  EXPECT_GT(double((sorted_angles(a) - sorted_angles(so8t::triality_automorphism(a))).cwiseAbs().maxCoeff()), 1e-3);
}
