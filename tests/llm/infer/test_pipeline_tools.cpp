// Tests of the pieces so8t_infer adds around the inference core: sampling, the JSON report
// writer, the series plot, the LLM.int8 backend with its device map, and the qc row extraction. References
// are definitions (exact probabilities, direct evaluation of each window), not the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "so8t/calib/series_svg.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/int8_backend.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/pipeline/qc.hpp"
#include "so8t/llm/infer/sampling.hpp"
#include "so8t/report/json.hpp"

namespace {

using namespace so8t;

const std::string kLlama = std::string(SO8T_TEST_DATA_DIR) + "/llama/";

bool have_llama() {
  std::ifstream f(kLlama + "tiny-llama-spm-f32.gguf");
  return bool(f);
}

TEST(Sampling, GreedyTopKOneAndTinyTopPPickTheArgmax) {
  const std::vector<float> z = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f};
  for (const auto& o : {llm::SamplingOptions{0.0, 40, 0.95, 1}, llm::SamplingOptions{1.0, 1, 1.0, 2},
                        llm::SamplingOptions{5.0, 0, 1e-9, 3}}) {
    llm::Sampler s(o);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(z.data(), int(z.size())), 1);  // lowest id among ties
  }
}

TEST(Sampling, FrequenciesFollowTheTemperedSoftmax) {
  const std::vector<float> z = {0.0f, 1.0f, 2.0f, -0.5f};
  const double T = 0.7;
  llm::Sampler s({T, 0, 1.0, 42});
  const int N = 200000;
  std::vector<int> count(z.size(), 0);
  for (int i = 0; i < N; ++i) ++count[std::size_t(s.sample(z.data(), int(z.size())))];
  double sum = 0.0;
  for (float v : z) sum += std::exp(double(v) / T);
  for (std::size_t k = 0; k < z.size(); ++k) {
    const double p = std::exp(double(z[k]) / T) / sum;
    const double sd = std::sqrt(p * (1 - p) / N);
    EXPECT_NEAR(count[k] / double(N), p, 5 * sd) << "token " << k;
  }
}

TEST(Sampling, TopKAndTopPKeepOnlyTheirSets) {
  const std::vector<float> z = {3.0f, 2.9f, 0.0f, -1.0f, 2.8f};
  llm::Sampler k2({1.0, 2, 1.0, 7});
  for (int i = 0; i < 2000; ++i) {
    const int t = k2.sample(z.data(), 5);
    EXPECT_TRUE(t == 0 || t == 1) << t;
  }
  // softmax of z: p0 = 0.3655, p1 = 0.3307, p4 = 0.2993, the rest < 0.005: top-p 0.6 keeps {0, 1}
  llm::Sampler p6({1.0, 0, 0.6, 9});
  for (int i = 0; i < 2000; ++i) {
    const int t = p6.sample(z.data(), 5);
    EXPECT_TRUE(t == 0 || t == 1) << t;
  }
  EXPECT_THROW(llm::Sampler({1.0, 0, 0.0, 1}), InvalidArgument);
  const std::vector<float> bad = {0.0f, NAN};
  llm::Sampler s({1.0, 0, 1.0, 1});
  EXPECT_THROW(s.sample(bad.data(), 2), InvalidArgument);
}

TEST(ReportJson, WritesOrderedEscapedValid) {
  report::Json j = report::Json::object();
  j["b"] = 1;
  j["a"] = "x\"y\n\x01";
  j["nan"] = std::nan("");
  j["v"] = std::vector<double>{0.5, 1e-20};
  j["t"] = true;
  const std::string s = j.dump(0);
  EXPECT_EQ(s, "{\"b\": 1,\"a\": \"x\\\"y\\n\\u0001\",\"nan\": null,\"v\": [0.5, 9.9999999999999995e-21],\"t\": true}\n");
}

TEST(SeriesSvg, DrawsOnePathPerSeriesAndTheMarkers) {
  calib::SeriesPlotOptions o;
  o.title = "a<b";
  o.markers = {3, 100};  // 100 is outside and dropped
  const std::string svg = calib::series_svg({{"x", {1, 2, NAN, 4, 5}, "#000"}, {"y", {0, 0, 0, 0, 0}, "#111"}}, o);
  std::size_t paths = 0, pos = 0;
  while ((pos = svg.find("<path", pos)) != std::string::npos) { ++paths; ++pos; }
  EXPECT_EQ(paths, 2u);
  EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
  // the NaN breaks the first line into two pieces: two "M" moves
  const std::size_t p0 = svg.find("<path d=\"");
  const std::string d = svg.substr(p0, svg.find('"', p0 + 9) - p0);
  EXPECT_EQ(std::count(d.begin(), d.end(), 'M'), 2);
}

TEST(Int8Backend, DeviceMapAndLogitsOnTheReferenceModel) {
  if (!have_llama()) GTEST_SKIP() << "no " << kLlama;
  const llm::LlamaModel m = llm::LlamaModel::open(kLlama + "tiny-llama-spm-f32.gguf");
  std::ifstream tf(kLlama + "tiny-llama-spm-f32.tokens.i32", std::ios::binary);
  std::vector<std::int32_t> tokens(256);
  tf.read(reinterpret_cast<char*>(tokens.data()), 1024);
  const int V = m.hparams().vocab, n = 64;
  llm::InferOptions io;
  io.kv_f16 = false;
  llm::LlamaInfer ref(m, io);
  std::vector<float> zr(std::size_t(n) * V), zi(zr.size()), zc(zr.size());
  ref.eval(tokens.data(), n, zr.data());

  // every layer int8 (simulated device with room for all)
  llm::Int8BackendOptions o;
  o.simulate_gpu_bytes = 1ull << 40;
  o.gpu_budget = offload::GpuBudget::fraction_of_free(1.0);
  o.max_tokens = n;
  llm::Int8Backend all(m, o);
  EXPECT_EQ(all.map().layers.size(), 2u * 7 + 1);
  EXPECT_EQ(all.map().count(offload::Device::cuda), all.map().layers.size());
  EXPECT_FALSE(all.map().layers.back().quantized);  // "output" on the skip list stays fp32
  llm::LlamaInfer li(m, io);
  li.set_backend(&all);
  li.eval(tokens.data(), n, zi.data());
  EXPECT_GT(all.calls_int8, 0u);
  double max_d = 0.0;
  for (std::size_t i = 0; i < zr.size(); ++i) max_d = std::max(max_d, std::fabs(double(zr[i]) - zi[i]));
  std::printf("int8 layers vs f32 on the reference model (64 positions): max |dz| = %.4g\n", max_d);
  EXPECT_GT(max_d, 0.0);   // int8 rounding is visible
  EXPECT_LT(max_d, 0.25);  // and small against logits of std ~1

  // a budget for the first layers only: the rest run in fp32 on the CPU, in execution order
  const std::uint64_t q_bytes = std::uint64_t(256 * 256 + 4 * 256);
  o.simulate_gpu_bytes = 3 * q_bytes + 4ull * n * (256 + 512) + 10;  // q, k, v fit (k, v are smaller), plus the reserve
  o.gpu_budget = offload::GpuBudget::fraction_of_free(1.0);
  llm::Int8Backend part(m, o);
  const auto& L = part.map().layers;
  EXPECT_EQ(L[0].device, offload::Device::cuda);
  EXPECT_EQ(L.back().device, offload::Device::cpu);
  for (std::size_t i = 1; i < L.size(); ++i)
    if (L[i - 1].device == offload::Device::cpu) {
      EXPECT_EQ(L[i].device, offload::Device::cpu) << L[i].name;
    }
  llm::LlamaInfer lp(m, io);
  lp.set_backend(&part);
  lp.eval(tokens.data(), n, zc.data());
  EXPECT_GT(part.calls_fp32, 0u);
  EXPECT_GT(part.calls_int8, 0u);

  // nothing fits anywhere: a clear DoesNotFit naming a layer
  o.simulate_gpu_bytes = 1000;
  o.cpu_budget = 1000;
  try {
    llm::Int8Backend none(m, o);
    ADD_FAILURE() << "expected DoesNotFit";
  } catch (const offload::DoesNotFit& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q"), std::string::npos) << e.what();
  }
}

TEST(QcRows, WindowAndLongTextRowsEqualDirectEvaluation) {
  if (!have_llama()) GTEST_SKIP() << "no " << kLlama;
  const llm::LlamaModel m = llm::LlamaModel::open(kLlama + "tiny-llama-spm-q8_0.gguf");
  std::ifstream tf(kLlama + "tiny-llama-spm-q8_0.tokens.i32", std::ios::binary);
  std::vector<std::int32_t> tokens(256);
  tf.read(reinterpret_cast<char*>(tokens.data()), 1024);
  const int V = m.hparams().vocab, ctx = 32, stride = 8;
  llm::LlamaInfer li(m);
  const llm::RowLogits w = llm::window_logits(li, tokens, ctx, 1000);
  ASSERT_EQ(w.rows(), std::size_t(256 / ctx * (ctx - 1)));
  const llm::RowLogits lt = llm::long_text_logits(li, tokens, ctx, stride, 200);
  ASSERT_EQ(lt.rows(), 200u);
  // direct: position p of the long text is predicted from the window that starts at the largest multiple of
  // the stride with p - start >= ctx - stride (or 0)
  std::vector<float> z(std::size_t(ctx) * V);
  for (std::size_t p : {0u, 5u, 31u, 32u, 77u, 199u}) {
    std::size_t s = p < std::size_t(ctx) ? 0 : ((p - (ctx - stride)) / stride) * stride;
    li.reset();
    li.eval(tokens.data() + s, ctx, z.data());
    for (int v = 0; v < V; ++v) ASSERT_EQ(lt.logits[p * V + std::size_t(v)], z[(p - s) * V + std::size_t(v)]) << p;
    EXPECT_EQ(lt.labels[p], tokens[p + 1]);
  }
  for (std::size_t r : {0u, 30u, 31u, 100u}) {
    const std::size_t win = r / (ctx - 1), t = r % (ctx - 1);
    li.reset();
    li.eval(tokens.data() + win * ctx, ctx, z.data());
    for (int v = 0; v < V; ++v) ASSERT_EQ(w.logits[r * V + std::size_t(v)], z[t * V + std::size_t(v)]) << r;
    EXPECT_EQ(w.labels[r], tokens[win * ctx + t + 1]);
  }
}

}  // namespace
