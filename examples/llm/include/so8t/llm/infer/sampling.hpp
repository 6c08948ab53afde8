// so8t/llm/infer/sampling.hpp: next-token sampling from one row of logits: temperature, top-k, top-p (nucleus),
// seeded.
//
// Order as llama.cpp's default chain applies them: top-k, then top-p on the renormalised top-k set, then
// temperature, then a draw. temperature <= 0 is greedy (argmax, lowest id on ties). top_k <= 0 or >= vocab
// keeps every token; top_p >= 1 keeps every token; top-p keeps the smallest prefix (by probability, highest
// first) whose mass reaches top_p, and always at least one token. Probabilities are computed in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"

namespace so8t::llm {

struct SamplingOptions {
  double temperature = 0.8;
  int top_k = 40;
  double top_p = 0.95;
  std::uint64_t seed = 1;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& o) : opt_(o), rng_(o.seed) {
    if (!std::isfinite(o.temperature))
      throw InvalidArgument("so8t::llm::Sampler: temperature " + std::to_string(o.temperature) + " is not finite");
    if (!(o.top_p > 0.0) || !std::isfinite(o.top_p))
      throw InvalidArgument("so8t::llm::Sampler: top_p = " + std::to_string(o.top_p) + " (must be in (0, 1])");
  }

  std::int32_t sample(const float* logits, int vocab) {
    if (vocab <= 0) throw InvalidArgument("so8t::llm::Sampler::sample: vocab = " + std::to_string(vocab));
    for (int v = 0; v < vocab; ++v)
      if (std::isnan(logits[v]))
        throw InvalidArgument("so8t::llm::Sampler::sample: logit " + std::to_string(v) + " is NaN");
    if (opt_.temperature <= 0.0) return std::int32_t(std::max_element(logits, logits + vocab) - logits);
    idx_.resize(std::size_t(vocab));
    std::iota(idx_.begin(), idx_.end(), 0);
    auto by_logit = [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    std::size_t k = (opt_.top_k <= 0 || opt_.top_k >= vocab) ? std::size_t(vocab) : std::size_t(opt_.top_k);
    std::partial_sort(idx_.begin(), idx_.begin() + std::ptrdiff_t(k), idx_.end(), by_logit);
    idx_.resize(k);
    // top-p on the (temperature 1) softmax of the kept set
    const double m = logits[idx_[0]];
    p_.resize(k);
    double sum = 0.0;
    for (std::size_t i = 0; i < k; ++i) sum += (p_[i] = std::exp(double(logits[idx_[i]]) - m));
    if (opt_.top_p < 1.0) {
      double acc = 0.0;
      std::size_t keep = k;
      for (std::size_t i = 0; i < k; ++i) {
        acc += p_[i] / sum;
        if (acc >= opt_.top_p) { keep = i + 1; break; }
      }
      idx_.resize(keep);
    }
    // temperature, then draw
    p_.resize(idx_.size());
    double total = 0.0;
    for (std::size_t i = 0; i < idx_.size(); ++i)
      total += (p_[i] = std::exp((double(logits[idx_[i]]) - m) / opt_.temperature));
    const double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
    double acc = 0.0;
    for (std::size_t i = 0; i < idx_.size(); ++i) {
      acc += p_[i];
      if (u < acc) return idx_[i];
    }
    return idx_.back();
  }

 private:
  SamplingOptions opt_;
  std::mt19937_64 rng_;
  std::vector<int> idx_;
  std::vector<double> p_;
};

}  // namespace so8t::llm
