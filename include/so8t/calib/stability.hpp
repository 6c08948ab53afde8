// so8t/calib/stability.hpp: long-text stability of logits over positions t = 0 .. L-1 (temperature 1).
//
// Series (one streaming pass per row, calib/softmax_stats.hpp):
//   m_t = max_v z_{t,v}                      max-logit series
//   H_t = -sum_v p_{t,v} ln p_{t,v} (nats)   entropy series, = ln s_t - (sum e^{z-m}(z-m)) / s_t
// For a series x (either one), SeriesStats holds:
//   d1_t = x_{t+1} - x_t            (t = 0 .. L-2, stored at index t)
//   d2_t = x_{t+1} - 2 x_t + x_{t-1} (t = 1 .. L-2, stored at index t-1)
//   mean_abs_d1, rms_d1, mean_abs_d2, rms_d2 (0 when the difference series is empty)
//   oscillation_index = #{t in 0..L-3 : d1_t * d1_{t+1} < 0} / (L - 2)     (0 when L < 3)
//       the zero-crossing rate of d1: 0 for monotone or smooth series, about 2/3 for white noise, 1 for a
//       strict up/down alternation; a zero difference never counts as a crossing
//   mean, std (population), slope (least squares of x on t), lag1_autocorrelation
//       = sum_t (x_t - mean)(x_{t+1} - mean) / sum_t (x_t - mean)^2  (0 for a constant series)
// Entropy drops (EntropyDrops), with med = median(H), MAD = median |H_t - med|:
//   threshold = med - max(drop_kappa * 1.4826 * MAD, drop_min_depth)
//   a drop is a position t with H_t < threshold that is the minimum of its maximal run of consecutive
//   positions below the threshold (the first one on ties): one drop per dip.
//   With drop positions p_1 < ... < p_k and gaps g_j = p_{j+1} - p_j, period = median(g) (mean of the two
//   middle values for an even count); a gap matches when |g_j - period| <= max(1, period_tolerance * period);
//   periodic = (k >= min_drops) and (matching gaps / all gaps >= period_fraction).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "so8t/calib/scores.hpp"
#include "so8t/calib/views.hpp"

namespace so8t::calib {

struct StabilityOptions {
  double drop_kappa = 3.0;       ///< robust z-score (MAD units) a drop must reach
  double drop_min_depth = 0.05;  ///< and at least this many nats below the median
  std::size_t min_drops = 3;     ///< drops needed before calling them periodic
  double period_tolerance = 0.15;
  double period_fraction = 0.8;
};

struct SeriesStats {
  double mean = 0.0, std = 0.0, slope = 0.0, lag1_autocorrelation = 0.0;
  double mean_abs_d1 = 0.0, rms_d1 = 0.0, mean_abs_d2 = 0.0, rms_d2 = 0.0;
  double oscillation_index = 0.0;
  std::vector<double> d1, d2;
};

struct EntropyDrops {
  double median = 0.0, mad = 0.0, threshold = 0.0;
  std::vector<std::size_t> positions;
  double period = 0.0;            ///< median gap (0 with fewer than 2 drops)
  double matching_fraction = 0.0; ///< gaps within tolerance of the period
  bool periodic = false;
};

struct StabilityReport {
  std::size_t positions = 0;
  std::vector<double> entropy, max_logit;
  SeriesStats entropy_stats, max_logit_stats;
  EntropyDrops drops;
};

namespace detail {
inline double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const std::size_t n = v.size(), h = n / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h), v.end());
  const double upper = v[h];
  if (n % 2) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h));
  return 0.5 * (lower + upper);
}
}  // namespace detail

/// Differences, oscillation index and trend statistics of one series (see the file comment).
inline SeriesStats series_stats(const std::vector<double>& x) {
  if (x.empty()) throw InvalidArgument("so8t::calib::series_stats: empty series");
  for (std::size_t t = 0; t < x.size(); ++t)
    if (!std::isfinite(x[t]))
      throw InvalidArgument("so8t::calib::series_stats: non-finite value " + detail::fmt_double(x[t]) +
                            " at position " + std::to_string(t));
  SeriesStats s;
  const std::size_t L = x.size();
  for (std::size_t t = 0; t + 1 < L; ++t) s.d1.push_back(x[t + 1] - x[t]);
  for (std::size_t t = 1; t + 1 < L; ++t) s.d2.push_back((x[t + 1] - x[t]) - (x[t] - x[t - 1]));
  auto abs_rms = [](const std::vector<double>& d, double& ma, double& rms) {
    if (d.empty()) return;
    double a = 0.0, q = 0.0;
    for (double v : d) {
      a += std::fabs(v);
      q += v * v;
    }
    ma = a / double(d.size());
    rms = std::sqrt(q / double(d.size()));
  };
  abs_rms(s.d1, s.mean_abs_d1, s.rms_d1);
  abs_rms(s.d2, s.mean_abs_d2, s.rms_d2);
  if (L >= 3) {
    std::size_t crossings = 0;
    for (std::size_t t = 0; t + 1 < s.d1.size(); ++t)
      if ((s.d1[t] < 0.0 && s.d1[t + 1] > 0.0) || (s.d1[t] > 0.0 && s.d1[t + 1] < 0.0)) ++crossings;
    s.oscillation_index = double(crossings) / double(L - 2);
  }
  double sum = 0.0;
  for (double v : x) sum += v;
  s.mean = sum / double(L);
  double var = 0.0, cov1 = 0.0, stt = 0.0, sxt = 0.0;
  const double tbar = 0.5 * double(L - 1);
  for (std::size_t t = 0; t < L; ++t) {
    const double dx = x[t] - s.mean, dt = double(t) - tbar;
    var += dx * dx;
    stt += dt * dt;
    sxt += dt * dx;
    if (t + 1 < L) cov1 += dx * (x[t + 1] - s.mean);
  }
  s.std = std::sqrt(var / double(L));
  s.slope = stt > 0.0 ? sxt / stt : 0.0;
  s.lag1_autocorrelation = var > 0.0 ? cov1 / var : 0.0;
  return s;
}

/// Entropy drops and their periodicity (see the file comment).
inline EntropyDrops detect_entropy_drops(const std::vector<double>& entropy, const StabilityOptions& o = {}) {
  if (entropy.empty()) throw InvalidArgument("so8t::calib::detect_entropy_drops: empty series");
  EntropyDrops d;
  d.median = detail::median_of(entropy);
  std::vector<double> dev(entropy.size());
  for (std::size_t t = 0; t < entropy.size(); ++t) dev[t] = std::fabs(entropy[t] - d.median);
  d.mad = detail::median_of(dev);
  d.threshold = d.median - std::max(o.drop_kappa * 1.4826 * d.mad, o.drop_min_depth);
  for (std::size_t t = 0; t < entropy.size();) {
    if (!(entropy[t] < d.threshold)) {
      ++t;
      continue;
    }
    std::size_t best = t;
    while (t < entropy.size() && entropy[t] < d.threshold) {
      if (entropy[t] < entropy[best]) best = t;
      ++t;
    }
    d.positions.push_back(best);
  }
  if (d.positions.size() >= 2) {
    std::vector<double> gaps;
    for (std::size_t j = 0; j + 1 < d.positions.size(); ++j) gaps.push_back(double(d.positions[j + 1] - d.positions[j]));
    d.period = detail::median_of(gaps);
    const double tol = std::max(1.0, o.period_tolerance * d.period);
    std::size_t match = 0;
    for (double g : gaps)
      if (std::fabs(g - d.period) <= tol) ++match;
    d.matching_fraction = double(match) / double(gaps.size());
    d.periodic = d.positions.size() >= o.min_drops && d.matching_fraction >= o.period_fraction;
  }
  return d;
}

/// The report from ready-made series (entropy in nats, max logit); both must have the same length.
inline StabilityReport stability_from_series(std::vector<double> entropy, std::vector<double> max_logit,
                                             const StabilityOptions& o = {}) {
  if (entropy.size() != max_logit.size())
    throw InvalidArgument("so8t::calib::stability_from_series: " + std::to_string(entropy.size()) +
                          " entropy values vs " + std::to_string(max_logit.size()) + " max-logit values");
  StabilityReport r;
  r.positions = entropy.size();
  r.entropy_stats = series_stats(entropy);
  r.max_logit_stats = series_stats(max_logit);
  r.drops = detect_entropy_drops(entropy, o);
  r.entropy = std::move(entropy);
  r.max_logit = std::move(max_logit);
  return r;
}

/// Entropy and max-logit series of logits [positions, vocab] and their statistics.
template <class T>
StabilityReport long_text_stability(const LogitsView<T>& logits, const StabilityOptions& o = {}) {
  detail::check_view(logits, "long_text_stability");
  std::vector<double> h(logits.tokens), m(logits.tokens);
  for (std::size_t t = 0; t < logits.tokens; ++t) {
    const SoftmaxStats st = detail::checked_row(logits, t, 1.0, "long_text_stability");
    h[t] = st.entropy();
    m[t] = st.m;
  }
  return stability_from_series(std::move(h), std::move(m), o);
}

}  // namespace so8t::calib
