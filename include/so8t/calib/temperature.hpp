// so8t/calib/temperature.hpp: temperature scaling fitted by minimising the NLL (Guo et al. 2017).
//
// With beta = 1/T and scored tokens i = 1..N:
//   L(beta)   = (1/N) sum_i [ logsumexp(beta z_i) - beta z_{i,y_i} ]        (mean NLL at temperature 1/beta)
//   L'(beta)  = (1/N) sum_i ( E_{p_beta}[z_i] - z_{i,y_i} )
//   L''(beta) = (1/N) sum_i Var_{p_beta}(z_i) >= 0                           (L is convex in beta)
// Each evaluation is one streaming pass over the logits (online sums of e^{beta(z-m)}, times (z-m) and
// (z-m)^2, rescaled when the row maximum m grows), in double.
// Solver: safeguarded Newton on beta inside the bracket [1/t_max, 1/t_min] (default T in [0.05, 20]),
// starting at beta = 1: the bracket shrinks to the side where L' changes sign; a Newton step that leaves
// the bracket is replaced by its midpoint, or by the bound itself when that bound has not been evaluated
// yet. Converged when |L'| < tolerance (default 1e-8) and the Newton step is below 1e-6 beta; also
// stops when the bracket collapses or max_iterations evaluations are spent. When L' keeps its sign at a
// bound the minimum lies beyond it: the result is that bound and at_lower_bound (T == t_min) or
// at_upper_bound (T == t_max) is set. Accuracy never changes (T > 0 keeps the argmax).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "so8t/calib/scores.hpp"
#include "so8t/calib/views.hpp"

namespace so8t::calib {

struct TemperatureOptions {
  double t_min = 0.05;
  double t_max = 20.0;
  double tolerance = 1e-8;  ///< on |dL/dbeta|
  int max_iterations = 100;
  bool has_ignore_index = false;
  long long ignore_index = -100;
};

struct TemperatureFit {
  double temperature = 1.0;
  double beta = 1.0;           ///< 1 / temperature
  double nll_at_one = 0.0;     ///< mean NLL at T = 1
  double nll = 0.0;            ///< mean NLL at the fitted temperature
  double gradient = 0.0;       ///< dL/dbeta there
  double curvature = 0.0;      ///< d2L/dbeta2 there
  int iterations = 0;          ///< objective evaluations
  bool converged = false;      ///< |gradient| < tolerance at an interior optimum
  bool at_lower_bound = false; ///< T == t_min: the optimum is at or below it
  bool at_upper_bound = false; ///< T == t_max: the optimum is at or above it
  std::size_t count = 0;       ///< scored tokens
};

/// L(beta), L'(beta), L''(beta) (see the file comment).
struct TemperatureObjective {
  double value = 0.0, gradient = 0.0, curvature = 0.0;
};

namespace detail {
template <class T>
void temperature_row(const T* z, std::size_t vocab, double beta, long long label, double& l, double& g, double& h) {
  double m = -HUGE_VAL, s = 0.0, t1 = 0.0, t2 = 0.0;
  for (std::size_t k = 0; k < vocab; ++k) {
    const double x = double(z[k]);
    if (x > m) {
      if (s > 0.0) {
        const double d = m - x;
        const double r = std::exp(fp::mul(beta, d));
        t2 = fp::mul(r, fp::madd(fp::madd(t2, fp::mul(2.0, d), t1), fp::mul(d, d), s));
        t1 = fp::mul(r, fp::madd(t1, d, s));
        s = fp::mul(r, s);
      }
      s += 1.0;
      m = x;
    } else {
      const double d = x - m;
      const double e = std::exp(fp::mul(beta, d));
      s += e;
      const double ed = fp::mul(e, d);
      t1 += ed;
      t2 = fp::madd(t2, ed, d);
    }
  }
  const double dy = double(z[label]) - m;  // <= 0
  const double mean = t1 / s;              // E[z] - m
  l = std::log(s) - fp::mul(beta, dy);
  g = mean - dy;
  const double var = t2 / s - fp::mul(mean, mean);
  h = var > 0.0 ? var : 0.0;
}
}  // namespace detail

/// Mean NLL and its first two derivatives with respect to beta = 1/T.
template <class T, class L>
TemperatureObjective temperature_objective(const LogitsView<T>& logits, const LabelsView<L>& labels, double beta,
                                           const TemperatureOptions& options = {}) {
  detail::check_view(logits, "temperature_objective");
  const std::size_t n = detail::check_labels(labels, logits.tokens, logits.vocab, options.has_ignore_index,
                                             options.ignore_index, "temperature_objective");
  TemperatureObjective o;
  for (std::size_t t = 0; t < logits.tokens; ++t) {
    const long long y = static_cast<long long>(labels.data[t]);
    if (options.has_ignore_index && y == options.ignore_index) continue;
    double l, g, h;
    detail::temperature_row(logits.row(t), logits.vocab, beta, y, l, g, h);
    if (!std::isfinite(l) || !std::isfinite(g) || !std::isfinite(h))
      detail::throw_non_finite_row(logits.row(t), logits.vocab, t, "fit_temperature");
    o.value += l;
    o.gradient += g;
    o.curvature += h;
  }
  o.value /= double(n);
  o.gradient /= double(n);
  o.curvature /= double(n);
  return o;
}

/// Fits T by minimising the mean NLL of softmax(logits / T) against labels (see the file comment).
template <class T, class L>
TemperatureFit fit_temperature(const LogitsView<T>& logits, const LabelsView<L>& labels,
                               const TemperatureOptions& options = {}) {
  if (!(options.t_min > 0.0) || !(options.t_max > options.t_min) || !std::isfinite(options.t_max))
    throw InvalidArgument("so8t::calib::fit_temperature: bad temperature range [" + detail::fmt_double(options.t_min) +
                          ", " + detail::fmt_double(options.t_max) + "]");
  if (!(options.tolerance > 0.0) || options.max_iterations < 1)
    throw InvalidArgument("so8t::calib::fit_temperature: tolerance " + detail::fmt_double(options.tolerance) +
                          " and max_iterations " + std::to_string(options.max_iterations) + " must be positive");
  detail::check_view(logits, "fit_temperature");
  TemperatureFit fit;
  fit.count = detail::check_labels(labels, logits.tokens, logits.vocab, options.has_ignore_index,
                                   options.ignore_index, "fit_temperature");
  const double b_min = 1.0 / options.t_max, b_max = 1.0 / options.t_min;
  double lo = b_min, hi = b_max;
  bool lo_known = false, hi_known = false;  // L' evaluated at lo (< 0 there) / at hi (> 0 there)
  double beta = 1.0 < b_min ? b_min : (1.0 > b_max ? b_max : 1.0);
  if (beta != 1.0) fit.nll_at_one = temperature_objective(logits, labels, 1.0, options).value;
  TemperatureObjective o;
  for (int it = 0; it < options.max_iterations; ++it) {
    o = temperature_objective(logits, labels, beta, options);
    ++fit.iterations;
    if (beta == 1.0) fit.nll_at_one = o.value;
    fit.beta = beta;
    double cand = o.curvature > 0.0 ? beta - o.gradient / o.curvature
                                    : (o.gradient > 0.0 ? -HUGE_VAL : (o.gradient < 0.0 ? HUGE_VAL : beta));
    // Converged only when the gradient is small *and* the Newton step is negligible: on separable data
    // L' and L'' decay together exponentially while the minimum is still at beta -> infinity (steps of
    // about 1/margin), which must end at the bound, not at a small gradient.
    if (std::fabs(o.gradient) < options.tolerance && std::fabs(cand - beta) <= 1e-6 * beta) {
      fit.converged = true;
      break;
    }
    if (o.gradient > 0.0) {
      hi = beta;
      hi_known = true;
      if (beta == b_min) {
        fit.at_upper_bound = true;  // L increasing everywhere in range: smallest beta, largest T
        break;
      }
    } else {
      lo = beta;
      lo_known = true;
      if (beta == b_max) {
        fit.at_lower_bound = true;
        break;
      }
    }
    if (!(hi - lo > 1e-15 * hi)) break;
    if (!(cand > lo && cand < hi)) {
      if (o.gradient < 0.0 && cand >= hi && !hi_known && hi == b_max) cand = b_max;
      else if (o.gradient > 0.0 && cand <= lo && !lo_known && lo == b_min) cand = b_min;
      else cand = 0.5 * (lo + hi);
    }
    beta = cand;
  }
  // fit.beta is the last evaluated point (a pending Newton step is dropped when max_iterations runs out)
  fit.temperature = fit.at_lower_bound ? options.t_min : (fit.at_upper_bound ? options.t_max : 1.0 / fit.beta);
  fit.nll = o.value;
  fit.gradient = o.gradient;
  fit.curvature = o.curvature;
  return fit;
}

}  // namespace so8t::calib
