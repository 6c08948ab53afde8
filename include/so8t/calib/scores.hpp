// so8t/calib/scores.hpp: per-token scores of logits against labels, the input of every calibration metric.
//
// For each scored token i (label != ignore_index), with p_i = softmax(z_i / T) (T = options.temperature):
//   confidence c_i = max_k p_ik = 1 / sum_k e^{(z_ik - m_i)/T}   (exactly the top probability)
//   prediction     = lowest index attaining the maximum;  correct a_i = [prediction == y_i]
//   log_prob       = ln p_{i,y_i} (from log-softmax);     nll_i = -log_prob
//   sum_p2         = sum_k p_ik^2;                        brier_i = 1 - 2 p_{i,y_i} + sum_p2 (in [0, 2])
//   entropy        = -sum_k p_ik ln p_ik (nats)
// One streaming pass per row (calib/softmax_stats.hpp), in double.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "so8t/calib/softmax_stats.hpp"
#include "so8t/calib/views.hpp"

namespace so8t::calib {

/// Which confidences fall into which bin when a confidence equals a bin edge k/M.
enum class EdgeRule {
  torchmetrics,  ///< bins [lo, hi); c == 1.0 goes into an extra slot M (so M + 1 slots). The default.
  guo,           ///< bins (lo, hi] as in Guo et al. 2017; c == 1.0 in bin M - 1, c == 0 in bin 0.
};

/// Options shared by the calibration functions.
struct CalibOptions {
  int n_bins = 15;                       ///< uniform bins (and groups for equal-mass ECE)
  double temperature = 1.0;              ///< p = softmax(z / temperature)
  bool has_ignore_index = false;         ///< when true, tokens whose label == ignore_index are skipped
  long long ignore_index = -100;
  EdgeRule edge_rule = EdgeRule::torchmetrics;
};

/// The scores of one token.
struct TokenScore {
  std::size_t token = 0;     ///< row index in the logits
  long long label = 0;
  long long prediction = 0;  ///< lowest argmax
  bool correct = false;
  double confidence = 0.0;   ///< top probability
  double log_prob = 0.0;     ///< ln p(label)
  double sum_p2 = 0.0;
  double entropy = 0.0;
  double brier() const { return 1.0 - 2.0 * std::exp(log_prob) + sum_p2; }
  double nll() const { return -log_prob; }
};

/// Softmax statistics of row z[0..vocab) at inverse temperature beta (no checks).
template <class T>
SoftmaxStats softmax_stats_row(const T* z, std::size_t vocab, double beta = 1.0) {
  SoftmaxStats st;
  if (beta == 1.0) {
    for (std::size_t k = 0; k < vocab; ++k) st.push(double(z[k]), static_cast<long long>(k));
  } else {
    for (std::size_t k = 0; k < vocab; ++k) st.push(fp::mul(beta, double(z[k])), static_cast<long long>(k));
  }
  return st;
}

namespace detail {
template <class T>
SoftmaxStats checked_row(const LogitsView<T>& z, std::size_t t, double beta, const char* fn) {
  const SoftmaxStats st = softmax_stats_row(z.row(t), z.vocab, beta);
  if (!st.finite()) throw_non_finite_row(z.row(t), z.vocab, t, fn);
  return st;
}

inline void check_bins(int n_bins, const char* fn) {
  if (n_bins < 1)
    throw InvalidArgument(std::string("so8t::calib::") + fn + ": n_bins " + std::to_string(n_bins) +
                          " must be at least 1");
}

/// Calls f(const TokenScore&) for every scored token, in order, after validating everything.
template <class T, class L, class F>
std::size_t for_each_score(const LogitsView<T>& z, const LabelsView<L>& y, const CalibOptions& o, const char* fn,
                           F&& f) {
  check_view(z, fn);
  const double beta = check_temperature(o.temperature, fn);
  check_bins(o.n_bins, fn);
  const std::size_t scored = check_labels(y, z.tokens, z.vocab, o.has_ignore_index, o.ignore_index, fn);
  for (std::size_t t = 0; t < z.tokens; ++t) {
    const long long lab = static_cast<long long>(y.data[t]);
    if (o.has_ignore_index && lab == o.ignore_index) continue;
    const SoftmaxStats st = checked_row(z, t, beta, fn);
    TokenScore s;
    s.token = t;
    s.label = lab;
    s.prediction = st.argmax;
    s.correct = st.argmax == lab;
    s.confidence = st.confidence();
    s.log_prob = st.log_prob(fp::mul(beta, double(z.row(t)[lab])));
    s.sum_p2 = st.sum_p2();
    s.entropy = st.entropy();
    f(static_cast<const TokenScore&>(s));
  }
  return scored;
}

/// Mean of f(score) over the scored tokens (for_each_score's checks and errors, named fn).
template <class T, class L, class F>
double mean_score(const LogitsView<T>& z, const LabelsView<L>& y, const CalibOptions& o, const char* fn, F&& f) {
  double sum = 0.0;
  const std::size_t n = for_each_score(z, y, o, fn, [&](const TokenScore& s) { sum += f(s); });
  return sum / double(n);
}
}  // namespace detail

/// Per-token scores of every scored token (ignored tokens are left out).
template <class T, class L>
std::vector<TokenScore> score_tokens(const LogitsView<T>& logits, const LabelsView<L>& labels,
                                     const CalibOptions& options = {}) {
  std::vector<TokenScore> out;
  out.reserve(labels.count);
  detail::for_each_score(logits, labels, options, "score_tokens", [&](const TokenScore& s) { out.push_back(s); });
  return out;
}

}  // namespace so8t::calib
