// Eigen interop on the host: copies, zero-copy views, and shape errors.
#include <gtest/gtest.h>

#include "so8t/so8/eigen.hpp"
#include "support/oracles.hpp"

TEST(EigenInterop, RoundTripAndViews) {
  std::mt19937_64 rng(1);
  auto m = so8t_test::random_matrix<double>(rng);
  const Eigen::Matrix<double, 8, 8> e = so8t::to_eigen(m);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) EXPECT_EQ(e(i, j), m(i, j));
  const auto back = so8t::from_eigen(e);
  for (int k = 0; k < 64; ++k) EXPECT_EQ(back.a[k], m.a[k]);
  auto view = so8t::as_eigen(m);
  view(2, 3) = 42.0;  // writes through
  EXPECT_EQ(m(2, 3), 42.0);
  const auto& cm = m;
  EXPECT_EQ(so8t::as_eigen(cm)(2, 3), 42.0);
  // An Eigen expression converts too, and so8t results feed Eigen code.
  const auto prod = so8t::from_eigen(e * e.transpose());
  EXPECT_NEAR(prod(0, 0), e.row(0).squaredNorm(), 1e-12);
  const so8t::so8<float> a = so8t::so8_from_eigen(Eigen::Matrix<float, 28, 1>::Constant(0.01f));
  const auto R = so8t::SO8<float>::exp(a);
  const Eigen::Matrix<float, 8, 8> Re = so8t::to_eigen(R.matrix());
  EXPECT_LT((Re.transpose() * Re - Eigen::Matrix<float, 8, 8>::Identity()).norm(), 2e-6f);
  EXPECT_EQ(so8t::to_eigen(a)(27), 0.01f);
}

TEST(EigenInterop, DynamicShapesAreChecked) {
  Eigen::MatrixXd wrong(7, 8);
  wrong.setZero();
  EXPECT_THROW((void)so8t::from_eigen(wrong), so8t::InvalidArgument);
  Eigen::VectorXf v(27);
  EXPECT_THROW((void)so8t::so8_from_eigen(v), std::invalid_argument);
}
