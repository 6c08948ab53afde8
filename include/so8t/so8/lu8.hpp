// so8t/so8/lu8.hpp: LU factorisation with partial pivoting of an 8x8 matrix, for host and device.
//
// Used by the Padé exp (R = Q^-1 P), its Fréchet derivative (same factors reused), Cayley and its
// inverse. Row-oriented Doolittle elimination; the multipliers and updates go through fp:: so results
// do not depend on compiler flags. Divisions are by the pivots' reciprocals (8 divisions instead of 92:
// a division costs ten multiplies on CPUs and GPUs alike; the extra rounding is one ulp).
#pragma once

#include "so8t/so8/mat8.hpp"

namespace so8t {

template <class S>
class LU8 {
 public:
  /// Factors P m = L U. `singular()` is true when a pivot is exactly zero or not finite.
  SO8T_HOST_DEVICE_CALL explicit LU8(const Mat8<S>& m) : lu_(m), singular_(false) {
    for (int k = 0; k < 8; ++k) {
      int p = k;
      S best = abs_value(lu_(k, k));
      for (int i = k + 1; i < 8; ++i) {
        const S v = abs_value(lu_(i, k));
        if (v > best) {
          best = v;
          p = i;
        }
      }
      piv_[k] = p;
      if (p != k)
        SO8T_UNROLL for (int j = 0; j < 8; ++j) {
          const S t = lu_(k, j);
          lu_(k, j) = lu_(p, j);
          lu_(p, j) = t;
        }
      const S pivot = lu_(k, k);
      inv_diag_[k] = S(1) / pivot;                          // inf or NaN when singular: solves show it
      if (!(best > S(0)) || !(pivot - pivot == S(0))) {  // zero, NaN or infinite pivot
        singular_ = true;
        continue;
      }
      for (int i = k + 1; i < 8; ++i) {
        const S l = fp::mul(lu_(i, k), inv_diag_[k]);
        lu_(i, k) = l;
        for (int j = k + 1; j < 8; ++j) lu_(i, j) = fp::msub(lu_(i, j), l, lu_(k, j));
      }
    }
  }

  SO8T_HOST_DEVICE bool singular() const { return singular_; }

  /// Smallest |u_kk| / largest |u_kk|: a cheap conditioning hint (0 when singular).
  SO8T_HOST_DEVICE S pivot_ratio() const {
    S lo = abs_value(lu_(0, 0)), hi = lo;
    for (int k = 1; k < 8; ++k) {
      const S v = abs_value(lu_(k, k));
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    return hi > S(0) ? lo / hi : S(0);
  }

  /// det(m) = sign(P) * prod u_kk.
  SO8T_HOST_DEVICE S determinant() const {
    S d = S(1);
    for (int k = 0; k < 8; ++k) {
      d = fp::mul(d, lu_(k, k));
      if (piv_[k] != k) d = -d;
    }
    return d;
  }

  /// X = m^-1 b.
  SO8T_HOST_DEVICE_CALL Mat8<S> solve(const Mat8<S>& b) const {
    Mat8<S> x = b;
    for (int k = 0; k < 8; ++k)
      if (piv_[k] != k)
        SO8T_UNROLL for (int j = 0; j < 8; ++j) {
          const S t = x(k, j);
          x(k, j) = x(piv_[k], j);
          x(piv_[k], j) = t;
        }
    for (int i = 1; i < 8; ++i)  // L y = P b, L unit lower
      for (int k = 0; k < i; ++k) {
        const S l = lu_(i, k);
        SO8T_UNROLL for (int j = 0; j < 8; ++j) x(i, j) = fp::msub(x(i, j), l, x(k, j));
      }
    for (int i = 7; i >= 0; --i) {  // U x = y
      for (int k = i + 1; k < 8; ++k) {
        const S u = lu_(i, k);
        SO8T_UNROLL for (int j = 0; j < 8; ++j) x(i, j) = fp::msub(x(i, j), u, x(k, j));
      }
      const S d = inv_diag_[i];
      SO8T_UNROLL for (int j = 0; j < 8; ++j) x(i, j) = fp::mul(x(i, j), d);
    }
    return x;
  }

  /// X = m^-T b (solves m^T X = b with the same factors: U^T L^T P X = b).
  SO8T_HOST_DEVICE_CALL Mat8<S> solve_transpose(const Mat8<S>& b) const {
    Mat8<S> x = b;
    for (int i = 0; i < 8; ++i) {  // U^T y = b, U^T lower
      for (int k = 0; k < i; ++k) {
        const S u = lu_(k, i);
        SO8T_UNROLL for (int j = 0; j < 8; ++j) x(i, j) = fp::msub(x(i, j), u, x(k, j));
      }
      const S d = inv_diag_[i];
      SO8T_UNROLL for (int j = 0; j < 8; ++j) x(i, j) = fp::mul(x(i, j), d);
    }
    for (int i = 6; i >= 0; --i)  // L^T z = y, L^T unit upper
      for (int k = i + 1; k < 8; ++k) {
        const S l = lu_(k, i);
        SO8T_UNROLL for (int j = 0; j < 8; ++j) x(i, j) = fp::msub(x(i, j), l, x(k, j));
      }
    for (int k = 7; k >= 0; --k)  // X = P^T z: undo the swaps in reverse order
      if (piv_[k] != k)
        SO8T_UNROLL for (int j = 0; j < 8; ++j) {
          const S t = x(k, j);
          x(k, j) = x(piv_[k], j);
          x(piv_[k], j) = t;
        }
    return x;
  }

 private:
  Mat8<S> lu_;      // unit L below the diagonal, U on and above
  S inv_diag_[8];   // 1 / u_kk: one division per pivot, products everywhere else
  int piv_[8];      // row k was swapped with row piv_[k] at step k
  bool singular_;
};

/// The LU type the Padé code uses for scalar type S (LU8; so8t/so8/lanes.hpp maps lane packs to LaneLU8).
template <class S>
struct LUFor {
  using type = LU8<S>;
};

}  // namespace so8t
