// so8t/so8/eigen.hpp: host-side conversions between so8t types and Eigen.
#pragma once

#include <Eigen/Core>
#include <string>

#include "so8t/base/errors.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/so8/algebra.hpp"

namespace so8t {

/// Copy to an Eigen 8x8 matrix (column-major by default, as Eigen prefers).
template <class S>
Eigen::Matrix<S, 8, 8> to_eigen(const Mat8<S>& m) {
  Eigen::Matrix<S, 8, 8> r;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) r(i, j) = m(i, j);
  return r;
}

/// Copy from any Eigen matrix expression; a dynamic-size one must be 8x8 (else InvalidArgument).
template <class Derived>
Mat8<typename Derived::Scalar> from_eigen(const Eigen::MatrixBase<Derived>& e) {
  if (e.rows() != 8 || e.cols() != 8)
    throw InvalidArgument("so8t::from_eigen: expected an 8x8 matrix, got " + std::to_string(e.rows()) + "x" +
                          std::to_string(e.cols()));
  Mat8<typename Derived::Scalar> r;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) r(i, j) = e(i, j);
  return r;
}

/// A zero-copy Eigen view of a Mat8 (row-major storage).
template <class S>
Eigen::Map<Eigen::Matrix<S, 8, 8, Eigen::RowMajor>> as_eigen(Mat8<S>& m) {
  return Eigen::Map<Eigen::Matrix<S, 8, 8, Eigen::RowMajor>>(m.data());
}
template <class S>
Eigen::Map<const Eigen::Matrix<S, 8, 8, Eigen::RowMajor>> as_eigen(const Mat8<S>& m) {
  return Eigen::Map<const Eigen::Matrix<S, 8, 8, Eigen::RowMajor>>(m.data());
}

/// The 28 coordinates as an Eigen vector, and back.
template <class S>
Eigen::Matrix<S, 28, 1> to_eigen(const so8<S>& a) {
  return Eigen::Map<const Eigen::Matrix<S, 28, 1>>(a.data());
}
template <class Derived>
so8<typename Derived::Scalar> so8_from_eigen(const Eigen::MatrixBase<Derived>& v) {
  if (v.size() != 28)
    throw InvalidArgument("so8t::so8_from_eigen: expected 28 coefficients, got " + std::to_string(v.size()));
  so8<typename Derived::Scalar> a;
  for (int k = 0; k < 28; ++k) a[k] = v(k);
  return a;
}

}  // namespace so8t
