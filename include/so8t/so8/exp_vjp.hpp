// so8t/so8/exp_vjp.hpp: the gradient of a loss through R = exp(hat a) with respect to the 28 coordinates.
//
// For a cotangent G = dL/dR, dL/dA = L(A^T, G) (the adjoint of the Fréchet derivative; Mathias 1996) and
// A^T = -A for skew A. Chaining through hat: dL/da_ij = Abar_ij - Abar_ji (i < j).
// L is computed analytically by the coupled Padé recursion (so8t/so8/expm.hpp), never by finite differences.
#pragma once

#include "so8t/so8/expm.hpp"
#include "so8t/so8/algebra.hpp"

namespace so8t {

/// Gradient on the 28 coordinates from a cotangent on the matrix: g_ij = Abar_ij - Abar_ji (i < j).
/// Also the chain rule through hat for any other map of hat(a) (Cayley uses it too).
template <class S>
SO8T_HOST_DEVICE so8<S> skew_gradient(const Mat8<S>& Abar) {
  so8<S> g;
  for (int k = 0; k < 28; ++k) {
    const int i = so8_row(k), j = so8_col(k);
    g[k] = fp::sub(Abar(i, j), Abar(j, i));
  }
  return g;
}

/// d/da of a loss, given dL_dR at R = exp(hat a).
template <class S>
SO8T_HOST_DEVICE so8<S> exp_vjp(const so8<S>& a, const Mat8<S>& dL_dR) {
  Mat8<S> Abar;
  (void)expm_frechet((-a).hat(), dL_dR, &Abar);  // L(-A, G)
  return skew_gradient(Abar);
}

/// exp and its VJP from one recursion: *R = exp(-A)^T = exp(A), equal to SO8::exp(a) up to rounding (not
/// bit for bit: the Padé quotient is evaluated in the other order).
template <class S>
SO8T_HOST_DEVICE so8<S> exp_and_vjp(const so8<S>& a, const Mat8<S>& dL_dR, Mat8<S>* R) {
  Mat8<S> Abar;
  *R = expm_frechet((-a).hat(), dL_dR, &Abar).transpose();
  return skew_gradient(Abar);
}

}  // namespace so8t
