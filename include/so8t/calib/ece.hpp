// so8t/calib/ece.hpp: top-label ECE, RMSCE and MCE (uniform bins, torchmetrics edge rule by default),
// equal-mass ECE, and their reliability-diagram data. Formulas: calib/binning.hpp.
//
//   ece(logits, labels, options)                     logits [tokens, vocab] -> softmax(z / T), top label
//   ece(confidences, accuracies, n, n_bins, rule)    precomputed pairs, e.g. torchmetrics' *binary* mode
//                                                    (confidence = p(class 1), accuracy = target)
//   ece_equal_mass(...)                              the same with equal-count bins
//   top_label_probabilities(probs, labels)           confidences/accuracies from probability rows
//                                                    (torchmetrics' multiclass input when already in [0,1])
// The returned CalibrationError holds ece, rmsce, mce and the per-bin counts, mean confidences and
// accuracies (plot them with calib/reliability_svg.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "so8t/calib/binning.hpp"
#include "so8t/calib/scores.hpp"
#include "so8t/calib/views.hpp"

namespace so8t::calib {

/// Top-label calibration errors of softmax(logits / T) against labels.
template <class T, class L>
CalibrationError ece(const LogitsView<T>& logits, const LabelsView<L>& labels, const CalibOptions& options = {}) {
  BinSums sums(options.n_bins < 1 ? 1 : options.n_bins, options.edge_rule);
  detail::for_each_score(logits, labels, options, "ece",
                         [&](const TokenScore& s) { sums.add<double>(s.confidence, s.correct ? 1.0 : 0.0); });
  return sums.finish();
}

namespace detail {
template <class S, class A>
void check_pairs(const S* conf, const A* acc, std::size_t n, int n_bins, const char* fn) {
  check_bins(n_bins, fn);
  if (n == 0) throw InvalidArgument(std::string("so8t::calib::") + fn + ": empty input (0 samples)");
  if (conf == nullptr || acc == nullptr)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": null pointer for " + std::to_string(n) +
                          " samples");
  for (std::size_t i = 0; i < n; ++i) {
    const double c = double(conf[i]);
    if (!(c >= 0.0 && c <= 1.0))
      throw InvalidArgument(std::string("so8t::calib::") + fn + ": confidence " + fmt_double(c) + " at sample " +
                            std::to_string(i) + " is outside [0, 1]");
    const double a = double(acc[i]);
    if (!(a >= 0.0 && a <= 1.0))
      throw InvalidArgument(std::string("so8t::calib::") + fn + ": accuracy " + fmt_double(a) + " at sample " +
                            std::to_string(i) + " is outside [0, 1]");
  }
}
}  // namespace detail

/// Calibration errors of precomputed (confidence, accuracy) pairs. Boundaries are computed in S, the
/// confidences' own type (torchmetrics >= 1.0.2 behaviour). A may be bool, an integer 0/1 or a float.
template <class S, class A>
CalibrationError ece(const S* confidences, const A* accuracies, std::size_t n, int n_bins = 15,
                     EdgeRule rule = EdgeRule::torchmetrics) {
  detail::check_pairs(confidences, accuracies, n, n_bins, "ece");
  BinSums sums(n_bins, rule);
  for (std::size_t i = 0; i < n; ++i) sums.add<S>(confidences[i], double(accuracies[i]));
  return sums.finish();
}

/// Equal-mass ECE/RMSCE/MCE of softmax(logits / T) (options.n_bins groups; edge_rule is not used).
template <class T, class L>
CalibrationError ece_equal_mass(const LogitsView<T>& logits, const LabelsView<L>& labels,
                                const CalibOptions& options = {}) {
  std::vector<double> conf, acc;
  detail::for_each_score(logits, labels, options, "ece_equal_mass", [&](const TokenScore& s) {
    conf.push_back(s.confidence);
    acc.push_back(s.correct ? 1.0 : 0.0);
  });
  return equal_mass_from_pairs(std::move(conf), std::move(acc), options.n_bins);
}

/// Equal-mass calibration errors of precomputed pairs.
template <class S, class A>
CalibrationError ece_equal_mass(const S* confidences, const A* accuracies, std::size_t n, int n_bins = 15) {
  detail::check_pairs(confidences, accuracies, n, n_bins, "ece_equal_mass");
  std::vector<double> conf(n), acc(n);
  for (std::size_t i = 0; i < n; ++i) {
    conf[i] = double(confidences[i]);
    acc[i] = double(accuracies[i]);
  }
  return equal_mass_from_pairs(std::move(conf), std::move(acc), n_bins);
}

/// Top-label confidences (max probability, in the input type) and accuracies (lowest argmax == label)
/// of probability rows [tokens, classes]. Rows are taken as given (not renormalised); values outside
/// [0, 1] or NaN are rejected.
template <class T>
struct TopLabel {
  std::vector<T> confidence;
  std::vector<unsigned char> correct;
};

template <class T, class L>
TopLabel<T> top_label_probabilities(const LogitsView<T>& probs, const LabelsView<L>& labels) {
  detail::check_view(probs, "top_label_probabilities", "probabilities");
  detail::check_labels(labels, probs.tokens, probs.vocab, false, 0, "top_label_probabilities");
  TopLabel<T> r;
  r.confidence.resize(probs.tokens);
  r.correct.resize(probs.tokens);
  for (std::size_t t = 0; t < probs.tokens; ++t) {
    const T* p = probs.row(t);
    std::size_t best = 0;
    for (std::size_t k = 0; k < probs.vocab; ++k) {
      if (!(p[k] >= T(0) && p[k] <= T(1)))
        throw InvalidArgument("so8t::calib::top_label_probabilities: probability " + detail::fmt_double(double(p[k])) +
                              " at token " + std::to_string(t) + ", index " + std::to_string(k) +
                              " is outside [0, 1]");
      if (p[k] > p[best]) best = k;
    }
    r.confidence[t] = p[best];
    r.correct[t] = static_cast<long long>(best) == static_cast<long long>(labels.data[t]) ? 1 : 0;
  }
  return r;
}

}  // namespace so8t::calib
