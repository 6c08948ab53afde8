// so8t/calib/nll.hpp: negative log-likelihood (nats), perplexity and bits per byte.
//
//   NLL = -(1/N) sum_i ln p_{i,y_i},  ln p from log-softmax (lse computed online), p = softmax(z / T)
//   PPL = exp(NLL);  bits per token = NLL / ln 2;  bits per byte = NLL * N_tokens / (ln 2 * N_bytes)
// N counts scored tokens (labels equal to ignore_index are left out).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "so8t/calib/scores.hpp"

namespace so8t::calib {

/// Mean negative log-likelihood in nats.
template <class T, class L>
double nll(const LogitsView<T>& logits, const LabelsView<L>& labels, const CalibOptions& options = {}) {
  return detail::mean_score(logits, labels, options, "nll", [](const TokenScore& s) { return -s.log_prob; });
}

/// exp(NLL).
template <class T, class L>
double perplexity(const LogitsView<T>& logits, const LabelsView<L>& labels, const CalibOptions& options = {}) {
  return std::exp(nll(logits, labels, options));
}

/// Bits per byte from a mean NLL over `tokens` tokens that encode `bytes` bytes of text.
inline double bits_per_byte(double mean_nll, std::size_t tokens, std::size_t bytes) {
  if (bytes == 0) throw InvalidArgument("so8t::calib::bits_per_byte: 0 bytes for " + std::to_string(tokens) + " tokens");
  return mean_nll * double(tokens) / (std::log(2.0) * double(bytes));
}

}  // namespace so8t::calib
