// so8t/calib/softmax_stats.hpp: one-pass (online) softmax statistics of a logit row, and of a pair of rows.
//
// Everything the quality-control metrics need from a row z[0..V) comes out of one streaming pass with one
// exp per element, in double whatever the logit type, never materialising the probabilities:
//   m   = max_k z_k                     argmax = lowest index attaining m (torch.max / np.argmax rule)
//   s   = sum_k e^{z_k - m}             lse = m + ln s,   p_max = 1 / s (the confidence)
//   t   = sum_k e^{z_k - m} (z_k - m)   entropy H = ln s - t / s   (nats; no cancellation against m)
//   q   = sum_k e^{2 (z_k - m)}         sum_k p_k^2 = q / s^2   (for the Brier score)
// When a new maximum m' > m arrives, the sums are rescaled by r = e^{m - m'}: s <- r s,
// t <- r (t + s (m - m')), q <- r^2 q ("online logsumexp", Milakov & Gimelshein 2018, extended to t, q).
// merge() combines two partial accumulators the same way, so CUDA thread blocks (CUB BlockReduce) and the
// CPU loop compute the same quantities (in a different summation order).
//
// The pair accumulator does the same for KL(p_a || p_b) and logit differences d_k = a_k - b_k:
//   KL = sum_k p_a,k (ln p_a,k - ln p_b,k) = E_{p_a}[d] - lse(a) + lse(b),
//   u  = sum_k e^{a_k - m_a} d_k  so E_{p_a}[d] = u / s_a,
// and lse(b) - lse(a) = (m_b - m_a) + ln s_b - ln s_a is formed without adding the large maxima to the
// logs first. Absolute error ~1e-16 * (|E d| + ln V) in double; the result is clamped at 0.
//
// Every product that is accumulated goes through so8t::fp (no flag-dependent FMA contraction).
#pragma once

#include <math.h>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"

namespace so8t::calib {

namespace detail {
SO8T_HOST_DEVICE double neg_inf() { return -HUGE_VAL; }
SO8T_HOST_DEVICE double abs_d(double x) { return x < 0.0 ? -x : x; }
}  // namespace detail

/// Online softmax statistics of one row (see the file comment). Default-constructed = empty row.
struct SoftmaxStats {
  double m = -HUGE_VAL;  ///< running maximum
  double s = 0.0;        ///< sum e^{z - m}
  double t = 0.0;        ///< sum e^{z - m} (z - m)
  double q = 0.0;        ///< sum e^{2 (z - m)}
  long long argmax = -1;  ///< lowest index of the maximum

  /// Adds logit z at index k (indices must arrive in increasing order within one accumulator).
  SO8T_HOST_DEVICE void push(double z, long long k) {
    if (z > m) {
      if (s > 0.0) {
        const double d = m - z;
        const double r = ::exp(d);
        t = fp::mul(r, fp::madd(t, s, d));
        q = fp::mul(fp::mul(r, r), q);
        s = fp::mul(r, s);
      }
      s = s + 1.0;
      q = q + 1.0;
      m = z;
      argmax = k;
    } else {
      const double d = z - m;
      const double e = ::exp(d);
      s = s + e;
      t = fp::madd(t, e, d);
      q = fp::madd(q, e, e);
    }
  }

  /// Rescales this accumulator to a (larger or equal) reference maximum mm.
  SO8T_HOST_DEVICE void rescale_to(double mm) {
    if (s == 0.0 || mm == m) {
      m = mm;
      return;
    }
    const double d = m - mm;
    const double r = ::exp(d);
    t = fp::mul(r, fp::madd(t, s, d));
    q = fp::mul(fp::mul(r, r), q);
    s = fp::mul(r, s);
    m = mm;
  }

  /// Combines two partial accumulators over disjoint index sets. Ties in the maximum keep the lower index.
  SO8T_HOST_DEVICE void merge(SoftmaxStats o) {
    if (o.s == 0.0) return;
    if (s == 0.0) {
      *this = o;
      return;
    }
    long long am;
    if (o.m > m) am = o.argmax;
    else if (m > o.m) am = argmax;
    else am = o.argmax < argmax ? o.argmax : argmax;
    const double mm = o.m > m ? o.m : m;
    rescale_to(mm);
    o.rescale_to(mm);
    s = s + o.s;
    t = t + o.t;
    q = q + o.q;
    argmax = am;
  }

  SO8T_HOST_DEVICE double lse() const { return m + ::log(s); }
  SO8T_HOST_DEVICE double confidence() const { return 1.0 / s; }
  SO8T_HOST_DEVICE double entropy() const {
    const double h = ::log(s) - t / s;
    return h > 0.0 ? h : 0.0;
  }
  SO8T_HOST_DEVICE double sum_p2() const { return q / (s * s); }
  /// ln p_k for a logit z_k of this row.
  SO8T_HOST_DEVICE double log_prob(double z) const { return (z - m) - ::log(s); }
  /// False when a NaN or infinity went in (the caller then locates and reports it).
  SO8T_HOST_DEVICE bool finite() const { return isfinite(m) && isfinite(s) && isfinite(t) && isfinite(q); }
};

/// Online statistics of a pair of rows (a = reference / pre, b = candidate / post): KL(p_a || p_b),
/// |a - b| statistics and both argmaxes.
struct PairStats {
  double ma = -HUGE_VAL, sa = 0.0, u = 0.0;  ///< a side: max, sum e^{a-ma}, sum e^{a-ma} (a-b)
  double mb = -HUGE_VAL, sb = 0.0;           ///< b side: max, sum e^{b-mb}
  double max_abs = 0.0, sum_abs = 0.0, sum_sq = 0.0;
  long long arg_a = -1, arg_b = -1, arg_max_abs = -1;

  SO8T_HOST_DEVICE void push(double a, double b, long long k) {
    const double d = a - b;
    if (a > ma) {
      if (sa > 0.0) {
        const double r = ::exp(ma - a);
        u = fp::mul(u, r);
        sa = fp::mul(sa, r);
      }
      sa = sa + 1.0;
      u = u + d;
      ma = a;
      arg_a = k;
    } else {
      const double e = ::exp(a - ma);
      sa = sa + e;
      u = fp::madd(u, e, d);
    }
    if (b > mb) {
      if (sb > 0.0) sb = fp::mul(sb, ::exp(mb - b));
      sb = sb + 1.0;
      mb = b;
      arg_b = k;
    } else {
      sb = sb + ::exp(b - mb);
    }
    const double ad = detail::abs_d(d);
    if (ad > max_abs || arg_max_abs < 0) {  // a NaN never wins here; it poisons sum_abs instead
      max_abs = ad;
      arg_max_abs = k;
    }
    sum_abs = sum_abs + ad;
    sum_sq = fp::madd(sum_sq, d, d);
  }

  SO8T_HOST_DEVICE void merge(PairStats o) {
    if (o.sa == 0.0) return;
    if (sa == 0.0) {
      *this = o;
      return;
    }
    // a side
    long long aa = (o.ma > ma) ? o.arg_a : (ma > o.ma ? arg_a : (o.arg_a < arg_a ? o.arg_a : arg_a));
    const double mma = o.ma > ma ? o.ma : ma;
    const double r1 = ::exp(ma - mma), r2 = ::exp(o.ma - mma);
    sa = fp::mul(sa, r1) + fp::mul(o.sa, r2);
    u = fp::mul(u, r1) + fp::mul(o.u, r2);
    ma = mma;
    arg_a = aa;
    // b side
    long long ab = (o.mb > mb) ? o.arg_b : (mb > o.mb ? arg_b : (o.arg_b < arg_b ? o.arg_b : arg_b));
    const double mmb = o.mb > mb ? o.mb : mb;
    sb = fp::mul(sb, ::exp(mb - mmb)) + fp::mul(o.sb, ::exp(o.mb - mmb));
    mb = mmb;
    arg_b = ab;
    // differences
    if (o.max_abs > max_abs || (o.max_abs == max_abs && o.arg_max_abs < arg_max_abs)) {
      max_abs = o.max_abs;
      arg_max_abs = o.arg_max_abs;
    }
    sum_abs = sum_abs + o.sum_abs;
    sum_sq = sum_sq + o.sum_sq;
  }

  /// KL(p_a || p_b) in nats, clamped at 0.
  SO8T_HOST_DEVICE double kl() const {
    const double v = u / sa + ((mb - ma) + (::log(sb) - ::log(sa)));
    return v > 0.0 ? v : 0.0;
  }
  SO8T_HOST_DEVICE bool finite() const {
    return isfinite(ma) && isfinite(sa) && isfinite(u) && isfinite(mb) && isfinite(sb) && isfinite(sum_abs) &&
           isfinite(sum_sq) && isfinite(max_abs);
  }
};

}  // namespace so8t::calib
