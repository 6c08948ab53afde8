// so8t/calib/summary.hpp: every calibration number from one pass over the logits.
//
// calibration_summary(logits, labels, options) = { accuracy, nll, perplexity, brier, mean entropy,
// ece/rmsce/mce with uniform bins (+ reliability bins), the same with equal-mass bins }, each exactly as the
// single-metric functions (ece, brier, nll, ece_equal_mass) define and compute it.
#pragma once

#include <cmath>
#include <vector>

#include "so8t/calib/binning.hpp"
#include "so8t/calib/scores.hpp"

namespace so8t::calib {

struct CalibrationSummary {
  std::size_t count = 0;       ///< scored tokens
  double accuracy = 0.0;       ///< top-1
  double nll = 0.0;            ///< nats
  double perplexity = 0.0;
  double brier = 0.0;
  double mean_entropy = 0.0;   ///< nats
  CalibrationError uniform;    ///< options.n_bins uniform bins, options.edge_rule
  CalibrationError equal_mass; ///< options.n_bins equal-count bins
};

template <class T, class L>
CalibrationSummary calibration_summary(const LogitsView<T>& logits, const LabelsView<L>& labels,
                                       const CalibOptions& options = {}) {
  BinSums sums(options.n_bins < 1 ? 1 : options.n_bins, options.edge_rule);
  std::vector<double> conf, acc;
  double nll_sum = 0.0, brier_sum = 0.0, ent_sum = 0.0, correct = 0.0;
  const std::size_t n = detail::for_each_score(logits, labels, options, "calibration_summary", [&](const TokenScore& s) {
    const double a = s.correct ? 1.0 : 0.0;
    sums.add<double>(s.confidence, a);
    conf.push_back(s.confidence);
    acc.push_back(a);
    nll_sum -= s.log_prob;
    brier_sum += s.brier();
    ent_sum += s.entropy;
    correct += a;
  });
  CalibrationSummary r;
  r.count = n;
  r.accuracy = correct / double(n);
  r.nll = nll_sum / double(n);
  r.perplexity = std::exp(r.nll);
  r.brier = brier_sum / double(n);
  r.mean_entropy = ent_sum / double(n);
  r.uniform = sums.finish();
  r.equal_mass = equal_mass_from_pairs(std::move(conf), std::move(acc), options.n_bins);
  return r;
}

}  // namespace so8t::calib
