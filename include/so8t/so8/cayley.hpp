// so8t/so8/cayley.hpp: the Cayley map so(8) -> SO(8), R = (I - A)^-1 (I + A), its inverse and its VJP.
//
// Facts (so8-math-and-style.md §1c.1): I - A is invertible for every skew A (eigenvalues 1 - i theta); the
// angle of each plane is phi = 2 atan(theta), so Cayley never reaches pi and agrees with exp(2A) to second
// order (use cayley(a * 0.5) to match exp(a) near 0, as geotorch and torch do). The inverse
// A = (R + I)^-1 (R - I) exists only when -1 is not an eigenvalue of R.
// VJP: dR = 2 (I - A)^-1 dA (I - A)^-1, hence Abar = 2 (I + A)^-1 G (I + A)^-1.
// PEFT OFT's exact branch (I - Q)(I + Q)^-1 is this R transposed: R_so8t = R_PEFT^T for the same Q.
#pragma once

#include <string>

#include "so8t/base/errors.hpp"
#include "so8t/so8/exp_vjp.hpp"
#include "so8t/so8/lu8.hpp"
#include "so8t/so8/group.hpp"

namespace so8t {

/// R = (I - A)^-1 (I + A).
template <class S>
SO8T_HOST_DEVICE SO8<S> cayley(const so8<S>& a) {
  const Mat8<S> A = a.hat();
  Mat8<S> ImA = -A, IpA = A;
  add_diagonal(S(1), ImA);
  add_diagonal(S(1), IpA);
  return SO8<S>::from_matrix_unchecked(LU8<S>(ImA).solve(IpA));
}

/// Gradient on the 28 coordinates of a loss through R = cayley(a), given dL_dR.
template <class S>
SO8T_HOST_DEVICE so8<S> cayley_vjp(const so8<S>& a, const Mat8<S>& dL_dR) {
  Mat8<S> ImA = -a.hat();
  add_diagonal(S(1), ImA);
  const LU8<S> lu(ImA);                                     // I + A = (I - A)^T
  const Mat8<S> X = lu.solve_transpose(dL_dR);              // (I + A)^-1 G
  const Mat8<S> Y = lu.solve(X.transpose()).transpose();    // X (I + A)^-1
  return skew_gradient(S(2) * Y);
}

/// A = (R + I)^-1 (R - I), device form: `*status` is Status::singular when R has an eigenvalue at -1
/// (to 64 eps in the LU pivots), and the returned coordinates are then meaningless.
template <class S>
SO8T_HOST_DEVICE so8<S> cayley_inverse_checked(const Mat8<S>& R, Status* status) {
  Mat8<S> RpI = R, RmI = R;
  add_diagonal(S(1), RpI);
  add_diagonal(S(-1), RmI);
  const LU8<S> lu(RpI);
  const bool singular = lu.singular() || !(lu.pivot_ratio() > S(64) * ScalarTraits<S>::epsilon);
  *status = singular ? Status::singular : Status::ok;
  if (singular) return so8<S>();
  return so8<S>::vee_unchecked(lu.solve(RmI));
}

/// Inverse Cayley map; throws SingularMatrix when R turns some plane by pi (eigenvalue -1).
template <class S>
so8<S> cayley_inverse(const SO8<S>& R) {
  Status st;
  so8<S> a = cayley_inverse_checked(R.matrix(), &st);
  if (st != Status::ok) {
    LogReport<S> rep;
    (void)R.log(&rep);
    throw SingularMatrix("so8t::cayley_inverse: R has eigenvalue -1 (largest angle " +
                         std::to_string(double(rep.max_angle)) + " rad, pi is outside the Cayley image)");
  }
  return a;
}

}  // namespace so8t
