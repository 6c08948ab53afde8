// so8t/so8/octonion.hpp: octonion multiplication on R^8 (basis e0 = 1, e1..e7).
//
// Convention (Baez, "The Octonions", Bull. AMS 39 (2002) 145-205, §2.1): e_i^2 = -1, e_i e_j = -e_j e_i
// for i != j >= 1, and e_i e_{i+1} = e_{i+3} (indices mod 7 in 1..7). The 7 oriented lines are
// (1,2,4) (2,3,5) (3,4,6) (4,5,7) (5,6,1) (6,7,2) (7,1,3), each cyclic: e_a e_b = e_c, e_b e_c = e_a,
// e_c e_a = e_b. Row e1 of the table: e1e2 = e4, e1e3 = e7, e1e4 = -e2, e1e5 = e6, e1e6 = -e5, e1e7 = -e3.
#pragma once

#include "so8t/so8/mat8.hpp"

namespace so8t {

/// e_a e_b = sign * e_index. Returns the sign (+1 or -1) and writes the index.
SO8T_HOST_DEVICE constexpr int octonion_basis_product(int a, int b, int* index) {
  if (a == 0) {
    *index = b;
    return 1;
  }
  if (b == 0) {
    *index = a;
    return 1;
  }
  if (a == b) {
    *index = 0;
    return -1;
  }
  for (int i = 1; i <= 7; ++i) {
    const int p = i, q = i % 7 + 1, r = (i + 2) % 7 + 1;  // (i, i+1, i+3) mod 7 in 1..7
    if (a == p && b == q) { *index = r; return 1; }
    if (a == q && b == r) { *index = p; return 1; }
    if (a == r && b == p) { *index = q; return 1; }
    if (a == q && b == p) { *index = r; return -1; }
    if (a == r && b == q) { *index = p; return -1; }
    if (a == p && b == r) { *index = q; return -1; }
  }
  *index = 0;  // unreachable for a, b in 0..7
  return 0;
}

/// x y.
template <class S>
SO8T_HOST_DEVICE Vec8<S> octonion_mul(const Vec8<S>& x, const Vec8<S>& y) {
  Vec8<S> z = Vec8<S>::zero();
  for (int a = 0; a < 8; ++a)
    for (int b = 0; b < 8; ++b) {
      int c = 0;
      const int sign = octonion_basis_product(a, b, &c);
      const S p = fp::mul(x[a], y[b]);
      z[c] = sign > 0 ? fp::add(z[c], p) : fp::sub(z[c], p);
    }
  return z;
}

/// Conjugate: x0 e0 - x1 e1 - ... - x7 e7.
template <class S>
SO8T_HOST_DEVICE Vec8<S> octonion_conj(const Vec8<S>& x) {
  Vec8<S> r = x;
  for (int i = 1; i < 8; ++i) r[i] = -x[i];
  return r;
}

namespace detail {
/// The matrix of y -> u y (u_on_left) or x -> x u: column col is the product with basis element e_col.
template <class S>
SO8T_HOST_DEVICE Mat8<S> octonion_multiplication_matrix(const Vec8<S>& u, bool u_on_left) {
  Mat8<S> m = Mat8<S>::zero();
  for (int a = 0; a < 8; ++a)
    for (int col = 0; col < 8; ++col) {
      int r = 0;
      const int sign = u_on_left ? octonion_basis_product(a, col, &r) : octonion_basis_product(col, a, &r);
      m(r, col) = sign > 0 ? fp::add(m(r, col), u[a]) : fp::sub(m(r, col), u[a]);
    }
  return m;
}
}  // namespace detail

/// The matrix of y -> u y.
template <class S>
SO8T_HOST_DEVICE Mat8<S> octonion_left_matrix(const Vec8<S>& u) {
  return detail::octonion_multiplication_matrix(u, true);
}

/// The matrix of x -> x u.
template <class S>
SO8T_HOST_DEVICE Mat8<S> octonion_right_matrix(const Vec8<S>& u) {
  return detail::octonion_multiplication_matrix(u, false);
}

/// L_{e_i}: left multiplication by a basis element, a signed permutation.
template <class S>
SO8T_HOST_DEVICE Mat8<S> octonion_left_basis_matrix(int i) {
  Vec8<S> e = Vec8<S>::zero();
  e[i] = S(1);
  return octonion_left_matrix(e);
}

}  // namespace so8t
