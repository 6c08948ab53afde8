// so8t/calib/binning.hpp: confidence bins and the top-label calibration errors computed from them.
//
// Uniform bins (M = n_bins), boundaries b_k as torch.linspace(0, 1, M + 1) computes them in the confidence's
// own type: step = 1/M, b_k = k * step for k < (M+1)/2 and 1 - (M - k) * step above (so b_M == 1 exactly).
// Slot of a confidence c:
//   EdgeRule::torchmetrics  slot = #{k in 0..M : b_k <= c} - 1    bins [b_s, b_{s+1}); c == 1 -> slot M
//                           (torch.bucketize(c, b, right=True) - 1; M + 1 slots in all)
//   EdgeRule::guo           slot = #{k in 0..M : b_k < c} - 1      bins (b_s, b_{s+1}]; c == 0 -> slot 0
// Per slot s: n_s, conf_s = mean c, acc_s = mean a (0 when empty), w_s = n_s / N. Then
//   ECE   = sum_s w_s |acc_s - conf_s|
//   RMSCE = sqrt(sum_s w_s (acc_s - conf_s)^2)
//   MCE   = max_s |acc_s - conf_s|   (empty slots contribute 0)
// which is torchmetrics' calibration_error with norm 'l1', 'l2', 'max' (and Guo et al.'s ECE/MCE with the
// guo rule). Equal-mass ECE: sort by (c, index), split into M groups with numpy.array_split sizes (the first
// N mod M groups get one extra element; no empty groups: min(M, N) groups), same ECE/RMSCE/MCE formulas.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

#include "so8t/calib/scores.hpp"
#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"

namespace so8t::calib {

/// Boundary k of M uniform bins, as torch.linspace(0, 1, M + 1, dtype=S) computes it.
template <class S>
SO8T_HOST_DEVICE S bin_boundary(int k, int n_bins) {
  const S step = S(1) / S(n_bins);
  const int steps = n_bins + 1;
  if (k < steps / 2) return fp::mul(step, S(k));
  return fp::sub(S(1), fp::mul(step, S(steps - k - 1)));
}

/// Number of slots: M + 1 for the torchmetrics rule, M for the guo rule.
SO8T_HOST_DEVICE int slot_count(int n_bins, EdgeRule rule) {
  return rule == EdgeRule::torchmetrics ? n_bins + 1 : n_bins;
}

/// The slot of confidence c (see the file comment), clamped into [0, slot_count - 1].
template <class S>
SO8T_HOST_DEVICE int bin_slot(S c, int n_bins, EdgeRule rule) {
  int k = static_cast<int>(c * S(n_bins));  // first guess, then exact adjustment against the boundaries
  if (!(k >= 0)) k = 0;
  if (k > n_bins) k = n_bins;
  if (rule == EdgeRule::torchmetrics) {
    // largest k with b_k <= c
    while (k < n_bins && bin_boundary<S>(k + 1, n_bins) <= c) ++k;
    while (k > 0 && bin_boundary<S>(k, n_bins) > c) --k;
    return k;
  }
  // guo: (number of b_j < c) - 1 = largest k with b_k < c
  while (k < n_bins && bin_boundary<S>(k + 1, n_bins) < c) ++k;
  while (k > 0 && !(bin_boundary<S>(k, n_bins) < c)) --k;
  return k > n_bins - 1 ? n_bins - 1 : k;
}

/// One bin of a reliability diagram.
struct ReliabilityBin {
  double lo = 0.0, hi = 0.0;       ///< confidence range of the bin (lo == hi == 1 for torchmetrics' slot M)
  std::size_t count = 0;
  double mean_confidence = 0.0;    ///< 0 when empty
  double accuracy = 0.0;           ///< 0 when empty
  double gap() const { return accuracy - mean_confidence; }
};

/// Top-label calibration errors and the bins they came from (= reliability-diagram data).
struct CalibrationError {
  double ece = 0.0;
  double rmsce = 0.0;
  double mce = 0.0;
  std::size_t count = 0;           ///< samples (scored tokens)
  int n_bins = 0;
  EdgeRule edge_rule = EdgeRule::torchmetrics;
  bool equal_mass = false;         ///< bins of equal count instead of equal width
  double accuracy = 0.0;           ///< overall
  double mean_confidence = 0.0;    ///< overall
  std::vector<ReliabilityBin> bins;
};

/// Running per-slot sums (the part that the CUDA reduction also produces).
struct BinSums {
  int n_bins = 15;
  EdgeRule rule = EdgeRule::torchmetrics;
  std::vector<double> count, conf_sum, acc_sum;

  BinSums(int m, EdgeRule r) : n_bins(m), rule(r) {
    const std::size_t n = static_cast<std::size_t>(slot_count(m, r));
    count.assign(n, 0.0);
    conf_sum.assign(n, 0.0);
    acc_sum.assign(n, 0.0);
  }
  template <class S>
  void add(S confidence, double accuracy) {
    const std::size_t s = static_cast<std::size_t>(bin_slot<S>(confidence, n_bins, rule));
    count[s] += 1.0;
    conf_sum[s] += double(confidence);
    acc_sum[s] += accuracy;
  }

  CalibrationError finish() const {
    CalibrationError r;
    r.n_bins = n_bins;
    r.edge_rule = rule;
    const double n = std::accumulate(count.begin(), count.end(), 0.0);
    r.count = static_cast<std::size_t>(n);
    double l1 = 0.0, l2 = 0.0, mx = 0.0, conf_all = 0.0, acc_all = 0.0;
    for (std::size_t s = 0; s < count.size(); ++s) {
      ReliabilityBin b;
      b.lo = bin_boundary<double>(static_cast<int>(s < static_cast<std::size_t>(n_bins) ? s : n_bins), n_bins);
      b.hi = s < static_cast<std::size_t>(n_bins) ? bin_boundary<double>(static_cast<int>(s) + 1, n_bins) : 1.0;
      b.count = static_cast<std::size_t>(count[s]);
      conf_all += conf_sum[s];
      acc_all += acc_sum[s];
      if (count[s] > 0) {
        b.mean_confidence = conf_sum[s] / count[s];
        b.accuracy = acc_sum[s] / count[s];
        const double gap = std::fabs(b.accuracy - b.mean_confidence);
        const double w = count[s] / n;
        l1 += gap * w;
        l2 += gap * gap * w;
        mx = std::max(mx, gap);
      }
      r.bins.push_back(b);
    }
    if (n > 0) {
      r.ece = l1;
      r.rmsce = std::sqrt(l2);
      r.mce = mx;
      r.accuracy = acc_all / n;
      r.mean_confidence = conf_all / n;
    } else {
      r.ece = r.rmsce = r.mce = r.accuracy = r.mean_confidence = std::nan("");
    }
    return r;
  }
};

/// Equal-mass (equal-count) binning of (confidence, accuracy) pairs; see the file comment.
inline CalibrationError equal_mass_from_pairs(std::vector<double> conf, std::vector<double> acc, int n_bins) {
  const std::size_t n = conf.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return conf[i] < conf[j]; });
  CalibrationError r;
  r.n_bins = n_bins;
  r.equal_mass = true;
  r.count = n;
  const std::size_t groups = std::min<std::size_t>(static_cast<std::size_t>(n_bins), n);
  double l1 = 0.0, l2 = 0.0, mx = 0.0, conf_all = 0.0, acc_all = 0.0;
  std::size_t pos = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t size = n / groups + (g < n % groups ? 1 : 0);
    ReliabilityBin b;
    b.count = size;
    b.lo = conf[order[pos]];
    b.hi = conf[order[pos + size - 1]];
    double cs = 0.0, as = 0.0;
    for (std::size_t j = pos; j < pos + size; ++j) {
      cs += conf[order[j]];
      as += acc[order[j]];
    }
    pos += size;
    conf_all += cs;
    acc_all += as;
    b.mean_confidence = cs / double(size);
    b.accuracy = as / double(size);
    const double gap = std::fabs(b.accuracy - b.mean_confidence);
    const double w = double(size) / double(n);
    l1 += gap * w;
    l2 += gap * gap * w;
    mx = std::max(mx, gap);
    r.bins.push_back(b);
  }
  r.ece = l1;
  r.rmsce = std::sqrt(l2);
  r.mce = mx;
  r.accuracy = acc_all / double(n);
  r.mean_confidence = conf_all / double(n);
  return r;
}

}  // namespace so8t::calib
