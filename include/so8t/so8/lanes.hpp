// so8t/so8/lanes.hpp: SIMD lane packs that run the per-block math on W blocks at once (host only).
//
// Lanes<S> holds one scalar per lane in a GCC/Clang vector register (16, 32 or 64 bytes, the widest the
// build's ISA has). Every operation is the scalar operation applied lane by lane with the same IEEE
// rounding, products behind the same barrier as fp::mul, so Mat8<Lanes<S>> through the Padé code gives
// each block exactly the bits the scalar path (what the GPU runs) gives it; tests/test_block_rotation.cpp
// checks this bit for bit, and tests/flags checks it across ISAs (4, 8 or 16 lanes).
// LaneLU8 is LU8's elimination with per-lane partial pivoting done by selects instead of branches.
#pragma once

#include "so8t/base/config.hpp"

#if !SO8T_DEVICE_CODE && (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__aarch64__)) && \
    !defined(SO8T_NO_LANES)
#  define SO8T_HAS_LANES 1
#else
#  define SO8T_HAS_LANES 0
#endif

#if SO8T_HAS_LANES

#include <cstdint>
#include <cstring>

#include "so8t/so8/expm.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/so8/lu8.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/so8/algebra.hpp"

namespace so8t {

#if defined(__AVX512F__)
constexpr int kLaneBytes = 64;
#elif defined(__AVX__)
constexpr int kLaneBytes = 32;
#else
constexpr int kLaneBytes = 16;  // SSE2 and NEON: always present on x86-64 and aarch64
#endif

template <class S>
struct Lanes {
  static constexpr int kWidth = kLaneBytes / int(sizeof(S));
  typedef S vec __attribute__((vector_size(kLaneBytes)));
  typedef std::conditional_t<sizeof(S) == 4, std::int32_t, std::int64_t> int_elem;
  typedef int_elem mask __attribute__((vector_size(kLaneBytes)));

  vec v;

  Lanes() = default;
  explicit Lanes(vec x) : v(x) {}
  /// Broadcast, rounding to S first (exactly like the scalar path's S(x)).
  explicit Lanes(double x) : v(vec{} + static_cast<S>(x)) {}
  explicit Lanes(float x) : v(vec{} + static_cast<S>(x)) {}
  explicit Lanes(int x) : v(vec{} + static_cast<S>(x)) {}

  S operator[](int l) const { return v[l]; }
  void set(int l, S x) { v[l] = x; }

  friend Lanes operator+(const Lanes& a, const Lanes& b) { return Lanes(a.v + b.v); }
  friend Lanes operator-(const Lanes& a, const Lanes& b) { return Lanes(a.v - b.v); }
  friend Lanes operator/(const Lanes& a, const Lanes& b) { return Lanes(a.v / b.v); }
  Lanes operator-() const { return Lanes(-v); }
};

/// Lane-wise round(a*b), kept apart from any following add: fp::mul on the vector type.
template <class S>
inline Lanes<S> lane_mul(const Lanes<S>& a, const Lanes<S>& b) {
  return Lanes<S>(fp::mul(a.v, b.v));
}

template <class S>
inline Lanes<S> lane_abs(const Lanes<S>& a) {
  return Lanes<S>(a.v < 0 ? -a.v : a.v);
}

template <class S>
struct ScalarOf<Lanes<S>> {
  using type = S;
};

/// LU8's factorisation and solves for W matrices at once. The arithmetic (divisions, fp::msub updates,
/// their order) is LU8's; pivot search and row swaps are per lane, by compare and select. All lanes must be
/// non-singular for the bit-for-bit promise (a singular lane produces inf/NaN in that lane only).
template <class S>
class LaneLU8 {
 public:
  using V = Lanes<S>;
  using Mask = typename V::mask;

  explicit LaneLU8(const Mat8<V>& m) : lu_(m) {
    for (int k = 0; k < 8; ++k) {
      // Pivot: first row with the strictly largest |value| (LU8's rule), as a lane-wise index.
      typename V::vec best = lane_abs(lu_(k, k)).v;
      typename V::vec p = typename V::vec{} + S(k);
      for (int i = k + 1; i < 8; ++i) {
        const typename V::vec a = lane_abs(lu_(i, k)).v;
        const Mask take = a > best;
        best = take ? a : best;
        p = take ? (typename V::vec{} + S(i)) : p;
      }
      piv_[k] = p;
      swap_rows(lu_, k, p);
      inv_diag_[k] = V(1) / lu_(k, k);
      for (int i = k + 1; i < 8; ++i) {
        const V l = fp::mul(lu_(i, k), inv_diag_[k]);
        lu_(i, k) = l;
        for (int j = k + 1; j < 8; ++j) lu_(i, j) = fp::msub(lu_(i, j), l, lu_(k, j));
      }
    }
  }

  Mat8<V> solve(const Mat8<V>& b) const {
    Mat8<V> x = b;
    for (int k = 0; k < 8; ++k) swap_rows(x, k, piv_[k]);
    for (int i = 1; i < 8; ++i)
      for (int k = 0; k < i; ++k) {
        const V l = lu_(i, k);
        for (int j = 0; j < 8; ++j) x(i, j) = fp::msub(x(i, j), l, x(k, j));
      }
    for (int i = 7; i >= 0; --i) {
      for (int k = i + 1; k < 8; ++k) {
        const V u = lu_(i, k);
        for (int j = 0; j < 8; ++j) x(i, j) = fp::msub(x(i, j), u, x(k, j));
      }
      const V d = inv_diag_[i];
      for (int j = 0; j < 8; ++j) x(i, j) = fp::mul(x(i, j), d);
    }
    return x;
  }

 private:
  // Rows k and p[l] trade places in lane l (p[l] >= k; nothing moves where p[l] == k).
  static void swap_rows(Mat8<V>& m, int k, const typename V::vec& p) {
    for (int i = k + 1; i < 8; ++i) {
      const Mask sel = p == S(i);
      for (int j = 0; j < 8; ++j) {
        const typename V::vec rk = m(k, j).v, ri = m(i, j).v;
        m(k, j).v = sel ? ri : rk;
        m(i, j).v = sel ? rk : ri;
      }
    }
  }

  Mat8<V> lu_;
  V inv_diag_[8];
  typename V::vec piv_[8];
};

template <class S>
struct LUFor<Lanes<S>> {
  using type = LaneLU8<S>;
};

/// Gathers 28 coordinates of up to W blocks (block ids idx[0..count)) into one lane-packed hat matrix;
/// lanes past `count` repeat the last block so every lane computes something finite. Staged through a
/// [28][W] buffer so each lane pack is one vector load rather than W element inserts.
template <class S>
Mat8<Lanes<S>> gather_hat(const S* params, const std::size_t* idx, int count, bool negate) {
  using V = Lanes<S>;
  constexpr int W = V::kWidth;
  alignas(kLaneBytes) S buf[28][W];
  for (int l = 0; l < W; ++l) {
    const S* p = params + 28 * idx[l < count ? l : count - 1];
    for (int k = 0; k < 28; ++k) buf[k][l] = negate ? -p[k] : p[k];
  }
  Mat8<V> A;
  for (int i = 0; i < 8; ++i) A(i, i) = V(0);
  for (int k = 0; k < 28; ++k) {
    V c;
    std::memcpy(&c.v, buf[k], sizeof(c.v));
    const int i = so8_row(k), j = so8_col(k);
    A(i, j) = c;
    A(j, i) = -c;
  }
  return A;
}

/// Gathers 64 values per block (e.g. cotangents) into a lane-packed matrix.
template <class S>
Mat8<Lanes<S>> gather_mat(const S* mats, const std::size_t* idx, int count) {
  using V = Lanes<S>;
  constexpr int W = V::kWidth;
  alignas(kLaneBytes) S buf[64][W];
  for (int l = 0; l < W; ++l) {
    const S* m = mats + 64 * idx[l < count ? l : count - 1];
    for (int e = 0; e < 64; ++e) buf[e][l] = m[e];
  }
  Mat8<V> M;
  for (int e = 0; e < 64; ++e) std::memcpy(&M.a[e].v, buf[e], sizeof(M.a[e].v));
  return M;
}

/// Writes `values` lane packs (count real lanes) to out[stride * idx[l] + e], e < values.
template <class S>
void scatter_lanes(const Lanes<S>* packs, int values, const std::size_t* idx, int count, S* out, std::size_t stride) {
  constexpr int W = Lanes<S>::kWidth;
  alignas(kLaneBytes) S buf[64][W];
  for (int e = 0; e < values; ++e) std::memcpy(buf[e], &packs[e].v, sizeof(packs[e].v));
  for (int l = 0; l < count; ++l) {
    S* o = out + stride * idx[l];
    for (int e = 0; e < values; ++e) o[e] = buf[e][l];
  }
}

}  // namespace so8t

#endif  // SO8T_HAS_LANES
