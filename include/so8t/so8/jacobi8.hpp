// so8t/so8/jacobi8.hpp: eigen-decomposition of a symmetric 8x8 matrix by cyclic Jacobi rotations.
//
// Branch-light and fixed-size, so it runs in a CUDA thread (so8-math-and-style.md §1a.4). Used by log
// (eigenvectors of (R + R^T)/2) and by the nearest-rotation repair (eigenvectors of M^T M).
// Golub & Van Loan, Matrix Computations, 4th ed., §8.5 (the symmetric Schur decomposition, cyclic sweeps).
#pragma once

#include "so8t/so8/mat8.hpp"
#include "so8t/base/scalar_math.hpp"
#include "so8t/base/traits.hpp"

namespace so8t {

/// A = V diag(w) V^T with w ascending and V orthogonal (eigenvectors in columns). Returns the number of
/// sweeps used (at most 50; convergence is quadratic, 6 to 10 sweeps are typical).
template <class S>
SO8T_HOST_DEVICE_CALL int symmetric_eigen(const Mat8<S>& A_in, S w[8], Mat8<S>& V) {
  Mat8<S> A = A_in;
  V = Mat8<S>::identity();
  int sweep = 0;
  for (; sweep < 50; ++sweep) {
    S off = S(0), diag = S(0);
    for (int p = 0; p < 8; ++p) {
      diag = fp::madd(diag, A(p, p), A(p, p));
      for (int q = p + 1; q < 8; ++q) off = fp::madd(off, A(p, q), A(p, q));
    }
    // Stop when the off-diagonal mass is below rounding of the diagonal.
    if (!(off > ScalarTraits<S>::epsilon * ScalarTraits<S>::epsilon * diag * S(1e-2)) || !(off > S(0))) break;
    for (int p = 0; p < 7; ++p)
      for (int q = p + 1; q < 8; ++q) {
        const S apq = A(p, q);
        if (apq == S(0)) continue;
        // Rotation that zeroes A(p,q): t = tan(phi) is the smaller root of t^2 + 2 tau t - 1 = 0.
        const S tau = (A(q, q) - A(p, p)) / (S(2) * apq);
        const S root = smath::sqrt(fp::madd(S(1), tau, tau));
        const S t = tau >= S(0) ? S(1) / (tau + root) : S(-1) / (-tau + root);
        const S c = S(1) / smath::sqrt(fp::madd(S(1), t, t));
        const S s = fp::mul(t, c);
        for (int k = 0; k < 8; ++k) {  // A <- A J (columns p, q)
          const S akp = A(k, p), akq = A(k, q);
          A(k, p) = fp::msub(fp::mul(c, akp), s, akq);
          A(k, q) = fp::madd(fp::mul(s, akp), c, akq);
        }
        for (int k = 0; k < 8; ++k) {  // A <- J^T A (rows p, q)
          const S apk = A(p, k), aqk = A(q, k);
          A(p, k) = fp::msub(fp::mul(c, apk), s, aqk);
          A(q, k) = fp::madd(fp::mul(s, apk), c, aqk);
        }
        A(p, q) = S(0);
        A(q, p) = S(0);
        for (int k = 0; k < 8; ++k) {  // V <- V J
          const S vkp = V(k, p), vkq = V(k, q);
          V(k, p) = fp::msub(fp::mul(c, vkp), s, vkq);
          V(k, q) = fp::madd(fp::mul(s, vkp), c, vkq);
        }
      }
  }
  for (int i = 0; i < 8; ++i) w[i] = A(i, i);
  // Insertion sort, ascending, permuting V's columns along.
  for (int i = 1; i < 8; ++i)
    for (int j = i; j > 0 && w[j] < w[j - 1]; --j) {
      const S t = w[j];
      w[j] = w[j - 1];
      w[j - 1] = t;
      for (int k = 0; k < 8; ++k) {
        const S v = V(k, j);
        V(k, j) = V(k, j - 1);
        V(k, j - 1) = v;
      }
    }
  return sweep;
}

}  // namespace so8t
