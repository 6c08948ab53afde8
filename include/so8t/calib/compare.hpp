// so8t/calib/compare.hpp: pre vs post logits (before and after a bake or a quantization).
//
// Over [tokens, vocab] logits a (pre) and b (post), d = a - b elementwise:
//   max_abs_diff  = max |d|  (and where: token, vocabulary index)
//   mean_abs_diff = sum |d| / (tokens * vocab)
//   rms_diff      = sqrt(sum d^2 / (tokens * vocab))
//   KL_t          = KL(p_pre,t || p_post,t) = sum_k p_pre (ln p_pre - ln p_post), p = softmax of the row,
//                   computed from log-softmax in one streaming pass per row (calib/softmax_stats.hpp);
//                   kl_mean = mean_t KL_t, kl_max = max_t KL_t (and its token)
//   top1_agreement = fraction of tokens whose argmax (lowest index on ties) is the same.
// Accumulation is in double for float and double logits. Vocabularies of any size stream through without
// temporary buffers (151,936-entry rows are 600 KB each in float).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "so8t/calib/softmax_stats.hpp"
#include "so8t/calib/views.hpp"

namespace so8t::calib {

/// Result of compare_logits.
struct LogitComparison {
  std::size_t tokens = 0;
  std::size_t vocab = 0;
  double max_abs_diff = 0.0;
  std::size_t max_abs_token = 0;  ///< token of the largest |d|
  std::size_t max_abs_index = 0;  ///< vocabulary index of the largest |d|
  double mean_abs_diff = 0.0;
  double rms_diff = 0.0;
  double kl_mean = 0.0;  ///< mean over tokens of KL(p_pre || p_post), nats
  double kl_max = 0.0;
  std::size_t kl_max_token = 0;
  std::size_t top1_agree = 0;  ///< tokens with the same argmax
  double top1_agreement = 0.0;  ///< top1_agree / tokens
};

/// One-pass statistics of one pair of rows (no checks).
template <class T>
PairStats pair_stats_row(const T* a, const T* b, std::size_t vocab) {
  PairStats st;
  for (std::size_t k = 0; k < vocab; ++k) st.push(double(a[k]), double(b[k]), static_cast<long long>(k));
  return st;
}

namespace detail {
template <class T>
PairStats checked_pair_row(const LogitsView<T>& a, const LogitsView<T>& b, std::size_t t, const char* fn) {
  const PairStats st = pair_stats_row(a.row(t), b.row(t), a.vocab);
  if (!st.finite()) {
    for (std::size_t k = 0; k < a.vocab; ++k)
      if (!std::isfinite(double(a.row(t)[k]))) throw_non_finite_row(a.row(t), a.vocab, t, fn, "pre");
    throw_non_finite_row(b.row(t), b.vocab, t, fn, "post");
  }
  return st;
}
}  // namespace detail

/// Mean over tokens of KL(p || q) in nats, p = softmax(p_logits row), q = softmax(q_logits row).
/// per_token (optional) receives the tokens values.
template <class T>
double kl_divergence(const LogitsView<T>& p_logits, const LogitsView<T>& q_logits,
                     std::vector<double>* per_token = nullptr) {
  detail::check_same_shape(p_logits, q_logits, "kl_divergence");
  if (per_token) per_token->assign(p_logits.tokens, 0.0);
  double sum = 0.0;
  for (std::size_t t = 0; t < p_logits.tokens; ++t) {
    const double kl = detail::checked_pair_row(p_logits, q_logits, t, "kl_divergence").kl();
    if (per_token) (*per_token)[t] = kl;
    sum += kl;
  }
  return sum / double(p_logits.tokens);
}

/// All pre/post statistics in one pass over both arrays. kl_per_token (optional) gets KL_t.
template <class T>
LogitComparison compare_logits(const LogitsView<T>& pre, const LogitsView<T>& post,
                               std::vector<double>* kl_per_token = nullptr) {
  detail::check_same_shape(pre, post, "compare_logits");
  if (kl_per_token) kl_per_token->assign(pre.tokens, 0.0);
  LogitComparison r;
  r.tokens = pre.tokens;
  r.vocab = pre.vocab;
  double sum_abs = 0.0, sum_sq = 0.0, sum_kl = 0.0;
  bool first = true;
  for (std::size_t t = 0; t < pre.tokens; ++t) {
    const PairStats st = detail::checked_pair_row(pre, post, t, "compare_logits");
    const double kl = st.kl();
    if (kl_per_token) (*kl_per_token)[t] = kl;
    sum_abs += st.sum_abs;
    sum_sq += st.sum_sq;
    sum_kl += kl;
    if (first || st.max_abs > r.max_abs_diff) {
      r.max_abs_diff = st.max_abs;
      r.max_abs_token = t;
      r.max_abs_index = static_cast<std::size_t>(st.arg_max_abs);
    }
    if (first || kl > r.kl_max) {
      r.kl_max = kl;
      r.kl_max_token = t;
    }
    if (st.arg_a == st.arg_b) ++r.top1_agree;
    first = false;
  }
  const double n = double(pre.tokens) * double(pre.vocab);
  r.mean_abs_diff = sum_abs / n;
  r.rms_diff = std::sqrt(sum_sq / n);
  r.kl_mean = sum_kl / double(pre.tokens);
  r.top1_agreement = double(r.top1_agree) / double(pre.tokens);
  return r;
}

}  // namespace so8t::calib
