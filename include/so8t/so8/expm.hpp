// so8t/so8/expm.hpp: exp of an 8x8 matrix and its Fréchet derivative, by Padé scaling and squaring.
//
// Forward: Higham, "The scaling and squaring method for the matrix exponential revisited", SIAM J.
// Matrix Anal. Appl. 26 (2005) 1179-1193, with the degree chosen from ||A||_1 per scalar type (Eigen's
// table, so8t/base/traits.hpp): r_m(A) = (V - U)^-1 (V + U), U odd and V even in A. For skew A, V - U =
// (V + U)^T, so r_m(A) is orthogonal up to rounding at any degree (so8-math-and-style.md §1a.3).
//
// Derivative: Al-Mohy & Higham, "Computing the Fréchet derivative of the matrix exponential, with an
// application to condition number estimation", SIAM J. Matrix Anal. Appl. 30 (2009) 1639-1657: the pair
// (X, L) goes through the same recursion with the product rule, dR = Q^-1 (dP - dQ R), and each squaring
// maps (X, L) to (X^2, X L + L X). The scaling s depends on A only, so L is exactly linear in E.
//
// Accuracy for skew A (tests/test_expm.cpp, against Eigen's long-double exp): with every rotation angle <= pi,
// ||R^T R - I||_F <= 2e-6 (float, measured 1.4e-6) and <= 1e-13 (double, measured 2.4e-15). Beyond pi each of
// the s squarings doubles the inherited error: ||R^T R - I||_F <= c 2^s with c = 1.5e-6 (float), 3e-15
// (double); angle 100 needs s = 6 and gives 2.5e-5 / 3.6e-14. Reduce angles modulo 2 pi upstream if that matters.
#pragma once

#include <type_traits>

#include "so8t/so8/lu8.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/base/scalar_math.hpp"
#include "so8t/base/traits.hpp"

namespace so8t {

/// The degree and number of squarings exp uses for a matrix of 1-norm `l1`.
template <class S>
SO8T_HOST_DEVICE ExpPlan exp_plan(S l1) {
  static_assert(std::is_same<S, float>::value || std::is_same<S, double>::value, "exp: float or double");
  double theta;
  int degree;
  if constexpr (std::is_same<S, float>::value) {
    if (l1 < 4.258730016922831e-1f) return ExpPlan{3, 0};
    if (l1 < 1.880152677804762e+0f) return ExpPlan{5, 0};
    degree = 7;
    theta = 3.925724783138660e+0;
  } else {
    if (l1 < 1.495585217958292e-2) return ExpPlan{3, 0};
    if (l1 < 2.539398330063230e-1) return ExpPlan{5, 0};
    if (l1 < 9.504178996162932e-1) return ExpPlan{7, 0};
    if (l1 < 2.097847961257068e+0) return ExpPlan{9, 0};
    degree = 13;
    theta = 5.371920351148152e+0;
  }
  if (!smath::is_finite(l1)) return ExpPlan{degree, 0};  // NaN or Inf propagate without a huge loop
  // s = smallest power of two that brings ||A||_1 / 2^s below theta (Eigen's frexp rule).
  int s = smath::frexp_exponent(double(l1) / theta);
  return ExpPlan{degree, s < 0 ? 0 : s};
}

namespace detail {

/// Sum_k coef[k] * P[k] + c0 I over the given powers, accumulated from the highest power down.
template <class S>
SO8T_HOST_DEVICE Mat8<S> pade_poly(int m, int first, const Mat8<S>* const* powers, int count) {
  // powers[t] is A^(2t+2); coefficients b_{first + 2(t+1)}; identity term b_first.
  Mat8<S> r = S(pade_coefficient(m, first + 2 * count)) * *powers[count - 1];
  for (int t = count - 2; t >= 0; --t) axpy(S(pade_coefficient(m, first + 2 * (t + 1))), *powers[t], r);
  add_diagonal(S(pade_coefficient(m, first)), r);
  return r;
}

/// Same linear combination over derivatives (no identity term).
template <class S>
SO8T_HOST_DEVICE Mat8<S> pade_poly_deriv(int m, int first, const Mat8<S>* const* dpowers, int count) {
  Mat8<S> r = S(pade_coefficient(m, first + 2 * count)) * *dpowers[count - 1];
  for (int t = count - 2; t >= 0; --t) axpy(S(pade_coefficient(m, first + 2 * (t + 1))), *dpowers[t], r);
  return r;
}

/// U, V of the Padé approximant (and their derivatives dU, dV when kDeriv).
template <class S, bool kDeriv>
struct PadeParts {
  Mat8<S> U, V, dU, dV;
};
template <class S>
struct PadeParts<S, false> {
  Mat8<S> U, V;
};

/// Degrees 3, 5, 7, 9: the parts from the even powers A^2 .. A^(m-1). Float never needs more than three
/// powers (degree <= 7, exp_plan), so it does not hold a fourth.
template <class S, bool kDeriv>
SO8T_HOST_DEVICE_CALL void pade_parts_low(int m, const Mat8<S>& A, const Mat8<S>& E, PadeParts<S, kDeriv>& out) {
  constexpr int kMaxPowers = std::is_same<typename ScalarOf<S>::type, float>::value ? 3 : 4;
  const int count = (m - 1) / 2;  // number of even powers A^2 .. A^(m-1)
  Mat8<S> pw_[kMaxPowers];
  const Mat8<S>* pw[kMaxPowers];
  pw_[0] = A * A;
  for (int t = 1; t < count && t < kMaxPowers; ++t) pw_[t] = pw_[t - 1] * pw_[0];
  for (int t = 0; t < kMaxPowers; ++t) pw[t] = &pw_[t];
  const Mat8<S> W = pade_poly(m, 1, pw, count);  // b1 I + b3 A^2 + ... + bm A^(m-1)
  out.V = pade_poly(m, 0, pw, count);            // b0 I + b2 A^2 + ... + b(m-1) A^(m-1)
  out.U = A * W;
  if constexpr (kDeriv) {
    Mat8<S> dpw_[kMaxPowers];
    const Mat8<S>* dpw[kMaxPowers];
    dpw_[0] = product_sum(A, E, E, A);  // d(A^2) = A E + E A
    for (int t = 1; t < count && t < kMaxPowers; ++t)
      dpw_[t] = product_sum(pw_[t - 1], dpw_[0], dpw_[t - 1], pw_[0]);  // d(A^2t A^2) = A^2t dA^2 + dA^2t A^2
    for (int t = 0; t < kMaxPowers; ++t) dpw[t] = &dpw_[t];
    const Mat8<S> dW = pade_poly_deriv(m, 1, dpw, count);
    out.dV = pade_poly_deriv(m, 0, dpw, count);
    out.dU = product_sum(A, dW, E, W);  // A dW + E W
  }
}

/// Degree 13, Higham's evaluation with A^2, A^4, A^6.
template <class S, bool kDeriv>
SO8T_HOST_DEVICE_CALL void pade_parts_13(const Mat8<S>& A, const Mat8<S>& E, PadeParts<S, kDeriv>& out) {
  const Mat8<S> A2 = A * A;
  const Mat8<S> A4 = A2 * A2, A6 = A4 * A2;
  const Mat8<S>* pw[3] = {&A2, &A4, &A6};
  auto comb = [&](int k6, int k4, int k2, const Mat8<S>* const* p) {
    Mat8<S> r = S(pade_coefficient(13, k6)) * *p[2];
    axpy(S(pade_coefficient(13, k4)), *p[1], r);
    axpy(S(pade_coefficient(13, k2)), *p[0], r);
    return r;
  };
  Mat8<S> W2 = comb(7, 5, 3, pw);
  add_diagonal(S(pade_coefficient(13, 1)), W2);
  Mat8<S> Z2 = comb(6, 4, 2, pw);
  add_diagonal(S(pade_coefficient(13, 0)), Z2);
  const Mat8<S> W1 = comb(13, 11, 9, pw), Z1 = comb(12, 10, 8, pw);
  const Mat8<S> W = product_plus(A6, W1, W2);  // A6 W1 + W2
  out.V = product_plus(A6, Z1, Z2);             // A6 Z1 + Z2
  out.U = A * W;
  if constexpr (kDeriv) {
    const Mat8<S> dA2 = product_sum(A, E, E, A);
    const Mat8<S> dA4 = product_sum(A2, dA2, dA2, A2);
    const Mat8<S> dA6 = product_sum(A4, dA2, dA4, A2);
    const Mat8<S>* dpw[3] = {&dA2, &dA4, &dA6};
    const Mat8<S> dW1 = comb(13, 11, 9, dpw), dZ1 = comb(12, 10, 8, dpw);
    const Mat8<S> dW2 = comb(7, 5, 3, dpw), dZ2 = comb(6, 4, 2, dpw);
    const Mat8<S> dW = product_sum(dA6, W1, A6, dW1) + dW2;  // dA6 W1 + A6 dW1 + dW2
    out.dV = product_sum(dA6, Z1, A6, dZ1) + dZ2;
    out.dU = product_sum(A, dW, E, W);
  }
}

/// The Padé quotient from its parts: R = (V - U)^-1 (V + U) and, when kDeriv, L = (V - U)^-1 ((dV + dU) -
/// (dV - dU) R).
template <class S, bool kDeriv>
SO8T_HOST_DEVICE_CALL Mat8<S> pade_quotient(const PadeParts<S, kDeriv>& p, Mat8<S>* L) {
  const typename LUFor<S>::type q(p.V - p.U);
  const Mat8<S> R = q.solve(p.V + p.U);
  if constexpr (kDeriv) *L = q.solve(sum_minus_difference_times(p.dV, p.dU, R));
  return R;
}

/// exp(A) and, when kDeriv, L(A, E). A and E are already scaled by 2^-s. The parts and the quotient are
/// separate calls, so a GPU thread's stack holds the parts plus one of them at a time, not all of their
/// matrices together (float never takes degree 13, exp_plan, and does not compile it).
template <class S, bool kDeriv>
SO8T_HOST_DEVICE_CALL Mat8<S> pade_exp(int m, const Mat8<S>& A, const Mat8<S>& E, Mat8<S>* L) {
  PadeParts<S, kDeriv> parts;
  if constexpr (std::is_same<typename ScalarOf<S>::type, float>::value) {
    pade_parts_low<S, kDeriv>(m, A, E, parts);
  } else {
    if (m <= 9)
      pade_parts_low<S, kDeriv>(m, A, E, parts);
    else
      pade_parts_13<S, kDeriv>(A, E, parts);
  }
  return pade_quotient<S, kDeriv>(parts, L);
}

/// exp(A) (and L(A, E) when kDeriv) with a given plan: scale by 2^-s, Padé of that degree, s squarings.
template <class S, bool kDeriv>
SO8T_HOST_DEVICE Mat8<S> expm_with_plan(ExpPlan plan, const Mat8<S>& A, const Mat8<S>& E, Mat8<S>* L) {
  using Scalar = typename ScalarOf<S>::type;
  const S scale = S(smath::ldexp(Scalar(1), -plan.squarings));
  const Mat8<S> As = plan.squarings > 0 ? scale * A : A;
  Mat8<S> Es;
  if constexpr (kDeriv) Es = plan.squarings > 0 ? scale * E : E;
  Mat8<S> R = pade_exp<S, kDeriv>(plan.degree, As, Es, L);
  for (int k = 0; k < plan.squarings; ++k) {
    if constexpr (kDeriv) *L = product_sum(R, *L, *L, R);  // R L + L R
    R = R * R;
  }
  return R;
}

template <class S, bool kDeriv>
SO8T_HOST_DEVICE Mat8<S> expm_impl(const Mat8<S>& A, const Mat8<S>& E, Mat8<S>* L) {
  return expm_with_plan<S, kDeriv>(exp_plan(norm1(A)), A, E, L);
}

}  // namespace detail

/// exp(A) for any 8x8 matrix A.
template <class S>
SO8T_HOST_DEVICE Mat8<S> expm(const Mat8<S>& A) {
  return detail::expm_impl<S, false>(A, A, nullptr);
}

/// exp(A), and L(A, E) = d/dt exp(A + t E) at t = 0 in *L.
template <class S>
SO8T_HOST_DEVICE Mat8<S> expm_frechet(const Mat8<S>& A, const Mat8<S>& E, Mat8<S>* L) {
  return detail::expm_impl<S, true>(A, E, L);
}

}  // namespace so8t
