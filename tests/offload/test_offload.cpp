// Offload planner (device maps for fits / does not fit / budget mid-layer / skip list) and CPU execution.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "so8t/offload/executor.hpp"
#include "so8t/offload/planner.hpp"
#include "offload/layer_stack.hpp"

namespace {

using so8t::offload::Device;
using so8t::offload::GpuBudget;
using so8t::offload::LayerSpec;
using so8t::offload::PlanOptions;

// Four layers of 100 bytes (int8 on GPU), 400 in fp32, workspace 10 (layer 2: 30).
std::vector<LayerSpec> four_layers() {
  return {{"embed", 100, 10, 400}, {"layers.0", 100, 10, 400}, {"layers.1", 100, 30, 400}, {"lm_head", 100, 10, 400}};
}

PlanOptions gpu_opts(std::uint64_t gpu_bytes, std::uint64_t cpu_bytes) {
  PlanOptions o;
  o.gpu.present = true;
  o.gpu.free_bytes = 1000000;
  o.gpu_budget = GpuBudget::bytes(gpu_bytes);
  o.cpu_budget = cpu_bytes;
  return o;
}

TEST(OffloadPlanner, EverythingFitsOnGpu) {
  const auto map = so8t::offload::plan_device_map(four_layers(), gpu_opts(430, 0));  // 400 + reserve 30
  EXPECT_EQ(map.count(Device::cuda), 4u);
  EXPECT_EQ(map.gpu_used, 400u);
  EXPECT_EQ(map.gpu_reserve, 30u);
  const std::string t = map.table();
  EXPECT_NE(t.find("lm_head"), std::string::npos);
  EXPECT_NE(t.find("int8"), std::string::npos);
}

TEST(OffloadPlanner, BudgetFallsMidLayer) {
  // 429 leaves 399 after the reserve: three layers fit, the fourth would straddle the budget and goes to
  // the CPU whole, in fp32.
  const auto map = so8t::offload::plan_device_map(four_layers(), gpu_opts(429, 400));
  EXPECT_EQ(map.device_of("layers.1"), Device::cuda);
  EXPECT_EQ(map.device_of("lm_head"), Device::cpu);
  EXPECT_EQ(map.layers[3].bytes, 400u);
  EXPECT_FALSE(map.layers[3].quantized);
  EXPECT_EQ(map.cpu_used, 400u);
  // 250 after reserve: two on the GPU, and the planner never returns to the GPU after the first spill.
  const auto map2 = so8t::offload::plan_device_map(four_layers(), gpu_opts(280, 800));
  EXPECT_EQ(map2.count(Device::cuda), 2u);
  EXPECT_EQ(map2.device_of("layers.1"), Device::cpu);
}

TEST(OffloadPlanner, NothingFitsNamesLayerSizeAndBudgets) {
  try {
    so8t::offload::plan_device_map(four_layers(), gpu_opts(120, 500));
    FAIL() << "expected DoesNotFit";
  } catch (const so8t::offload::DoesNotFit& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("'layers.0'"), std::string::npos) << w;  // 90 after reserve: embed to the CPU, layers.0 nowhere
    EXPECT_NE(w.find("400 bytes in fp32"), std::string::npos) << w;
    EXPECT_NE(w.find("GPU budget 120"), std::string::npos) << w;
    EXPECT_NE(w.find("CPU budget 500"), std::string::npos) << w;
  }
  EXPECT_THROW(so8t::offload::plan_device_map(four_layers(), gpu_opts(0, 0)), so8t::InvalidArgument);
  EXPECT_THROW(GpuBudget::fraction_of_free(1.5), so8t::InvalidArgument);
}

TEST(OffloadPlanner, SkipListKeepsFloatAndFractionBudget) {
  auto o = gpu_opts(0, 0);
  o.gpu.free_bytes = 1000;
  o.gpu_budget = GpuBudget::fraction_of_free(0.81);  // 810: 700 needed + reserve 30
  o.skip_modules = {"lm_head"};
  const auto map = so8t::offload::plan_device_map(four_layers(), o);
  EXPECT_EQ(map.gpu_budget, 810u);
  EXPECT_EQ(map.count(Device::cuda), 4u);
  EXPECT_FALSE(map.layers[3].quantized);
  EXPECT_EQ(map.layers[3].bytes, 400u);
  EXPECT_EQ(map.gpu_used, 700u);
  // The stream policy reserves room for the largest fp32 layer too.
  o.policy = so8t::offload::OffloadPolicy::stream_to_gpu;
  const auto m2 = so8t::offload::plan_device_map(four_layers(), [&] { auto p = o; p.cpu_budget = 2000; return p; }());
  EXPECT_EQ(m2.gpu_reserve, 430u);
  EXPECT_EQ(m2.count(Device::cuda), 3u);
}

TEST(OffloadPlanner, NoGpuPutsEverythingOnCpu) {
  PlanOptions o;
  o.cpu_budget = 1600;
  const auto map = so8t::offload::plan_device_map(four_layers(), o);
  EXPECT_EQ(map.count(Device::cpu), 4u);
  EXPECT_NE(map.note().find("no CUDA device"), std::string::npos);
  EXPECT_NE(map.table().find("[no GPU]"), std::string::npos);
}

// ---------------------------------------------------------------- execution

std::vector<so8t::offload::LayerWeights> small_stack(std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 0.3f);
  return offload_test::layer_stack({24, 40, 32, 16}, [&](so8t::offload::LayerWeights& l) {
    l.w.resize(static_cast<std::size_t>(l.n * l.k));
    l.bias.resize(static_cast<std::size_t>(l.n));
    for (auto& v : l.w) v = nd(rng);
    for (auto& v : l.bias) v = nd(rng);
  });
}

std::vector<float> fp32_chain(const std::vector<so8t::offload::LayerWeights>& ls, const std::vector<float>& x,
                              std::int64_t m) {
  std::vector<float> cur = x;
  for (const auto& l : ls) {
    std::vector<float> nx(static_cast<std::size_t>(m * l.n));
    so8t::gemm::gemm_f32(cur.data(), m, l.k, l.w.data(), l.n, nx.data(), l.bias.data());
    cur = nx;
  }
  return cur;
}

TEST(OffloadExecutor, CpuLayersAreFp32AndGpuLayersInt8WithoutGpu) {
  std::mt19937 rng(5);
  const auto ls = small_stack(rng);
  std::vector<LayerSpec> specs;
  for (const auto& l : ls) specs.push_back(l.spec(4));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const std::int64_t m = 4;
  std::vector<float> x(static_cast<std::size_t>(m * 24));
  for (auto& v : x) v = nd(rng);
  const auto ref = fp32_chain(ls, x, m);

  // No GPU: everything fp32 on the CPU, bit-equal to the fp32 chain.
  PlanOptions cpu_only;
  cpu_only.cpu_budget = 1u << 20;
  so8t::offload::Executor ex(ls, so8t::offload::plan_device_map(specs, cpu_only));
  std::vector<float> y(static_cast<std::size_t>(m * 16));
  const auto st = ex.forward(x.data(), m, y.data());
  EXPECT_EQ(st.cpu_fp32, 3u);
  EXPECT_EQ(y, ref);

  // Layers 0 on "cuda" (emulated by the CPU int8 path), the rest fp32 on the CPU.
  auto o = gpu_opts(specs[0].weight_bytes + 4 * 4 * (40 + 32), 1u << 20);
  const auto map = so8t::offload::plan_device_map(specs, o);
  ASSERT_EQ(map.count(Device::cuda), 1u) << map;
  so8t::offload::Executor ex2(ls, map);
  const auto st2 = ex2.forward(x.data(), m, y.data());
  EXPECT_EQ(st2.cpu_int8, 1u);
  EXPECT_EQ(st2.cpu_fp32, 2u);
  // Exactly: layer 0 through the CPU LLM.int8 layer, then the fp32 chain.
  const auto l0 = so8t::gemm::Int8Linear::from_float(ls[0].w.data(), ls[0].n, ls[0].k, ls[0].bias.data());
  std::vector<float> h(static_cast<std::size_t>(m * ls[0].n));
  l0.forward(x.data(), m, h.data());
  const std::vector<so8t::offload::LayerWeights> rest(ls.begin() + 1, ls.end());
  EXPECT_EQ(y, fp32_chain(rest, h, m));
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 0.1 + 0.05 * std::fabs(ref[i]));
}

/// A fake GPU that records calls (computes in fp32 on the host).
class RecordingBackend : public so8t::offload::GpuBackend {
 public:
  std::vector<std::string> log;
  std::vector<so8t::offload::LayerWeights> resident;
  void load(std::size_t i, const so8t::offload::LayerWeights& l, bool q, const so8t::gemm::Int8Options&) override {
    if (resident.size() <= i) resident.resize(i + 1);
    resident[i] = l;
    log.push_back("load " + l.name + (q ? " int8" : " fp"));
  }
  void run(std::size_t i, const float* x, std::int64_t m, float* y) override {
    const auto& l = resident[i];
    so8t::gemm::gemm_f32(x, m, l.k, l.w.data(), l.n, y, l.bias.data());
    log.push_back("run " + l.name);
  }
  void run_streamed(const so8t::offload::LayerWeights& l, const float* x, std::int64_t m, float* y) override {
    so8t::gemm::gemm_f32(x, m, l.k, l.w.data(), l.n, y, l.bias.data());
    log.push_back("stream " + l.name);
  }
};

TEST(OffloadExecutor, StreamPolicyUsesBackendPerCall) {
  std::mt19937 rng(9);
  const auto ls = small_stack(rng);
  std::vector<LayerSpec> specs;
  for (const auto& l : ls) specs.push_back(l.spec(2));
  auto o = gpu_opts(0, 1u << 20);
  o.policy = so8t::offload::OffloadPolicy::stream_to_gpu;
  std::uint64_t reserve = 0;
  for (const auto& s : specs) reserve = std::max<std::uint64_t>(reserve, s.workspace_bytes + s.fp_bytes());
  o.gpu_budget = GpuBudget::bytes(reserve + specs[0].weight_bytes);
  const auto map = so8t::offload::plan_device_map(specs, o);
  ASSERT_EQ(map.count(Device::cuda), 1u) << map;
  RecordingBackend gpu;
  so8t::offload::Executor ex(ls, map, &gpu);
  std::vector<float> x(2 * 24, 0.5f), y(2 * 16);
  const auto st = ex.forward(x.data(), 2, y.data());
  EXPECT_EQ(st.gpu_resident, 1u);
  EXPECT_EQ(st.gpu_streamed, 2u);
  EXPECT_EQ(gpu.log, (std::vector<std::string>{"load layers.0 int8", "run layers.0", "stream layers.1", "stream lm_head"}));
  EXPECT_EQ(y, fp32_chain(ls, x, 2));
}

TEST(OffloadExecutor, RejectsMismatchedShapes) {
  std::mt19937 rng(1);
  auto ls = small_stack(rng);
  std::vector<LayerSpec> specs;
  for (const auto& l : ls) specs.push_back(l.spec());
  PlanOptions o;
  o.cpu_budget = 1u << 20;
  const auto map = so8t::offload::plan_device_map(specs, o);
  ls[1].k = 7;
  EXPECT_THROW(so8t::offload::Executor(ls, map), so8t::InvalidArgument);
}

}  // namespace
