// Gradient check of every parameter group of the gated tiny llama against central finite differences in
// double, on the `micro` config (GQA, stacked gates, PET with a document boundary).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "so8t/llm/train/llama_cpu.hpp"
#include "llm/train/train_fixtures.hpp"

using namespace so8t::llm;

namespace {

using train_test::TokenBatch;

TokenBatch micro_batch(int B, int T, std::uint64_t seed) { return train_test::random_token_batch(B, T, seed); }

void perturb_init(LlamaCpu<double>& m, std::uint64_t seed) {
  llama_init(m.config(), m.layout(), m.params.data(), seed, 0.3);
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (const auto& t : m.layout().tensors) {
    for (std::size_t i = 0; i < t.size(); ++i) {
      double& w = m.params[t.offset + i];
      if (t.kind == ParamKind::norm) w = 1.0 + 0.2 * nd(rng);
      else if (t.kind != ParamKind::gate) w *= 10.0;  // larger weights: a non-trivial attention pattern
    }
  }
}

}  // namespace

class LlamaGradCheck : public ::testing::TestWithParam<int> {};

TEST_P(LlamaGradCheck, EveryParameterGroupMatchesFiniteDifferences) {
  LlamaConfig cfg = llama_preset("micro");
  cfg.gate_stack = GetParam();
  LlamaCpu<double> m(cfg);
  perturb_init(m, 7);
  const TokenBatch b = micro_batch(2, cfg.ctx, 11);
  const double lambda = 0.7;
  m.forward(b.tok.data(), b.tgt.data(), b.seg.data(), b.B, b.T, lambda);
  m.backward();
  const std::vector<double> g = m.grads;
  std::mt19937_64 rng(3);
  double worst = 0.0;
  for (const auto& t : m.layout().tensors) {
    double group_worst = 0.0, group_scale = 0.0;
    const int probes = 8;
    for (int p = 0; p < probes; ++p) {
      std::size_t i = t.offset + rng() % t.size();
      if (t.kind == ParamKind::embedding) i = t.offset + std::size_t(b.tok[p % b.tok.size()]) * cfg.dim + rng() % cfg.dim;
      const double h = 1e-5, w0 = m.params[i];
      m.params[i] = w0 + h;
      const double lp = m.forward(b.tok.data(), b.tgt.data(), b.seg.data(), b.B, b.T, lambda).loss;
      m.params[i] = w0 - h;
      const double lm = m.forward(b.tok.data(), b.tgt.data(), b.seg.data(), b.B, b.T, lambda).loss;
      m.params[i] = w0;
      const double fd = (lp - lm) / (2 * h);
      group_worst = std::max(group_worst, std::abs(fd - g[i]));
      group_scale = std::max(group_scale, std::abs(fd));
    }
    const double rel = group_worst / std::max(group_scale, 1e-8);
    worst = std::max(worst, rel);
    EXPECT_LT(group_worst, 1e-7 + 1e-6 * group_scale) << t.name << ": max |analytic - fd| = " << group_worst
                                                      << " at gradient scale " << group_scale;
    EXPECT_GT(group_scale, 0.0) << t.name << " has no gradient at all";
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
  std::printf("gate_stack %d: worst relative gradient error %.3g\n", GetParam(), worst);
}

INSTANTIATE_TEST_SUITE_P(GateStacks, LlamaGradCheck, ::testing::Values(0, 1, 2));

TEST(LlamaGradCheck, PetDoesNotMixDocuments) {
  // Changing the hidden state of a position only moves PET through triples inside its own document: with
  // every position its own document the PET term is zero and lambda does not change the loss.
  LlamaConfig cfg = llama_preset("micro");
  LlamaCpu<double> m(cfg);
  perturb_init(m, 5);
  TokenBatch b = micro_batch(1, cfg.ctx, 2);
  for (int i = 0; i < cfg.ctx; ++i) b.seg[i] = i;
  const LossParts a = m.forward(b.tok.data(), b.tgt.data(), b.seg.data(), 1, cfg.ctx, 1.0);
  EXPECT_EQ(a.pet_triples, 0u);
  EXPECT_EQ(a.loss, a.ce);
  for (int i = 0; i < cfg.ctx; ++i) b.seg[i] = i < 3 ? 0 : 1;  // triples only at t = 1 and t = 4 .. T-2
  const LossParts c = m.forward(b.tok.data(), b.tgt.data(), b.seg.data(), 1, cfg.ctx, 1.0);
  EXPECT_EQ(c.pet_triples, std::size_t(1 + (cfg.ctx - 2 - 4 + 1)));
}
