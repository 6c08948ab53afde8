// so8t/so8/group.hpp: the rotation group SO(8), Sophus/manif style.
//
// SO8<S> owns an 8x8 matrix. Invariant: R^T R = I and det R = +1 up to rounding. Every constructor keeps it
// (exp, composition, inverse, from_matrix with its check on the host); from_matrix_unchecked is for device
// code and trusted sources.
#pragma once

#include <string>

#include "so8t/so8/drift.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/so8/expm.hpp"
#include "so8t/so8/logm.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/so8/algebra.hpp"

namespace so8t {

template <class S>
class SO8 {
 public:
  using Scalar = S;
  using Tangent = so8<S>;
  static constexpr int DoF = 28;  // dimension of the group
  static constexpr int N = 8;     // size of the matrix

  /// The identity rotation.
  SO8T_HOST_DEVICE SO8() : R_(Mat8<S>::identity()) {}

  /// exp(hat a), Padé scaling and squaring (so8t/so8/expm.hpp). On the host a NaN or infinite coefficient
  /// throws InvalidArgument; in device code it propagates into the matrix.
  SO8T_HOST_DEVICE static SO8 exp(const so8<S>& a) {
#if !SO8T_DEVICE_CODE
    for (int k = 0; k < 28; ++k)
      if (!smath::is_finite(a[k]))
        throw InvalidArgument("so8t::SO8::exp: coefficient " + std::to_string(k) + " is " +
                              std::to_string(double(a[k])));
#endif
    return SO8(expm(a.hat()));
  }

  /// Wraps a matrix after checking it is a rotation: ||M^T M - I||_F <= tol and det M > 0. Throws
  /// NotARotation otherwise, naming the measured error. Default tol: 1e-4 (float), 1e-10 (double).
  static SO8 from_matrix(const Mat8<S>& m, S tol = sizeof(S) == 4 ? S(1e-4) : S(1e-10)) {
    if (!all_finite(m)) throw NotARotation("so8t::SO8::from_matrix: matrix has a NaN or infinite entry");
    const S err = so8t::orthogonality_error(m);
    if (!(err <= tol))
      throw NotARotation("so8t::SO8::from_matrix: ||M^T M - I||_F = " + std::to_string(double(err)) +
                         " exceeds tolerance " + std::to_string(double(tol)) +
                         " (use nearest_rotation() to repair drift)");
    const S det = so8t::determinant(m);
    if (!(det > S(0)))
      throw NotARotation("so8t::SO8::from_matrix: det M = " + std::to_string(double(det)) +
                         " (a reflection, not a rotation)");
    return SO8(m);
  }

  /// Wraps a matrix without any check.
  SO8T_HOST_DEVICE static SO8 from_matrix_unchecked(const Mat8<S>& m) { return SO8(m); }

  /// The principal logarithm, |angles| <= pi. Not unique at pi (see so8t/so8/logm.hpp and the overload below).
  SO8T_HOST_DEVICE so8<S> log() const { return log_rotation(R_); }

  /// log, and what it found: angles and whether an angle is at or near pi (report->near_pi).
  SO8T_HOST_DEVICE so8<S> log(LogReport<S>* report, S pi_tolerance = default_pi_tolerance<S>()) const {
    return log_rotation(R_, report, pi_tolerance);
  }

  /// R^T.
  SO8T_HOST_DEVICE SO8 inverse() const { return SO8(R_.transpose()); }

  /// Composition: (this * other) acts as other first, then this.
  SO8T_HOST_DEVICE SO8 operator*(const SO8& other) const { return SO8(R_ * other.R_); }

  /// Action on a vector: R x.
  SO8T_HOST_DEVICE Vec8<S> operator*(const Vec8<S>& x) const { return R_ * x; }

  SO8T_HOST_DEVICE const Mat8<S>& matrix() const { return R_; }

  /// ||R^T R - I||_F (computed in double).
  SO8T_HOST_DEVICE S orthogonality_error() const { return so8t::orthogonality_error(R_); }

  /// Projects back onto SO(8) (nearest rotation, polar factor) to remove accumulated drift.
  SO8T_HOST_DEVICE void normalize() { R_ = nearest_rotation(R_); }

  template <class T>
  SO8T_HOST_DEVICE SO8<T> cast() const {
    return SO8<T>::from_matrix_unchecked(R_.template cast<T>());
  }

 private:
  SO8T_HOST_DEVICE explicit SO8(const Mat8<S>& m) : R_(m) {}
  Mat8<S> R_;
};

using SO8f = SO8<float>;
using SO8d = SO8<double>;
using so8f = so8<float>;
using so8d = so8<double>;

}  // namespace so8t
