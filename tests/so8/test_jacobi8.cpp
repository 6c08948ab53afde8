// symmetric_eigen: eigenvalues against Eigen's SelfAdjointEigenSolver, orthogonal eigenvectors, and the
// repeated-eigenvalue case log depends on.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

TEST(Jacobi8, EigenvaluesMatchEigenAndVectorsDiagonalise) {
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 20; ++trial) {
    auto m = random_matrix<double>(rng);
    m = m + m.transpose();
    double w[8];
    so8t::Mat8<double> V;
    const int sweeps = so8t::symmetric_eigen(m, w, V);
    EXPECT_LE(sweeps, 12);
    Eigen::SelfAdjointEigenSolver<MatL> es(to_ld(m));
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(w[i], double(es.eigenvalues()(i)), 1e-13);  // both ascending
    const MatL Vl = to_ld(V);
    EXPECT_LE(double((Vl.transpose() * Vl - MatL::Identity()).norm()), 1e-14);
    const MatL D = Vl.transpose() * to_ld(m) * Vl;
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j)
        EXPECT_NEAR(double(D(i, j)), i == j ? w[i] : 0.0, 1e-13) << i << "," << j;
  }
}

TEST(Jacobi8, RepeatedEigenvalues) {
  std::mt19937_64 rng(5);
  const MatL Q = random_orthogonal(rng);
  Eigen::Matrix<LD, 8, 1> d;
  d << -1, -1, 0.5, 0.5, 0.5, 0.5, 2, 2;
  const MatL A = Q * d.asDiagonal() * Q.transpose();
  so8t::Mat8<double> m;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) m(i, j) = double(A(i, j));
  double w[8];
  so8t::Mat8<double> V;
  so8t::symmetric_eigen(m, w, V);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(w[i], double(d(i)), 1e-14);
}
