// so8t::llm::LlamaCuda (so8t/llm/train/llama_cuda.cuh) against LlamaCpu<double>: loss parts and every
// parameter group's gradient on configs with GQA, no / one / two gate stacks and PET with a document boundary;
// clipping and AdamW against the host versions. The argument checks run without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "so8t/llm/train/llama_cuda.cuh"
#include "so8t/llm/train/adamw.hpp"
#include "so8t/llm/train/llama_cpu.hpp"
#include "support/cuda_test.hpp"
#include "llm/train/train_fixtures.hpp"

using namespace so8t::llm;

namespace {

using TestBatch = train_test::TokenBatch;

TestBatch make_batch(int B, int T, std::uint64_t seed) { return train_test::random_token_batch(B, T, seed); }

// float parameters with a non-trivial attention pattern, norms away from 1 and gates away from the identity
// (matrices scaled by `boost`: 10 on micro as in test_llama_grad.cpp; less on wide rows, where 10 would saturate
// the softmax).
std::vector<float> make_params(const LlamaConfig& cfg, const ParamLayout& lay, std::uint64_t seed,
                               double boost = 10.0) {
  std::vector<double> p(lay.total);
  llama_init(cfg, lay, p.data(), seed, 0.3);
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (const auto& t : lay.tensors)
    for (std::size_t i = 0; i < t.size(); ++i) {
      double& w = p[t.offset + i];
      if (t.kind == ParamKind::norm) w = 1.0 + 0.2 * nd(rng);
      else if (t.kind != ParamKind::gate) w *= boost;
    }
  return std::vector<float>(p.begin(), p.end());
}

// Runs one forward/backward on both and compares loss parts and every tensor's gradient.
void compare_with_cpu(const LlamaConfig& cfg, const TestBatch& b, bool with_segments, double lambda,
                      double boost = 10.0) {
  LlamaCpu<double> ref(cfg);
  const std::vector<float> pf = make_params(cfg, ref.layout(), 7, boost);
  ref.params.assign(pf.begin(), pf.end());
  const std::int32_t* seg = with_segments ? b.seg.data() : nullptr;
  const LossParts lr = ref.forward(b.tok.data(), b.tgt.data(), seg, b.B, b.T, lambda);
  ref.backward();

  LlamaCuda m(cfg);
  m.upload_params(pf.data(), pf.size());
  const LossParts lc = m.forward(b.tok.data(), b.tgt.data(), seg, b.B, b.T, lambda);
  m.backward();
  std::vector<float> g(m.num_params());
  m.download_grads(g.data(), g.size());

  EXPECT_NEAR(lc.ce, lr.ce, 1e-4 * std::abs(lr.ce));
  EXPECT_NEAR(lc.pet, lr.pet, 1e-4 * std::abs(lr.pet) + 1e-9);
  EXPECT_NEAR(lc.loss, lr.loss, 1e-4 * std::abs(lr.loss));
  EXPECT_EQ(lc.pet_triples, lr.pet_triples);
  for (const auto& t : ref.layout().tensors) {
    double worst = 0.0, scale = 0.0;
    for (std::size_t i = t.offset; i < t.offset + t.size(); ++i) {
      worst = std::max(worst, std::abs(double(g[i]) - ref.grads[i]));
      scale = std::max(scale, std::abs(ref.grads[i]));
    }
    EXPECT_GT(scale, 0.0) << t.name << ": zero reference gradient";
    EXPECT_LE(worst, 1e-4 * scale) << t.name << ": max |cuda - cpu| = " << worst << ", max |cpu| = " << scale;
  }
}

}  // namespace

// ---- no GPU needed ----

TEST(LlamaCudaArgs, BadConfigThrowsInvalidArgumentBeforeAnyCudaCall) {
  LlamaConfig cfg = llama_preset("micro");
  cfg.dim = 12;  // not a multiple of 8
  EXPECT_THROW(LlamaCuda m(cfg), so8t::InvalidArgument);
  cfg = llama_preset("micro");
  cfg.n_kv_heads = 3;  // 4 heads are not a multiple of 3
  EXPECT_THROW(LlamaCuda m(cfg), so8t::InvalidArgument);
}

TEST(LlamaCudaArgs, CheckBatchRejectsBadShapesAndIds) {
  const LlamaConfig cfg = llama_preset("micro");
  const TestBatch b = make_batch(2, cfg.ctx, 1);
  EXPECT_NO_THROW(LlamaCuda::check_batch(cfg, b.tok.data(), b.tgt.data(), 2, cfg.ctx));
  EXPECT_THROW(LlamaCuda::check_batch(cfg, b.tok.data(), b.tgt.data(), 1, cfg.ctx + 1), so8t::InvalidArgument);
  EXPECT_THROW(LlamaCuda::check_batch(cfg, b.tok.data(), b.tgt.data(), 0, 4), so8t::InvalidArgument);
  EXPECT_THROW(LlamaCuda::check_batch(cfg, nullptr, b.tgt.data(), 1, 4), so8t::InvalidArgument);
  std::vector<std::int32_t> bad = b.tok;
  bad[3] = kVocab;
  EXPECT_THROW(LlamaCuda::check_batch(cfg, bad.data(), b.tgt.data(), 2, cfg.ctx), so8t::InvalidArgument);
  bad[3] = -1;
  EXPECT_THROW(LlamaCuda::check_batch(cfg, b.tok.data(), bad.data(), 2, cfg.ctx), so8t::InvalidArgument);
}

TEST(LlamaCudaArgs, ConstructionWithoutDeviceThrowsCudaError) {
  if (so8t::cuda::device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  try {
    LlamaCuda m(llama_preset("micro"));
    FAIL() << "LlamaCuda constructed without a device";
  } catch (const so8t::CudaError& e) {
    EXPECT_EQ(e.code(), int(cudaErrorNoDevice));
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
}

// ---- GPU ----

class LlamaCudaVsCpu : public ::testing::TestWithParam<int> {};

TEST_P(LlamaCudaVsCpu, MicroLossAndEveryGradientMatch) {
  SO8T_SKIP_WITHOUT_GPU();
  LlamaConfig cfg = llama_preset("micro");  // GQA: 4 query heads on 2 kv heads
  cfg.gate_stack = GetParam();
  compare_with_cpu(cfg, make_batch(2, cfg.ctx, 11), true, 0.7);
}

TEST_P(LlamaCudaVsCpu, ShortWindowWithoutSegmentsMatches) {
  SO8T_SKIP_WITHOUT_GPU();
  LlamaConfig cfg = llama_preset("micro");
  cfg.gate_stack = GetParam();
  compare_with_cpu(cfg, make_batch(3, 5, 12), false, 0.3);
}

TEST_P(LlamaCudaVsCpu, WiderRowsThanOneThreadBlockMatch) {
  SO8T_SKIP_WITHOUT_GPU();
  // rows longer than the 128 threads of the row kernels (T = 160 attention rows, d = 136 norm rows)
  const LlamaConfig cfg = train_test::llama_config(136, 1, 4, 2, 72, 160, GetParam());
  compare_with_cpu(cfg, make_batch(2, 160, 13), true, 0.5, 3.0);
}

INSTANTIATE_TEST_SUITE_P(GateStacks, LlamaCudaVsCpu, ::testing::Values(0, 1, 2));

TEST(LlamaCudaOptimizer, ClipAndAdamWMatchTheHost) {
  SO8T_SKIP_WITHOUT_GPU();
  const LlamaConfig cfg = llama_preset("micro");
  const TestBatch b = make_batch(2, cfg.ctx, 21);
  LlamaCuda m(cfg);
  const std::vector<float> p0 = make_params(cfg, m.layout(), 5);
  m.upload_params(p0.data(), p0.size());
  AdamWConfig ac;
  AdamW<float> host(m.layout(), ac);
  std::vector<float> hp = p0, g(p0.size()), dp(p0.size());
  for (int step = 0; step < 3; ++step) {
    m.forward(b.tok.data(), b.tgt.data(), b.seg.data(), b.B, b.T, 0.5);
    m.backward();
    m.download_grads(g.data(), g.size());
    const double host_norm = clip_grad_norm(g.data(), g.size(), 0.5);
    const double dev_norm = m.clip_grad_norm(0.5);
    EXPECT_NEAR(dev_norm, host_norm, 1e-9 * host_norm);
    std::vector<float> gc(g.size());
    m.download_grads(gc.data(), gc.size());
    for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(gc[i], g[i], 1e-6f * (std::abs(g[i]) + 1e-6f)) << i;
    // same gradients on both sides from here on, so the updates must agree to rounding
    host.step(hp.data(), gc.data(), 1e-3);
    m.adamw_step(1e-3, ac);
    m.download_params(dp.data(), dp.size());
    for (std::size_t i = 0; i < hp.size(); ++i) ASSERT_NEAR(dp[i], hp[i], 1e-6f * (std::abs(hp[i]) + 1e-3f)) << i;
    m.upload_params(hp.data(), hp.size());
  }
  EXPECT_EQ(m.adam_steps(), 3u);
}
