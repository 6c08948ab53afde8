// Drift metrics and the nearest-rotation repair, against Eigen's JacobiSVD in long double.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

TEST(Drift, OrthogonalityErrorAndDeterminantAgainstDefinition) {
  std::mt19937_64 rng(1);
  const auto m = random_matrix<float>(rng);
  const MatL M = to_ld(m);
  EXPECT_NEAR(double(so8t::orthogonality_error(m)), double((M.transpose() * M - MatL::Identity()).norm()), 1e-5);
  EXPECT_NEAR(double(so8t::determinant(m)), double(M.determinant()), 1e-4 * std::abs(double(M.determinant())));
  EXPECT_EQ(so8t::orthogonality_error(so8t::Mat8<double>::identity()), 0.0);
  // Measured in double even for float storage: a float rotation is not charged float rounding of R^T R.
  so8t::so8<float> a;
  a[0] = 0.7f;
  const auto R = so8t::SO8<float>::exp(a);
  EXPECT_LT(double(R.orthogonality_error()), 3e-7);
}

TEST(Drift, NearestRotationIsThePolarFactor) {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 10; ++trial) {
    const auto m = random_matrix<double>(rng);
    so8t::Status st;
    const auto R = so8t::nearest_rotation(m, &st);
    EXPECT_EQ(st, so8t::Status::ok);
    EXPECT_LE(double(so8t::orthogonality_error(R)), 1e-14);
    EXPECT_NEAR(so8t::determinant(R), 1.0, 1e-13);
    // Reference: U diag(1,..,1,sign det) V^T from the SVD of M (singular values descending: flip the last).
    const MatL M = to_ld(m);
    Eigen::JacobiSVD<MatL> svd(M, Eigen::ComputeFullU | Eigen::ComputeFullV);
    MatL D = MatL::Identity();
    if (M.determinant() < 0) D(7, 7) = -1;
    const MatL ref = svd.matrixU() * D * svd.matrixV().transpose();
    EXPECT_LE(double(max_abs_diff(to_ld(R), ref)), 1e-10) << "trial " << trial;
  }
}

TEST(Drift, RepairsAccumulatedDriftInFloat) {
  // 20k products of float rotations drift; one repair brings them back to rounding level.
  std::mt19937_64 rng(3);
  const auto a = random_with_max_angle<float>(rng, 1.0L);
  const auto step = so8t::SO8<float>::exp(a).matrix();
  auto R = so8t::Mat8<float>::identity();
  for (int i = 0; i < 20000; ++i) R = R * step;
  const double before = double(so8t::orthogonality_error(R));
  const auto fixed = so8t::nearest_rotation(R);
  const double after = double(so8t::orthogonality_error(fixed));
  std::printf("drift after 20000 float products: %.3g, after nearest_rotation: %.3g\n", before, after);
  EXPECT_GT(before, 1e-5);
  EXPECT_LT(after, 1e-6);
  auto g = so8t::SO8<float>::from_matrix_unchecked(R);
  g.normalize();
  EXPECT_LT(double(g.orthogonality_error()), 1e-6);
}

TEST(Drift, BadInputsReportStatus) {
  so8t::Status st;
  auto m = so8t::Mat8<double>::identity();
  m(0, 0) = std::nan("");
  (void)so8t::nearest_rotation(m, &st);
  EXPECT_EQ(st, so8t::Status::not_finite);
  (void)so8t::nearest_rotation(so8t::Mat8<double>::zero(), &st);
  EXPECT_EQ(st, so8t::Status::singular);
}

TEST(Drift, FromMatrixChecksTheInvariant) {
  auto m = so8t::Mat8<double>::identity();
  EXPECT_NO_THROW(so8t::SO8<double>::from_matrix(m));
  m(0, 0) = -1;  // a reflection: orthogonal, det -1
  try {
    (void)so8t::SO8<double>::from_matrix(m);
    FAIL();
  } catch (const so8t::NotARotation& e) {
    EXPECT_NE(std::string(e.what()).find("det"), std::string::npos) << e.what();
  }
  m(0, 0) = 1.01;
  EXPECT_THROW((void)so8t::SO8<double>::from_matrix(m), so8t::NotARotation);
  m(0, 0) = std::nan("");
  EXPECT_THROW((void)so8t::SO8<double>::from_matrix(m), so8t::NotARotation);
}
