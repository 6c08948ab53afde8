// so8t/calib/brier.hpp: the multiclass Brier score over the full vocabulary, not halved.
//
//   Brier = (1/N) sum_i sum_k (p_ik - [k == y_i])^2 = (1/N) sum_i (1 - 2 p_{i,y_i} + sum_k p_ik^2)  in [0, 2]
// with p_i = softmax(z_i / T), computed with the O(V) identity from one streaming pass per row (no one-hot
// vector), sum_k p^2 = sum e^{2(z-m)} / (sum e^{z-m})^2 accumulated in double.
#pragma once

#include "so8t/calib/scores.hpp"

namespace so8t::calib {

/// Mean Brier score of softmax(logits / T) against labels (ignored tokens left out).
template <class T, class L>
double brier(const LogitsView<T>& logits, const LabelsView<L>& labels, const CalibOptions& options = {}) {
  return detail::mean_score(logits, labels, options, "brier", [](const TokenScore& s) { return s.brier(); });
}

}  // namespace so8t::calib
