// The heavy parts of the test oracles, compiled once (see oracles.hpp).
#include "support/oracles.hpp"

#include <unsupported/Eigen/MatrixFunctions>

namespace so8t_test {

MatL exp_ref(const MatL& A) { return A.exp(); }

MatL frechet_ref(const MatL& A, const MatL& E) {
  const LD scale = E.norm();
  if (scale == 0) return MatL::Zero();
  Mat16L B = Mat16L::Zero();
  B.topLeftCorner<8, 8>() = A;
  B.bottomRightCorner<8, 8>() = A;
  B.topRightCorner<8, 8>() = E / scale;
  const Mat16L X = B.exp();
  return scale * X.topRightCorner<8, 8>();
}

MatL random_orthogonal(std::mt19937_64& rng) {
  std::normal_distribution<double> n01;
  Eigen::Matrix<double, 8, 8> g;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) g(i, j) = n01(rng);
  Eigen::HouseholderQR<Eigen::Matrix<double, 8, 8>> qr(g);
  Eigen::Matrix<double, 8, 8> q = qr.householderQ();
  const Eigen::Matrix<double, 8, 8> r = qr.matrixQR().triangularView<Eigen::Upper>();
  for (int j = 0; j < 8; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  // Re-orthonormalise in long double so planes are exact to 1e-19.
  MatL Q = q.cast<LD>();
  for (int j = 0; j < 8; ++j) {
    for (int k = 0; k < j; ++k) Q.col(j) -= Q.col(k).dot(Q.col(j)) * Q.col(k);
    Q.col(j) /= Q.col(j).norm();
  }
  return Q;
}

MatL skew_with_angles(const MatL& Q, const std::array<LD, 4>& theta) {
  MatL D = MatL::Zero();
  for (int k = 0; k < 4; ++k) {
    D(2 * k + 1, 2 * k) = theta[k];
    D(2 * k, 2 * k + 1) = -theta[k];
  }
  return Q * D * Q.transpose();
}

LD max_angle_of(const MatL& A) {
  Eigen::SelfAdjointEigenSolver<MatL> es(A.transpose() * A);
  return std::sqrt(std::max(LD(0), es.eigenvalues().maxCoeff()));
}

}  // namespace so8t_test
