// perplexity() against llama-perplexity's printed numbers (MANIFEST.md "Perplexity").
#include <gtest/gtest.h>

#include <cstdio>

#include "llama_test_data.hpp"
#include "so8t/llm/infer/perplexity.hpp"
#include "so8t/llm/model/spm_tokenizer.hpp"

using namespace so8t::llm;
using namespace so8t_test_infer;

namespace {

struct PplRef {
  std::string kind;
  int n_ctx;
  std::vector<double> chunk_nll, running;
  double ppl, err;
};

const std::vector<PplRef>& refs() {
  static const std::vector<PplRef> r = {
      {"f32", 64, {6.114333, 5.930193, 5.799694, 6.214144}, {452.2943, 412.5110, 383.0146, 409.3583}, 409.3583, 37.99769},
      {"q8_0", 64, {6.115678, 5.930538, 5.800586, 6.219571}, {452.9029, 412.8597, 383.3444, 410.1787}, 410.1787, 38.13516},
      {"q6_k", 64, {6.123000, 5.926051, 5.798232, 6.208845}, {456.2315, 413.4454, 383.4060, 409.1296}, 409.1296, 37.97733},
      {"q4_k", 64, {6.082581, 5.905041, 5.756609, 6.172379}, {438.1587, 400.9397, 370.4594, 395.1054}, 395.1054, 36.05173},
      {"q4_0", 64, {6.145452, 5.938193, 5.744267, 6.206228}, {466.5903, 420.6589, 380.9383, 406.8868}, 406.8868, 38.87232},
      {"f32", 128, {6.080285, 6.108578}, {437.1535, 443.3819}, 443.3819, 36.93574},
      {"q8_0", 128, {6.082591, 6.108474}, {438.1632, 443.8705}, 443.8705, 36.99976},
      {"q6_k", 128, {6.078381, 6.099308}, {436.3222, 440.9117}, 440.9117, 36.92897},
      {"q4_k", 128, {6.055690, 6.100938}, {426.5333, 436.2930}, 436.2930, 37.23647},
      {"q4_0", 128, {6.076936, 6.070560}, {435.6923, 434.3054}, 434.3054, 37.97170},
  };
  return r;
}

}  // namespace

class Perplexity : public ::testing::TestWithParam<int> {};

TEST_P(Perplexity, MatchesLlamaPerplexity) {
  SO8T_REQUIRE_LLAMA_DATA();
  const PplRef& ref = refs()[static_cast<std::size_t>(GetParam())];
  const LlamaModel m = LlamaModel::open(model_path(ref.kind));
  // Tokenize text.txt ourselves (the tokenizer test checks it equals llama.cpp's tokens).
  const SpmTokenizer tok(m.vocab());
  const auto tokens = tok.encode(read_text(llama_dir() + "text.txt"), m.vocab().add_bos);
  ASSERT_EQ(tokens, ref_tokens());
  LlamaInfer inf(m);
  const PerplexityResult r = perplexity(inf, tokens, ref.n_ctx, m.vocab().add_bos);
  const double tol = ref.kind == "f32" ? 1e-4 : 5e-3;
  ASSERT_EQ(r.chunks, static_cast<int>(ref.chunk_nll.size()));
  EXPECT_EQ(r.count, ref.n_ctx == 64 ? 124 : 126);
  double worst = 0;
  for (std::size_t k = 0; k < ref.chunk_nll.size(); ++k) {
    EXPECT_NEAR(r.chunk_mean_nll[k], ref.chunk_nll[k], tol * ref.chunk_nll[k]) << k;
    EXPECT_NEAR(r.running_ppl[k], ref.running[k], tol * ref.running[k]) << k;
    worst = std::max(worst, std::fabs(r.chunk_mean_nll[k] / ref.chunk_nll[k] - 1));
  }
  EXPECT_NEAR(r.ppl, ref.ppl, tol * ref.ppl);
  EXPECT_NEAR(r.ppl_err, ref.err, 2 * tol * ref.err + 1e-4);
  std::printf("[ infer    ] PPL %-5s c=%3d: %.4f +/- %.5f (llama.cpp %.4f +/- %.5f, rel %.2e; worst chunk NLL rel %.2e)\n",
              ref.kind.c_str(), ref.n_ctx, r.ppl, r.ppl_err, ref.ppl, ref.err, r.ppl / ref.ppl - 1, worst);
}

INSTANTIATE_TEST_SUITE_P(Files, Perplexity, ::testing::Range(0, 10), [](const ::testing::TestParamInfo<int>& i) {
  const PplRef& r = refs()[static_cast<std::size_t>(i.param)];
  return r.kind + "_c" + std::to_string(r.n_ctx);
});
