// LU8: solves and determinants against Eigen's PartialPivLU in long double.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

TEST(LU8, SolveAndTransposeSolveMatchEigen) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const auto m = random_matrix<double>(rng), b = random_matrix<double>(rng);
    const so8t::LU8<double> lu(m);
    ASSERT_FALSE(lu.singular());
    const MatL M = to_ld(m), B = to_ld(b);
    const MatL x = M.partialPivLu().solve(B);
    const MatL xt = M.transpose().partialPivLu().solve(B);
    const LD scale = x.cwiseAbs().maxCoeff(), scale_t = xt.cwiseAbs().maxCoeff();
    EXPECT_LE(double(max_abs_diff(to_ld(lu.solve(b)), x) / scale), 1e-12);
    EXPECT_LE(double(max_abs_diff(to_ld(lu.solve_transpose(b)), xt) / scale_t), 1e-12);
    EXPECT_NEAR(lu.determinant(), double(M.determinant()), 1e-12 * std::abs(double(M.determinant())));
  }
}

TEST(LU8, PivotsOnAZeroLeadingEntry) {
  so8t::Mat8<double> p = so8t::Mat8<double>::zero();  // a permutation matrix: needs pivoting at every step
  for (int i = 0; i < 8; ++i) p(i, (i + 3) % 8) = 1;
  const so8t::LU8<double> lu(p);
  ASSERT_FALSE(lu.singular());
  const auto x = lu.solve(p);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) EXPECT_EQ(x(i, j), i == j ? 1.0 : 0.0);
  EXPECT_EQ(std::abs(lu.determinant()), 1.0);
}

TEST(LU8, SingularAndNonFiniteAreFlagged) {
  so8t::Mat8<float> m = so8t::Mat8<float>::identity();
  m(5, 5) = 0;
  EXPECT_TRUE(so8t::LU8<float>(m).singular());
  m(5, 5) = std::nanf("");
  EXPECT_TRUE(so8t::LU8<float>(m).singular());
  EXPECT_FALSE(so8t::LU8<float>(so8t::Mat8<float>::identity()).singular());
}
