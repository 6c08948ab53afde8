// so8t/so8/algebra.hpp: the Lie algebra so(8) with 28 coordinates.
//
// Coordinates follow the strict upper triangle, row-major: (0,1),(0,2),...,(0,7),(1,2),...,(6,7), the
// layout of PEFT's OFT for block size 8 (torch.triu_indices(8, 8, 1)). hat(c) puts c_k at (i_k, j_k) and
// -c_k at (j_k, i_k), so <hat c, hat d>_F = 2 c.d. See so8-math-and-style.md §1.
#pragma once

#include <array>
#include <cmath>
#include <string>

#include "so8t/base/errors.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/base/traits.hpp"

namespace so8t {

/// Row of coordinate k (0..27) in the upper triangle.
SO8T_HOST_DEVICE constexpr int so8_row(int k) {
  int i = 0;
  int start = 0;
  while (k >= start + (7 - i)) {
    start += 7 - i;
    ++i;
  }
  return i;
}
/// Column of coordinate k.
SO8T_HOST_DEVICE constexpr int so8_col(int k) {
  const int i = so8_row(k);
  return k - (i * (15 - i)) / 2 + i + 1;
}
/// Coordinate index of entry (i, j), i < j.
SO8T_HOST_DEVICE constexpr int so8_index(int i, int j) { return (i * (15 - i)) / 2 + (j - i - 1); }

template <class S>
class so8 {
 public:
  using Scalar = S;
  static constexpr int DoF = 28;

  /// Zero.
  SO8T_HOST_DEVICE so8() {
    for (int k = 0; k < DoF; ++k) c_[k] = S(0);
  }
  /// From 28 values in the upper-triangle order.
  SO8T_HOST_DEVICE explicit so8(const S* coeffs) {
    for (int k = 0; k < DoF; ++k) c_[k] = coeffs[k];
  }
  /// From a std::array (host).
  explicit so8(const std::array<S, 28>& coeffs) {
    for (int k = 0; k < DoF; ++k) c_[k] = coeffs[k];
  }

  SO8T_HOST_DEVICE S& operator[](int k) { return c_[k]; }
  SO8T_HOST_DEVICE const S& operator[](int k) const { return c_[k]; }
  SO8T_HOST_DEVICE S* data() { return c_; }
  SO8T_HOST_DEVICE const S* data() const { return c_; }

  std::array<S, 28> to_array() const {
    std::array<S, 28> r{};
    for (int k = 0; k < DoF; ++k) r[k] = c_[k];
    return r;
  }

  /// The k-th basis element E_ij = e_i e_j^T - e_j e_i^T.
  SO8T_HOST_DEVICE static so8 generator(int k) {
    so8 r;
    r.c_[k] = S(1);
    return r;
  }

  /// The skew-symmetric matrix of these coordinates.
  SO8T_HOST_DEVICE Mat8<S> hat() const {
    Mat8<S> m = Mat8<S>::zero();
    for (int k = 0; k < DoF; ++k) {
      const int i = so8_row(k), j = so8_col(k);
      m(i, j) = c_[k];
      m(j, i) = -c_[k];
    }
    return m;
  }

  /// Coordinates of a skew-symmetric matrix, c_ij = (m_ij - m_ji) / 2 (exact for exactly skew input).
  /// On the host, throws NotSkewSymmetric when |m_ij + m_ji| or |m_ii| exceeds 64 eps max|m|; device code
  /// cannot throw and takes the skew part silently (use vee_checked there).
  SO8T_HOST_DEVICE static so8 vee(const Mat8<S>& m) {
#if !SO8T_DEVICE_CODE
    int bad_i = -1, bad_j = -1;
    if (!is_skew(m, &bad_i, &bad_j)) {
      throw NotSkewSymmetric("so8t::so8::vee: matrix is not skew-symmetric: m(" + std::to_string(bad_i) + "," +
                             std::to_string(bad_j) + ") = " + std::to_string(double(m(bad_i, bad_j))) +
                             " but m(" + std::to_string(bad_j) + "," + std::to_string(bad_i) +
                             ") = " + std::to_string(double(m(bad_j, bad_i))));
    }
#endif
    return vee_unchecked(m);
  }

  /// vee for device code: `*status` becomes Status::bad_argument when m is not skew (the skew part is
  /// returned anyway).
  SO8T_HOST_DEVICE static so8 vee_checked(const Mat8<S>& m, Status* status) {
    int bi, bj;
    *status = is_skew(m, &bi, &bj) ? Status::ok : Status::bad_argument;
    return vee_unchecked(m);
  }

  /// The skew part's coordinates, no check.
  SO8T_HOST_DEVICE static so8 vee_unchecked(const Mat8<S>& m) {
    so8 r;
    for (int k = 0; k < DoF; ++k) {
      const int i = so8_row(k), j = so8_col(k);
      r.c_[k] = fp::mul(S(0.5), fp::sub(m(i, j), m(j, i)));
    }
    return r;
  }

  /// True when m is finite and skew to 64 eps max|m|; otherwise (*bi, *bj) is the worst entry.
  SO8T_HOST_DEVICE static bool is_skew(const Mat8<S>& m, int* bi, int* bj) {
    const S tol = S(64) * ScalarTraits<S>::epsilon * max_abs(m);
    S worst = S(0);
    *bi = 0;
    *bj = 0;
    for (int i = 0; i < 8; ++i)
      for (int j = i; j < 8; ++j) {
        const S v = abs_value(fp::add(m(i, j), m(j, i)));
        if (!(v - v == S(0))) {  // NaN or infinite entry
          *bi = i;
          *bj = j;
          return false;
        }
        if (v > worst) {
          worst = v;
          *bi = i;
          *bj = j;
        }
      }
    return !(worst > tol);
  }

  /// Lie bracket [a, b] = vee(hat a hat b - hat b hat a).
  SO8T_HOST_DEVICE static so8 bracket(const so8& a, const so8& b) {
    const Mat8<S> x = a.hat(), y = b.hat();
    return vee_unchecked(x * y - y * x);
  }

  SO8T_HOST_DEVICE so8 operator+(const so8& o) const {
    so8 r;
    for (int k = 0; k < DoF; ++k) r.c_[k] = fp::add(c_[k], o.c_[k]);
    return r;
  }
  SO8T_HOST_DEVICE so8 operator-(const so8& o) const {
    so8 r;
    for (int k = 0; k < DoF; ++k) r.c_[k] = fp::sub(c_[k], o.c_[k]);
    return r;
  }
  SO8T_HOST_DEVICE so8 operator-() const {
    so8 r;
    for (int k = 0; k < DoF; ++k) r.c_[k] = -c_[k];
    return r;
  }
  SO8T_HOST_DEVICE so8 operator*(S s) const {
    so8 r;
    for (int k = 0; k < DoF; ++k) r.c_[k] = fp::mul(s, c_[k]);
    return r;
  }

  /// Euclidean dot product of the 28 coordinates (= <hat a, hat b>_F / 2).
  SO8T_HOST_DEVICE S dot(const so8& o) const {
    S acc = fp::mul(c_[0], o.c_[0]);
    for (int k = 1; k < DoF; ++k) acc = fp::madd(acc, c_[k], o.c_[k]);
    return acc;
  }

  template <class T>
  SO8T_HOST_DEVICE so8<T> cast() const {
    so8<T> r;
    for (int k = 0; k < DoF; ++k) r[k] = static_cast<T>(c_[k]);
    return r;
  }

 private:
  S c_[28];
};

static_assert(so8_index(0, 1) == 0 && so8_index(0, 7) == 6 && so8_index(1, 2) == 7 && so8_index(6, 7) == 27,
              "so(8) coordinate order is the row-major upper triangle");
static_assert(so8_row(27) == 6 && so8_col(27) == 7 && so8_row(7) == 1 && so8_col(7) == 2, "so8_row/so8_col");

}  // namespace so8t
