// so8t/so8/logm.hpp: the logarithm SO(8) -> so(8), spectral method with an explicit branch at pi.
//
// R = exp(A) turns four invariant planes by angles theta_1..4 in [0, pi]. With S = (R + R^T)/2 (eigenvalues
// cos theta, each twice) and K = (R - R^T)/2 (commutes with S): for an eigenvector v of S, |K v| = sin theta
// and log R = sum_k (theta_k / sin theta_k) K v_k v_k^T, theta_k = atan2(|K v_k|, c_k) (atan2, never acos,
// for accuracy near 0 and pi). so8-math-and-style.md §1d.
//
// At theta = pi the plane's orientation is lost (sin theta = 0) and log is not unique: both +pi J and -pi J
// (and, with several planes at pi, a continuum) exponentiate to R. Planes within `pi_tolerance` of pi are
// therefore paired explicitly (partner v2 = K v1 / |K v1| when that is defined, else a fixed choice; done for
// every angle above 3pi/4), exp(log R) = R still holds, and LogReport says when an angle is within
// pi_tolerance of pi (near_pi) or exactly at pi to rounding (ambiguous).
#pragma once

#include "so8t/so8/jacobi8.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/base/scalar_math.hpp"
#include "so8t/so8/algebra.hpp"
#include "so8t/base/traits.hpp"

namespace so8t {

/// What log found out about its input.
template <class S>
struct LogReport {
  S angles[4];     ///< rotation angles of the invariant planes, descending, in [0, pi]
  S max_angle;     ///< angles[0]
  bool near_pi;    ///< an angle is within pi_tolerance of pi: log is ill-conditioned (error ~ eps / (pi - theta))
  bool ambiguous;  ///< a plane is at pi to rounding: its orientation was chosen, not read from R (log not unique)
};

/// Default tolerance for LogReport::near_pi: sqrt(eps), where the log's error reaches about sqrt(eps).
template <class S>
SO8T_HOST_DEVICE constexpr S default_pi_tolerance() {
  return sizeof(S) == 4 ? S(3.4526698e-4) : S(1.4901161193847656e-8);  // sqrt(eps) of S
}

namespace detail {

template <class S>
SO8T_HOST_DEVICE S dot8(const Vec8<S>& x, const Vec8<S>& y) {
  S acc = fp::mul(x[0], y[0]);
  for (int i = 1; i < 8; ++i) acc = fp::madd(acc, x[i], y[i]);
  return acc;
}

/// acc += f * (u v^T)
template <class S>
SO8T_HOST_DEVICE void add_outer(S f, const Vec8<S>& u, const Vec8<S>& v, Mat8<S>& acc) {
  for (int i = 0; i < 8; ++i) {
    const S fu = fp::mul(f, u[i]);
    for (int j = 0; j < 8; ++j) acc(i, j) = fp::madd(acc(i, j), fu, v[j]);
  }
}

}  // namespace detail

namespace detail {

template <class S>
SO8T_HOST_DEVICE so8<S> log_rotation_impl(const Mat8<S>& R, LogReport<S>* report, S pi_tolerance) {
  using detail::dot8;
  Mat8<S> Sym, K;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) {
      Sym(i, j) = fp::mul(S(0.5), fp::add(R(i, j), R(j, i)));
      K(i, j) = fp::mul(S(0.5), fp::sub(R(i, j), R(j, i)));
    }
  S c[8];
  Mat8<S> V;
  symmetric_eigen(Sym, c, V);  // ascending cosines: planes nearest pi first

  const S pi = ScalarTraits<S>::pi;
  // Classify by angle, not by cosine: 1 - cos(tol) is below rounding for tol < sqrt(eps).
  const S angle_limit = fp::sub(pi, pi_tolerance);
  Mat8<S> acc = Mat8<S>::zero();
  S theta;
  bool ambiguous = false;
  bool near_pi = false;

  Vec8<S> near[8];  // orthonormal basis of the eigenspaces with angle > 3pi/4
  int n_near = 0;
  for (int k = 0; k < 8; ++k) {
    Vec8<S> v;
    for (int i = 0; i < 8; ++i) v[i] = V(i, k);
    const Vec8<S> u = K * v;
    const S s = smath::sqrt(dot8(u, u));
    theta = smath::atan2(s, c[k]);
    if (theta > angle_limit) near_pi = true;
    if (c[k] < S(-0.7071067811865476)) {  // theta > 3pi/4: paired below (theta / sin(theta) would amplify rounding)
      near[n_near++] = v;
      continue;
    }
    // theta / sin(theta), with the series 1 + theta^2/6 where sin theta is below rounding.
    const S f = s > S(64) * ScalarTraits<S>::epsilon ? theta / s : fp::madd(S(1), fp::mul(theta, theta), S(1) / S(6));
    detail::add_outer(f, u, v, acc);
  }

  // Pair the eigenspaces with angles above 3pi/4 into planes (v1, v2 = K v1 / |K v1|, an invariant plane
  // since K maps each eigenspace of S to itself) and add theta (v2 v1^T - v1 v2^T) for each. Near pi this
  // keeps exp(log R) = R to about eps + (pi - theta) even where log itself is ill-conditioned.
  while (n_near >= 2) {
    const Vec8<S> v1 = near[0];
    const Vec8<S> kv1 = K * v1;
    // Component of K v1 inside the rest of the eigenspace (K maps it to itself up to rounding).
    Vec8<S> u = Vec8<S>::zero();
    for (int t = 1; t < n_near; ++t) {
      const S coef = dot8(kv1, near[t]);
      for (int i = 0; i < 8; ++i) u[i] = fp::madd(u[i], coef, near[t][i]);
    }
    const S su = smath::sqrt(dot8(u, u));
    Vec8<S> v2;
    if (su > S(64) * ScalarTraits<S>::epsilon) {
      for (int i = 0; i < 8; ++i) v2[i] = u[i] / su;
    } else {
      ambiguous = true;  // exactly pi: any orientation is a logarithm; take the next basis vector
      v2 = near[1];
    }
    const S ang = smath::atan2(smath::sqrt(dot8(kv1, kv1)), dot8(v1, Sym * v1));
    detail::add_outer(ang, v2, v1, acc);
    detail::add_outer(-ang, v1, v2, acc);
    // Orthonormal basis of what is left: remove v1 and v2 from the others, modified Gram-Schmidt.
    Vec8<S> rest[8];
    int n_rest = 0;
    for (int t = 1; t < n_near && n_rest < n_near - 2; ++t) {
      Vec8<S> w = near[t];
      const S a1 = dot8(w, v1), a2 = dot8(w, v2);
      for (int i = 0; i < 8; ++i) w[i] = fp::msub(fp::msub(w[i], a1, v1[i]), a2, v2[i]);
      for (int r = 0; r < n_rest; ++r) {
        const S ar = dot8(w, rest[r]);
        for (int i = 0; i < 8; ++i) w[i] = fp::msub(w[i], ar, rest[r][i]);
      }
      const S nw = smath::sqrt(dot8(w, w));
      if (nw > S(0.25)) {
        for (int i = 0; i < 8; ++i) w[i] = w[i] / nw;
        rest[n_rest++] = w;
      }
    }
    for (int r = 0; r < n_rest; ++r) near[r] = rest[r];
    n_near = n_rest;
  }
  // (An odd leftover means det R = -1: not a rotation; nothing sensible to add.)

  const so8<S> result = so8<S>::vee_unchecked(acc);
  if (report) {
    // Angles of the result (eigenvalues of A^T A are theta^2, each twice). Read from the logarithm rather
    // than from the per-eigenvector atan2 above: at tiny, nearly equal angles the eigenvectors of S mix
    // planes, which the log's formula tolerates but a per-vector angle does not.
    const Mat8<S> A = result.hat();
    S mu[8];
    Mat8<S> W;
    symmetric_eigen(transpose_times(A, A), mu, W);  // ascending
    for (int p = 0; p < 4; ++p) {
      const S m = fp::mul(S(0.5), fp::add(mu[7 - 2 * p], mu[6 - 2 * p]));
      const S t = smath::sqrt(m > S(0) ? m : S(0));
      report->angles[p] = t > pi ? pi : t;
    }
    report->max_angle = report->angles[0];
    report->near_pi = near_pi;
    report->ambiguous = ambiguous;
  }
  return result;
}

}  // namespace detail

/// log of a rotation matrix (no check that R is in SO(8): garbage in, garbage out; see SO8::from_matrix).
/// Computed in double for float input: the eigenvectors of S in float would add ~1e-5 relative error at
/// angles near 3, ten times the conditioning of log itself (measured in tests/test_logm.cpp).
template <class S>
SO8T_HOST_DEVICE so8<S> log_rotation(const Mat8<S>& R, LogReport<S>* report = nullptr,
                                     S pi_tolerance = default_pi_tolerance<S>()) {
  LogReport<double> rep;
  const so8<double> a =
      detail::log_rotation_impl(R.template cast<double>(), report ? &rep : nullptr, double(pi_tolerance));
  if (report) {
    for (int p = 0; p < 4; ++p) report->angles[p] = static_cast<S>(rep.angles[p]);
    report->max_angle = static_cast<S>(rep.max_angle);
    report->near_pi = rep.near_pi;
    report->ambiguous = rep.ambiguous;
  }
  return a.template cast<S>();
}

}  // namespace so8t
