// Independent references for the SO(8) tests: Eigen's own matrix exponential in long double (80-bit on
// x86-64, about 1e-19), Mathias' block-triangular form of the Fréchet derivative, and random inputs with
// prescribed rotation angles. Nothing here calls so8t's exp, log or LU. The heavy Eigen instantiations
// (MatrixFunctions in long double) live in oracles.cpp, compiled once into so8t_test_support.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cmath>
#include <random>

#include "so8t/so8.hpp"

namespace so8t_test {

using LD = long double;
using MatL = Eigen::Matrix<LD, 8, 8>;
using Mat16L = Eigen::Matrix<LD, 16, 16>;

template <class S>
MatL to_ld(const so8t::Mat8<S>& m) {
  MatL r;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) r(i, j) = LD(m(i, j));
  return r;
}

/// hat() written out from the definition (not so8t's): c_k at (i_k, j_k) for the row-major upper triangle.
template <class S>
MatL hat_ld(const so8t::so8<S>& a) {
  MatL A = MatL::Zero();
  int k = 0;
  for (int i = 0; i < 8; ++i)
    for (int j = i + 1; j < 8; ++j, ++k) {
      A(i, j) = LD(a[k]);
      A(j, i) = -LD(a[k]);
    }
  return A;
}

/// exp(A) by Eigen's unsupported MatrixExponential in long double.
MatL exp_ref(const MatL& A);

/// L(A, E) from the top-right block of exp([[A, E], [0, A]]) (Mathias 1996), E normalised first.
MatL frechet_ref(const MatL& A, const MatL& E);

/// Max |x - y| over entries.
inline LD max_abs_diff(const MatL& x, const MatL& y) { return (x - y).cwiseAbs().maxCoeff(); }

/// A random orthogonal 8x8 matrix (QR of a Gaussian matrix, signs fixed so it is Haar-distributed).
MatL random_orthogonal(std::mt19937_64& rng);

/// The skew matrix that turns plane (q_2k, q_2k+1) by theta_k, in long double.
MatL skew_with_angles(const MatL& Q, const std::array<LD, 4>& theta);

/// so8 coordinates of a long double skew matrix, rounded to S.
template <class S>
so8t::so8<S> coords_of(const MatL& A) {
  so8t::so8<S> a;
  int k = 0;
  for (int i = 0; i < 8; ++i)
    for (int j = i + 1; j < 8; ++j, ++k) a[k] = S(A(i, j));
  return a;
}

/// Random coordinates whose rotation angles are exactly `theta` (before rounding to S).
template <class S>
so8t::so8<S> random_with_angles(std::mt19937_64& rng, const std::array<LD, 4>& theta) {
  return coords_of<S>(skew_with_angles(random_orthogonal(rng), theta));
}

/// Random coordinates with largest angle `max_angle` and the other three uniform in [0, max_angle].
template <class S>
so8t::so8<S> random_with_max_angle(std::mt19937_64& rng, LD max_angle) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return random_with_angles<S>(rng, {max_angle, max_angle * LD(u(rng)), max_angle * LD(u(rng)),
                                     max_angle * LD(u(rng))});
}

/// Largest rotation angle of a skew matrix (sqrt of the largest eigenvalue of A^T A), in long double.
LD max_angle_of(const MatL& A);

template <class S>
so8t::Mat8<S> random_matrix(std::mt19937_64& rng, double scale = 1.0) {
  std::normal_distribution<double> n01;
  so8t::Mat8<S> m;
  for (int k = 0; k < 64; ++k) m.a[k] = S(scale * n01(rng));
  return m;
}

template <class S>
so8t::so8<S> random_coords(std::mt19937_64& rng, double scale = 1.0) {
  std::normal_distribution<double> n01;
  so8t::so8<S> a;
  for (int k = 0; k < 28; ++k) a[k] = S(scale * n01(rng));
  return a;
}

/// Tolerance helpers tied to the scalar's epsilon.
template <class S>
constexpr double eps() {
  return double(so8t::ScalarTraits<S>::epsilon);
}

}  // namespace so8t_test
