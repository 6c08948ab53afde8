// so8t/so8/mat8.hpp: a fixed 8x8 matrix and an 8-vector for host and device code.
//
// Plain row-major storage (m(i, j) = data[8 i + j]) with no Eigen inside, so the same type lives in CUDA
// registers and in CPU loops; so8t/so8/eigen.hpp converts to and from Eigen on the host.
// Every product goes through fp::madd in a fixed order (k = 0..7, starting from the k = 0 product), so a
// matrix product gives the same bits on the CPU and the GPU, whatever the compiler flags (so8t/base/fp.hpp).
#pragma once

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"

namespace so8t {

/// An 8-vector (a column), e.g. one 8-wide block of a hidden state or an octonion.
template <class S>
struct Vec8 {
  S v[8];

  SO8T_HOST_DEVICE S& operator[](int i) { return v[i]; }
  SO8T_HOST_DEVICE const S& operator[](int i) const { return v[i]; }
  SO8T_HOST_DEVICE S* data() { return v; }
  SO8T_HOST_DEVICE const S* data() const { return v; }

  SO8T_HOST_DEVICE static Vec8 zero() {
    Vec8 r{};
    SO8T_UNROLL for (int i = 0; i < 8; ++i) r.v[i] = S(0);
    return r;
  }
  SO8T_HOST_DEVICE static Vec8 load(const S* p) {
    Vec8 r{};
    SO8T_UNROLL for (int i = 0; i < 8; ++i) r.v[i] = p[i];
    return r;
  }
};

/// A dense 8x8 matrix, row-major. Invariant: none (any 64 values); SO8<S> adds orthogonality.
template <class S>
struct Mat8 {
  static constexpr int kRows = 8;
  static constexpr int kCols = 8;
  using Scalar = S;

  S a[64];  // (8,8) row-major

  SO8T_HOST_DEVICE S& operator()(int i, int j) { return a[8 * i + j]; }
  SO8T_HOST_DEVICE const S& operator()(int i, int j) const { return a[8 * i + j]; }
  SO8T_HOST_DEVICE S* data() { return a; }
  SO8T_HOST_DEVICE const S* data() const { return a; }

  SO8T_HOST_DEVICE static Mat8 zero() {
    Mat8 r;  // every entry is written below
    for (int k = 0; k < 64; ++k) r.a[k] = S(0);
    return r;
  }
  SO8T_HOST_DEVICE static Mat8 identity() {
    Mat8 r = zero();
    SO8T_UNROLL for (int i = 0; i < 8; ++i) r.a[9 * i] = S(1);
    return r;
  }
  /// Reads 64 values from row-major memory with row stride `ld` (>= 8).
  SO8T_HOST_DEVICE static Mat8 load(const S* p, int ld = 8) {
    Mat8 r;  // every entry is written below
    for (int i = 0; i < 8; ++i)
      SO8T_UNROLL for (int j = 0; j < 8; ++j) r.a[8 * i + j] = p[i * ld + j];
    return r;
  }
  SO8T_HOST_DEVICE void store(S* p, int ld = 8) const {
    for (int i = 0; i < 8; ++i)
      SO8T_UNROLL for (int j = 0; j < 8; ++j) p[i * ld + j] = a[8 * i + j];
  }

  SO8T_HOST_DEVICE Mat8 transpose() const {
    Mat8 r;  // every entry is written below
    for (int i = 0; i < 8; ++i)
      SO8T_UNROLL for (int j = 0; j < 8; ++j) r.a[8 * j + i] = a[8 * i + j];
    return r;
  }

  template <class T>
  SO8T_HOST_DEVICE Mat8<T> cast() const {
    Mat8<T> r{};
    for (int k = 0; k < 64; ++k) r.a[k] = static_cast<T>(a[k]);
    return r;
  }
};

/// The scalar type behind S: S itself, or the lane type of a SIMD pack (so8t/so8/lanes.hpp specialises it).
template <class S>
struct ScalarOf {
  using type = S;
};

// ---- element-wise arithmetic (each entry rounded once per operation) ----

template <class S>
SO8T_HOST_DEVICE Mat8<S> operator+(const Mat8<S>& x, const Mat8<S>& y) {
  Mat8<S> r;  // every entry is written below
  for (int k = 0; k < 64; ++k) r.a[k] = fp::add(x.a[k], y.a[k]);
  return r;
}
template <class S>
SO8T_HOST_DEVICE Mat8<S> operator-(const Mat8<S>& x, const Mat8<S>& y) {
  Mat8<S> r;  // every entry is written below
  for (int k = 0; k < 64; ++k) r.a[k] = fp::sub(x.a[k], y.a[k]);
  return r;
}
template <class S>
SO8T_HOST_DEVICE Mat8<S> operator-(const Mat8<S>& x) {
  Mat8<S> r;  // every entry is written below
  for (int k = 0; k < 64; ++k) r.a[k] = -x.a[k];
  return r;
}
template <class S>
SO8T_HOST_DEVICE Mat8<S> operator*(S s, const Mat8<S>& x) {
  Mat8<S> r;  // every entry is written below
  for (int k = 0; k < 64; ++k) r.a[k] = fp::mul(s, x.a[k]);
  return r;
}

/// y += s * x, element-wise: y_k = round(y_k + round(s x_k)).
template <class S>
SO8T_HOST_DEVICE void axpy(S s, const Mat8<S>& x, Mat8<S>& y) {
  for (int k = 0; k < 64; ++k) y.a[k] = fp::madd(y.a[k], s, x.a[k]);
}

/// y += s * I.
template <class S>
SO8T_HOST_DEVICE void add_diagonal(S s, Mat8<S>& y) {
  SO8T_UNROLL for (int i = 0; i < 8; ++i) y.a[9 * i] = fp::add(y.a[9 * i], s);
}

// ---- products ----

/// x * y, each entry sum_k x(i,k) y(k,j) accumulated for k = 0..7 in order.
template <class S>
SO8T_HOST_DEVICE_CALL Mat8<S> operator*(const Mat8<S>& x, const Mat8<S>& y) {
  Mat8<S> r;  // every entry is written below
  for (int i = 0; i < 8; ++i) {
    S row[8];
    SO8T_UNROLL for (int j = 0; j < 8; ++j) row[j] = fp::mul(x.a[8 * i], y.a[j]);
    for (int k = 1; k < 8; ++k) {
      const S xik = x.a[8 * i + k];
      SO8T_UNROLL for (int j = 0; j < 8; ++j) row[j] = fp::madd(row[j], xik, y.a[8 * k + j]);
    }
    SO8T_UNROLL for (int j = 0; j < 8; ++j) r.a[8 * i + j] = row[j];
  }
  return r;
}

namespace detail {
/// Row i of x * y, accumulated as operator* does (k = 0..7 in order).
template <class S>
SO8T_HOST_DEVICE void product_row(const Mat8<S>& x, const Mat8<S>& y, int i, S (&row)[8]) {
  SO8T_UNROLL for (int j = 0; j < 8; ++j) row[j] = fp::mul(x.a[8 * i], y.a[j]);
  for (int k = 1; k < 8; ++k) {
    const S xik = x.a[8 * i + k];
    SO8T_UNROLL for (int j = 0; j < 8; ++j) row[j] = fp::madd(row[j], xik, y.a[8 * k + j]);
  }
}
}  // namespace detail

// Fused forms of frequent expressions, with the bits of the plain expression (each product entry rounded as
// operator* rounds it, then the sum): one result matrix instead of two or three temporaries, which is what a
// GPU thread's stack holds (so8t/so8/expm.hpp's Fréchet recursion runs one rotation per thread).

/// x1 * y1 + x2 * y2.
template <class S>
SO8T_HOST_DEVICE_CALL Mat8<S> product_sum(const Mat8<S>& x1, const Mat8<S>& y1, const Mat8<S>& x2, const Mat8<S>& y2) {
  Mat8<S> r;  // every entry is written below
  for (int i = 0; i < 8; ++i) {
    S p[8], q[8];
    detail::product_row(x1, y1, i, p);
    detail::product_row(x2, y2, i, q);
    SO8T_UNROLL for (int j = 0; j < 8; ++j) r.a[8 * i + j] = fp::add(p[j], q[j]);
  }
  return r;
}

/// x * y + z.
template <class S>
SO8T_HOST_DEVICE_CALL Mat8<S> product_plus(const Mat8<S>& x, const Mat8<S>& y, const Mat8<S>& z) {
  Mat8<S> r;  // every entry is written below
  for (int i = 0; i < 8; ++i) {
    S p[8];
    detail::product_row(x, y, i, p);
    SO8T_UNROLL for (int j = 0; j < 8; ++j) r.a[8 * i + j] = fp::add(p[j], z.a[8 * i + j]);
  }
  return r;
}

/// (a + b) - (a - b) * y.
template <class S>
SO8T_HOST_DEVICE_CALL Mat8<S> sum_minus_difference_times(const Mat8<S>& a, const Mat8<S>& b, const Mat8<S>& y) {
  Mat8<S> d;  // a - b
  for (int k = 0; k < 64; ++k) d.a[k] = fp::sub(a.a[k], b.a[k]);
  Mat8<S> r;  // every entry is written below
  for (int i = 0; i < 8; ++i) {
    S p[8];
    detail::product_row(d, y, i, p);
    SO8T_UNROLL for (int j = 0; j < 8; ++j) r.a[8 * i + j] = fp::sub(fp::add(a.a[8 * i + j], b.a[8 * i + j]), p[j]);
  }
  return r;
}

/// x * v for a column vector v.
template <class S>
SO8T_HOST_DEVICE Vec8<S> operator*(const Mat8<S>& x, const Vec8<S>& v) {
  Vec8<S> r{};
  SO8T_UNROLL for (int i = 0; i < 8; ++i) {
    S acc = fp::mul(x.a[8 * i], v.v[0]);
    SO8T_UNROLL for (int k = 1; k < 8; ++k) acc = fp::madd(acc, x.a[8 * i + k], v.v[k]);
    r.v[i] = acc;
  }
  return r;
}

/// x^T * y without forming x^T.
template <class S>
SO8T_HOST_DEVICE_CALL Mat8<S> transpose_times(const Mat8<S>& x, const Mat8<S>& y) {
  Mat8<S> r;  // every entry is written below
  for (int i = 0; i < 8; ++i) {
    S row[8];
    SO8T_UNROLL for (int j = 0; j < 8; ++j) row[j] = fp::mul(x.a[i], y.a[j]);
    for (int k = 1; k < 8; ++k) {
      const S xki = x.a[8 * k + i];
      SO8T_UNROLL for (int j = 0; j < 8; ++j) row[j] = fp::madd(row[j], xki, y.a[8 * k + j]);
    }
    SO8T_UNROLL for (int j = 0; j < 8; ++j) r.a[8 * i + j] = row[j];
  }
  return r;
}

// ---- norms ----

template <class S>
SO8T_HOST_DEVICE S abs_value(S x) {
  return x < S(0) ? -x : x;
}

/// Operator 1-norm: the largest absolute column sum (the norm Higham's degree table is built on).
template <class S>
SO8T_HOST_DEVICE S norm1(const Mat8<S>& x) {
  S best = S(0);
  for (int j = 0; j < 8; ++j) {
    S col = S(0);
    SO8T_UNROLL for (int i = 0; i < 8; ++i) col = fp::add(col, abs_value(x.a[8 * i + j]));
    best = col > best ? col : best;
  }
  return best;
}

/// Largest |x_ij|.
template <class S>
SO8T_HOST_DEVICE S max_abs(const Mat8<S>& x) {
  S best = S(0);
  for (int k = 0; k < 64; ++k) {
    const S v = abs_value(x.a[k]);
    best = v > best ? v : best;
  }
  return best;
}

/// True when every entry is finite (no NaN, no infinity). Written with comparisons only, so it also works
/// where isfinite is not available.
template <class S>
SO8T_HOST_DEVICE bool all_finite(const Mat8<S>& x) {
  for (int k = 0; k < 64; ++k) {
    const S v = x.a[k];
    if (!(v - v == S(0))) return false;
  }
  return true;
}

}  // namespace so8t
