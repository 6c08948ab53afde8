// so8t/so8/drift.hpp: how far a matrix is from SO(8), and the nearest rotation.
//
// Measured in double whatever the storage type, so that a float rotation's 1e-7-level drift is not
// hidden under the rounding of the measurement itself (so8-math-and-style.md §1e).
#pragma once

#include "so8t/base/errors.hpp"
#include "so8t/so8/jacobi8.hpp"
#include "so8t/so8/lu8.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/base/scalar_math.hpp"

namespace so8t {

/// ||R^T R - I||_F, computed in double.
template <class S>
SO8T_HOST_DEVICE S orthogonality_error(const Mat8<S>& R) {
  const Mat8<double> r = R.template cast<double>();
  Mat8<double> g = transpose_times(r, r);
  add_diagonal(-1.0, g);
  double acc = 0.0;
  for (int k = 0; k < 64; ++k) acc = fp::madd(acc, g.a[k], g.a[k]);
  return static_cast<S>(smath::sqrt(acc));
}

/// det(M) by LU with partial pivoting in double.
template <class S>
SO8T_HOST_DEVICE S determinant(const Mat8<S>& M) {
  const LU8<double> lu(M.template cast<double>());
  return static_cast<S>(lu.singular() ? 0.0 : lu.determinant());
}

/// The rotation nearest to M in the Frobenius norm: the orthogonal polar factor U V^T of M = U Sigma V^T,
/// with the direction of the smallest singular value flipped when det M < 0 (so the result is in SO(8),
/// not just O(8)). Computed in double from the eigenvectors of M^T M, then one Newton-Schulz step
/// X <- X (3I - X^T X) / 2 to polish orthogonality. `*status` (if given) is Status::singular when M is
/// rank-deficient to working precision, where the polar factor is not unique (the result is then not
/// orthogonal), and Status::not_finite for NaN or infinite input (the identity is returned).
template <class S>
SO8T_HOST_DEVICE Mat8<S> nearest_rotation(const Mat8<S>& M, Status* status = nullptr) {
  if (status) *status = Status::ok;
  if (!all_finite(M)) {
    if (status) *status = Status::not_finite;
    return Mat8<S>::identity();
  }
  const Mat8<double> m = M.template cast<double>();
  double w[8];
  Mat8<double> V;
  symmetric_eigen(transpose_times(m, m), w, V);  // w ascending = sigma^2
  if (!(w[7] > 0.0)) {
    if (status) *status = Status::singular;
    return Mat8<S>::identity();
  }
  if (status && w[0] <= 1e-24 * w[7]) *status = Status::singular;
  const LU8<double> lu(m);
  const bool flip = lu.singular() ? false : lu.determinant() < 0.0;
  // X = M V diag(d_i / sigma_i) V^T, d_0 = -1 when flipping.
  Mat8<double> Vs = V;
  for (int j = 0; j < 8; ++j) {
    const double sigma = smath::sqrt(w[j] > 1e-300 ? w[j] : 1e-300);
    const double d = (j == 0 && flip) ? -1.0 / sigma : 1.0 / sigma;
    for (int i = 0; i < 8; ++i) Vs(i, j) = fp::mul(Vs(i, j), d);
  }
  Mat8<double> X = m * (Vs * V.transpose());
  Mat8<double> XtX = transpose_times(X, X);
  Mat8<double> T = -1.0 * XtX;
  add_diagonal(3.0, T);
  X = 0.5 * (X * T);
  return X.template cast<S>();
}

}  // namespace so8t
