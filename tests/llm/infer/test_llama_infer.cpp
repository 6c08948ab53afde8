// LlamaInfer logits against llama.cpp's (MANIFEST.md "Logits files"), KV-cache consistency and a timing
// printout for one-token-at-a-time generation.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "llama_test_data.hpp"
#include "so8t/llm/infer/llama_infer.hpp"

using namespace so8t::llm;
using namespace so8t_test_infer;

namespace {

std::vector<float> eval_all(const LlamaModel& m, InferOptions o, const std::vector<std::int32_t>& toks) {
  LlamaInfer inf(m, o);
  std::vector<float> out(toks.size() * static_cast<std::size_t>(m.hparams().vocab));
  inf.eval(toks.data(), static_cast<int>(toks.size()), out.data());
  EXPECT_EQ(inf.n_past(), static_cast<int>(toks.size()));
  return out;
}

void print(const std::string& name, const Diff& d) {
  std::printf("[ infer    ] %-22s max|d| %.3g  mean|d| %.3g  mean KL %.3g  max KL %.3g  top-1 %d/%d\n", name.c_str(),
              d.max_abs, d.mean_abs, d.mean_kl, d.max_kl, d.top1, d.rows);
}

}  // namespace

TEST(LlamaModel, LoadsTinyModel) {
  SO8T_REQUIRE_LLAMA_DATA();
  const LlamaModel m = LlamaModel::open(model_path("q4_k"));
  const LlamaConfig& hp = m.hparams();
  EXPECT_EQ(hp.vocab, 276);
  EXPECT_EQ(hp.dim, 256);
  EXPECT_EQ(hp.n_layers, 2);
  EXPECT_EQ(hp.n_heads, 4);
  EXPECT_EQ(hp.n_kv_heads, 2);
  EXPECT_EQ(hp.head_dim(), 64);
  EXPECT_EQ(hp.ffn, 512);
  EXPECT_EQ(hp.ctx, 256);
  EXPECT_EQ(hp.n_rot, 64);
  EXPECT_FLOAT_EQ(hp.norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(hp.rope_theta, 10000.0f);
  EXPECT_EQ(m.vocab().bos, 1);
  EXPECT_EQ(m.vocab().eos, 2);
  EXPECT_EQ(m.vocab().unk, 0);
  EXPECT_TRUE(m.vocab().add_bos);
  EXPECT_TRUE(m.vocab().add_space_prefix);
  EXPECT_FALSE(m.output_tied());
  EXPECT_EQ(m.matrices().size(), 15u);
  EXPECT_EQ(m.matrices().front()->name, "blk.0.attn_q.weight");
  EXPECT_EQ(m.matrices().back()->name, "output.weight");
  EXPECT_EQ(m.layers()[1].w_down.rows, 256);
  EXPECT_EQ(m.layers()[1].w_down.cols, 512);
  EXPECT_EQ(m.type_summary(), "f32: 5, q4_K: 16");
}

TEST(LlamaInfer, F32MatchesLlamaCppF16Cache) {
  SO8T_REQUIRE_LLAMA_DATA();
  const LlamaModel m = LlamaModel::open(model_path("f32"));
  const auto toks = ref_tokens();
  const Diff d = diff_logits(ref_logits("f32"), eval_all(m, InferOptions{}, toks), 256, 276);
  print("f32 (kv f16)", d);
  EXPECT_LE(d.max_abs, 2e-3);
  EXPECT_EQ(d.top1, 256);
}

TEST(LlamaInfer, F32MatchesLlamaCppF32Cache) {
  SO8T_REQUIRE_LLAMA_DATA();
  const LlamaModel m = LlamaModel::open(model_path("f32"));
  const auto toks = ref_tokens();
  InferOptions o;
  o.kv_f16 = false;
  const Diff d = diff_logits(ref_logits("f32.kvf32-nofa"), eval_all(m, o, toks), 256, 276);
  print("f32 (kv f32, no FA)", d);
  EXPECT_LE(d.max_abs, 1e-4);
}

class QuantLogits : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantLogits, MatchesLlamaCpp) {
  SO8T_REQUIRE_LLAMA_DATA();
  const std::string kind = GetParam();
  const LlamaModel m = LlamaModel::open(model_path(kind));
  const auto toks = read_array<std::int32_t>(llama_dir() + "tiny-llama-spm-" + kind + ".tokens.i32");
  ASSERT_EQ(toks, ref_tokens());
  const Diff d = diff_logits(ref_logits(kind), eval_all(m, InferOptions{}, toks), 256, 276);
  print(kind + " (q8 act)", d);
  EXPECT_LE(d.max_abs, 0.15);
  EXPECT_LE(d.mean_abs, 0.02);
  EXPECT_LE(d.mean_kl, 3e-4);
  EXPECT_GE(d.top1, 240);
  // Dequantized weights with f32 activations: within the same bands (MANIFEST "Spread").
  InferOptions o;
  o.quantize_activations = false;
  const Diff d2 = diff_logits(ref_logits(kind), eval_all(m, o, toks), 256, 276);
  print(kind + " (f32 act)", d2);
  EXPECT_LE(d2.max_abs, 0.15);
  EXPECT_LE(d2.mean_abs, 0.02);
  EXPECT_LE(d2.mean_kl, 3e-4);
  EXPECT_GE(d2.top1, 240);
}

INSTANTIATE_TEST_SUITE_P(Files, QuantLogits, ::testing::Values("q8_0", "q6_k", "q4_k", "q4_0"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(LlamaInfer, IncrementalEqualsOneShot) {
  SO8T_REQUIRE_LLAMA_DATA();
  for (const char* kind : {"f32", "q4_k"}) {
    const LlamaModel m = LlamaModel::open(model_path(kind));
    const auto toks = ref_tokens();
    const std::vector<float> full = eval_all(m, InferOptions{}, toks);
    LlamaInfer inf(m);
    const int V = m.hparams().vocab;
    std::vector<float> inc(full.size());
    // Uneven chunks: 1, 2, 3, ... then one token at a time at the end.
    int pos = 0, step = 1;
    while (pos < 256) {
      const int n = std::min(step, 256 - pos);
      inf.eval(toks.data() + pos, n, inc.data() + static_cast<std::size_t>(pos) * V);
      pos += n;
      step = step < 20 ? step + 1 : 1;
    }
    EXPECT_EQ(inf.n_past(), 256);
    double mx = 0;
    for (std::size_t i = 0; i < full.size(); ++i) mx = std::max(mx, std::fabs(double(full[i]) - inc[i]));
    std::printf("[ infer    ] %s incremental vs one-shot max|d| %.3g\n", kind, mx);
    EXPECT_LE(mx, 1e-5) << kind;
    // reset() starts over and gives the same first row.
    inf.reset();
    std::vector<float> row(static_cast<std::size_t>(V));
    inf.eval(toks.data(), 1, row.data());
    for (int t = 0; t < V; ++t) EXPECT_NEAR(row[static_cast<std::size_t>(t)], full[static_cast<std::size_t>(t)], 1e-5);
  }
}

TEST(LlamaInfer, GenerationSpeedSingleThread) {
  SO8T_REQUIRE_LLAMA_DATA();
  for (const char* kind : {"f32", "q8_0", "q4_k", "q6_k", "q4_0"}) {
    const LlamaModel m = LlamaModel::open(model_path(kind));
    LlamaInfer inf(m);
    const auto toks = ref_tokens();
    std::vector<float> row(static_cast<std::size_t>(m.hparams().vocab));
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      inf.reset();
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 256; ++i) inf.eval(&toks[static_cast<std::size_t>(i)], 1, row.data());
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("[ infer    ] %-5s one token at a time, 256 positions: %.1f tokens/s\n", kind, 256.0 / best);
  }
}

// The AVX2 kernels (CpuLinear with SIMD) against so8t's portable quant::vec_dot (CpuLinear without), matrix
// by matrix on the same activations: the integer sums are exact, only the float order of the block
// scaling differs. (Through the whole model, such 1e-7 differences flip q8 activation roundings and grow
// to the ~1e-2 spread the MANIFEST describes, so the comparison is per product.)
TEST(LlamaInfer, SimdDotsMatchPortable) {
  SO8T_REQUIRE_LLAMA_DATA();
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const char* kind : {"f32", "q8_0", "q6_k", "q4_k", "q4_0"}) {
    const LlamaModel m = LlamaModel::open(model_path(kind));
    CpuLinear fast(true, true), portable(true, false);
    double worst = 0;
    for (const WeightView* w : m.matrices()) {
      const std::int64_t M = 3;
      std::vector<float> x(static_cast<std::size_t>(M * w->cols)), a(static_cast<std::size_t>(M * w->rows)), b(a.size());
      for (float& v : x) v = nd(rng);
      fast.matmul(*w, x.data(), M, a.data());
      portable.matmul(*w, x.data(), M, b.data());
      double scale = 0, err = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::fabs(double(b[i])));
        err = std::max(err, std::fabs(double(a[i]) - b[i]));
      }
      worst = std::max(worst, err / scale);
      EXPECT_LE(err, 1e-5 * scale) << kind << " " << w->name;
    }
    std::printf("[ infer    ] %-5s AVX2 vs portable matmul: max rel %.3g\n", kind, worst);
  }
}

#if SO8T_GEMM_X86
// The AVX2 Q8_K activation quantizer gives quant::quantize's bytes exactly (ties, zeros, +/- max).
TEST(LlamaInfer, SimdQ8KQuantizerIsExact) {
  if (!so8t::llm::detail::has_avx2()) GTEST_SKIP() << "no AVX2/FMA/F16C";
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int nb = 64;
  std::vector<float> x(256 * nb);
  for (float& v : x) v = nd(rng);
  for (int j = 0; j < 256; ++j) x[256 + j] = 0.0f;                                // an all-zero block
  for (int j = 0; j < 256; ++j) x[512 + j] = static_cast<float>(j % 9) - 4.0f;   // +/-4 ties, first is -4
  for (int j = 0; j < 256; ++j) x[768 + j] = (j % 2 ? 0.5f : -0.25f) * 127.0f / 64.0f;  // exact .5 products
  x[1024 + 7] = 3.0f, x[1024 + 9] = -3.0f;                                        // max tie of opposite signs
  std::vector<so8t::quant::BlockQ8K> a(nb), b(nb);
  so8t::quant::quantize(so8t::quant::Type::q8_k, x.data(), a.data(), 1, 256 * nb);
  so8t::llm::detail::quantize_row_q8_k_avx2(x.data(), b.data(), nb);
  for (int i = 0; i < nb; ++i) EXPECT_EQ(std::memcmp(&a[i], &b[i], sizeof a[i]), 0) << "block " << i;
}
#endif
