// so8t/so8/triality.hpp: the two half-spin representations of so(8) and the triality automorphism.
//
// Construction (so8-math-and-style.md §1f; Baez, "The Octonions", §2.4 and §4.3): on the spinor space
// O + O, gamma(v) = [[0, L_v], [L_conj(v), 0]] generates Cl(8,0), and sigma(a) = (1/4) sum_ij a_ij gamma_i
// gamma_j is block-diagonal with two so(8) blocks. Per basis generator E_ij (i < j):
//     sigma_plus(E_ij)  = (1/2) L_{e_i} L_{e_j}^T   (top block, chirality -1 with Gamma = gamma_0...gamma_7)
//     sigma_minus(E_ij) = (1/2) L_{e_i}^T L_{e_j}   (bottom block, chirality +1)
// The names follow their roles in the local triality identity (tested), for octonions x, y:
//     sigma_plus(a) (x y) = (a x) y + x (sigma_minus(a) y)
// and its group form exp(sigma_plus a)(x y) = (exp(a) x)(exp(sigma_minus a) y). A rotation R determines
// the spin pair only up to a common sign (Spin(8) -> SO(8) is 2:1): see spin_lift.
// triality_automorphism = sigma_minus is the outer automorphism of order 3 (T T T = id); on the 28
// coordinates it is an orthogonal matrix with entries in {0, +-1/2}, trace 7, fixing the 14-dim g2.
#pragma once

#include "so8t/so8/octonion.hpp"
#include "so8t/so8/algebra.hpp"
#include "so8t/so8/group.hpp"

namespace so8t {

namespace detail {
template <class S, bool kPlus>
SO8T_HOST_DEVICE so8<S> half_spin(const so8<S>& a) {
  Mat8<S> L[8];
  for (int i = 0; i < 8; ++i) L[i] = octonion_left_basis_matrix<S>(i);
  Mat8<S> acc = Mat8<S>::zero();
  for (int k = 0; k < 28; ++k) {
    if (a[k] == S(0)) continue;
    const int i = so8_row(k), j = so8_col(k);
    const Mat8<S> g = kPlus ? L[i] * L[j].transpose() : transpose_times(L[i], L[j]);
    axpy(fp::mul(S(0.5), a[k]), g, acc);
  }
  return so8<S>::vee_unchecked(acc);
}
}  // namespace detail

/// Half-spin representation on the top summand (acts on the product x y in the triality identity).
template <class S>
SO8T_HOST_DEVICE so8<S> sigma_plus(const so8<S>& a) {
  return detail::half_spin<S, true>(a);
}

/// Half-spin representation on the bottom summand (acts on the right factor y).
template <class S>
SO8T_HOST_DEVICE so8<S> sigma_minus(const so8<S>& a) {
  return detail::half_spin<S, false>(a);
}

/// The order-3 triality automorphism T of so(8): T(T(T(a))) = a, T([a, b]) = [T a, T b].
template <class S>
SO8T_HOST_DEVICE so8<S> triality_automorphism(const so8<S>& a) {
  return sigma_minus(a);
}

/// A rotation and its two spinor partners: (vector, plus, minus) with plus(x y) = vector(x) minus(y).
template <class S>
struct TrialityTriple {
  SO8<S> vector;
  SO8<S> plus;
  SO8<S> minus;
};

/// The group lift of a Lie algebra element: (exp a, exp sigma_plus(a), exp sigma_minus(a)). Exact sign.
template <class S>
SO8T_HOST_DEVICE TrialityTriple<S> spin_lift(const so8<S>& a) {
  return TrialityTriple<S>{SO8<S>::exp(a), SO8<S>::exp(sigma_plus(a)), SO8<S>::exp(sigma_minus(a))};
}

/// The lift of a rotation, through its logarithm. Defined only up to a common sign of (plus, minus): the
/// pair (-plus, -minus) satisfies the same identity. At an angle pi the choice of log picks the sign.
template <class S>
SO8T_HOST_DEVICE TrialityTriple<S> spin_lift(const SO8<S>& R) {
  const so8<S> a = R.log();
  return TrialityTriple<S>{R, SO8<S>::exp(sigma_plus(a)), SO8<S>::exp(sigma_minus(a))};
}

}  // namespace so8t
