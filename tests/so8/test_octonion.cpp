// Octonions: Baez's table (row e1 quoted from the paper), norm multiplicativity, alternativity,
// non-associativity, and the left/right multiplication matrices.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

namespace {
so8t::Vec8<double> basis(int i) {
  auto e = so8t::Vec8<double>::zero();
  e[i] = 1;
  return e;
}
so8t::Vec8<double> random_oct(std::mt19937_64& rng) {
  so8t::Vec8<double> x;
  for (int i = 0; i < 8; ++i) x[i] = std::normal_distribution<double>()(rng);
  return x;
}
double norm(const so8t::Vec8<double>& x) {
  double s = 0;
  for (int i = 0; i < 8; ++i) s += x[i] * x[i];
  return std::sqrt(s);
}
double dist(const so8t::Vec8<double>& x, const so8t::Vec8<double>& y) {
  double s = 0;
  for (int i = 0; i < 8; ++i) s = std::max(s, std::abs(x[i] - y[i]));
  return s;
}
}  // namespace

TEST(Octonion, BaezTableRowE1) {
  // e1e2 = e4, e1e3 = e7, e1e4 = -e2, e1e5 = e6, e1e6 = -e5, e1e7 = -e3 (Baez 2002, §2.1).
  const int idx[8] = {1, 0, 4, 7, 2, 6, 5, 3};
  const int sgn[8] = {1, -1, 1, 1, -1, 1, -1, -1};
  for (int b = 0; b < 8; ++b) {
    int c = -1;
    const int s = so8t::octonion_basis_product(1, b, &c);
    EXPECT_EQ(c, idx[b]) << "e1 e" << b;
    EXPECT_EQ(s, sgn[b]) << "e1 e" << b;
  }
}

TEST(Octonion, LinesAreCyclicAndUnitsSquareToMinusOne) {
  for (int i = 1; i <= 7; ++i) {
    const int a = i, b = i % 7 + 1, c = (i + 2) % 7 + 1;
    int r = -1;
    EXPECT_EQ(so8t::octonion_basis_product(a, b, &r), 1);
    EXPECT_EQ(r, c);
    EXPECT_EQ(so8t::octonion_basis_product(b, c, &r), 1);
    EXPECT_EQ(r, a);
    EXPECT_EQ(so8t::octonion_basis_product(c, a, &r), 1);
    EXPECT_EQ(r, b);
    EXPECT_EQ(so8t::octonion_basis_product(b, a, &r), -1);
    EXPECT_EQ(so8t::octonion_basis_product(a, a, &r), -1);
    EXPECT_EQ(r, 0);
  }
}

TEST(Octonion, CompositionAlgebraAndAlternativity) {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    const auto x = random_oct(rng), y = random_oct(rng), z = random_oct(rng);
    EXPECT_NEAR(norm(so8t::octonion_mul(x, y)), norm(x) * norm(y), 1e-12);
    EXPECT_LE(dist(so8t::octonion_mul(so8t::octonion_mul(x, x), y), so8t::octonion_mul(x, so8t::octonion_mul(x, y))), 1e-12);
    EXPECT_LE(dist(so8t::octonion_mul(so8t::octonion_mul(y, x), x), so8t::octonion_mul(y, so8t::octonion_mul(x, x))), 1e-12);
    // x conj(x) = |x|^2.
    const auto n2 = so8t::octonion_mul(x, so8t::octonion_conj(x));
    EXPECT_NEAR(n2[0], norm(x) * norm(x), 1e-12);
    if (trial == 0) {  // not associative
      EXPECT_GT(dist(so8t::octonion_mul(so8t::octonion_mul(x, y), z), so8t::octonion_mul(x, so8t::octonion_mul(y, z))), 1e-3);
    }
  }
}

TEST(Octonion, MultiplicationMatrices) {
  std::mt19937_64 rng(2);
  const auto u = random_oct(rng), y = random_oct(rng);
  const auto L = so8t::octonion_left_matrix(u), R = so8t::octonion_right_matrix(u);
  EXPECT_LE(dist(L * y, so8t::octonion_mul(u, y)), 1e-13);
  EXPECT_LE(dist(R * y, so8t::octonion_mul(y, u)), 1e-13);
  // L_u^T = L_conj(u), L_u^T L_u = |u|^2 I.
  EXPECT_LE(double(max_abs_diff(to_ld(L.transpose()), to_ld(so8t::octonion_left_matrix(so8t::octonion_conj(u))))), 1e-14);
  EXPECT_LE(double(max_abs_diff(to_ld(so8t::transpose_times(L, L)), norm(u) * norm(u) * MatL::Identity())), 1e-12);
  for (int i = 0; i < 8; ++i) {  // each L_{e_i} is a signed permutation
    const auto Li = so8t::octonion_left_basis_matrix<double>(i);
    for (int r = 0; r < 8; ++r) {
      int nz = 0;
      for (int c = 0; c < 8; ++c) nz += Li(r, c) != 0;
      EXPECT_EQ(nz, 1);
    }
  }
  (void)basis;
}
