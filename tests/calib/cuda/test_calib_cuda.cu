// CUDA reductions against the CPU path (skipped without a GPU).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "calib_reference.hpp"
// Only the headers needed: so8t/calib.hpp also pulls in so8t/so8/group.hpp, which nvcc 13 rejects
// (SO8::orthogonality_error shadows the free function in from_matrix).
#include "so8t/calib/compare.hpp"
#include "so8t/calib/stability.hpp"
#include "so8t/calib/summary.hpp"
#include "so8t/calib/calib.cuh"
#include "support/cuda_test.hpp"

using so8t::calib::LogitsView;
using so8t::calib::LabelsView;
using so8t::calib::CalibOptions;
namespace gpu = so8t::cuda::calib;

namespace {
template <class T>
using Dev = so8t::cuda::DeviceBuffer<T>;

std::vector<int> labels_for(const std::vector<float>& z, std::size_t N, std::size_t V, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<int> y(N);
  for (std::size_t t = 0; t < N; ++t) {
    const auto p = qc_ref::softmax(&z[t * V], V);
    std::vector<double> w(p.begin(), p.end());
    y[t] = std::discrete_distribution<int>(w.begin(), w.end())(rng);
  }
  return y;
}
}  // namespace

TEST(CalibCuda, CompareLogitsMatchesCpu) {
  SO8T_SKIP_WITHOUT_GPU();
  const std::size_t N = 7, V = 151936;
  const auto a = qc_ref::random_logits<float>(N, V, 2.0, 1);
  auto b = a;
  std::mt19937_64 rng(2);
  std::normal_distribution<float> g(0.0f, 0.05f);
  for (auto& v : b) v += g(rng);
  Dev<float> da(a), db(b);
  const auto g_res = gpu::compare_logits_cuda(da.get(), db.get(), N, V);
  const auto cpu = so8t::calib::compare_logits(LogitsView<float>(a, N, V), LogitsView<float>(b, N, V));
  EXPECT_EQ(g_res.max_abs_diff, cpu.max_abs_diff);
  EXPECT_EQ(g_res.max_abs_token, cpu.max_abs_token);
  EXPECT_EQ(g_res.max_abs_index, cpu.max_abs_index);
  EXPECT_NEAR(g_res.mean_abs_diff, cpu.mean_abs_diff, 1e-12 * cpu.mean_abs_diff);
  EXPECT_NEAR(g_res.rms_diff, cpu.rms_diff, 1e-12 * cpu.rms_diff);
  EXPECT_NEAR(g_res.kl_mean, cpu.kl_mean, 1e-10 * cpu.kl_mean + 1e-15);
  EXPECT_NEAR(g_res.kl_max, cpu.kl_max, 1e-10 * cpu.kl_max + 1e-15);
  EXPECT_EQ(g_res.top1_agree, cpu.top1_agree);
}

TEST(CalibCuda, CalibrationSummaryMatchesCpu) {
  SO8T_SKIP_WITHOUT_GPU();
  const std::size_t N = 3000, V = 257;
  auto z = qc_ref::random_logits<float>(N, V, 1.0, 3);
  auto y = labels_for(z, N, V, 4);
  for (auto& v : z) v *= 2.0f;
  y[5] = -100;
  Dev<float> dz(z);
  Dev<int> dy(y);
  CalibOptions o;
  o.has_ignore_index = true;
  for (double T : {1.0, 1.7}) {
    o.temperature = T;
    const auto g_res = gpu::calibration_summary_cuda(dz.get(), dy.get(), N, V, o);
    const auto cpu = so8t::calib::calibration_summary(LogitsView<float>(z, N, V), LabelsView<int>(y), o);
    EXPECT_EQ(g_res.count, cpu.count);
    EXPECT_NEAR(g_res.nll, cpu.nll, 1e-12 * cpu.nll);
    EXPECT_NEAR(g_res.brier, cpu.brier, 1e-12);
    EXPECT_NEAR(g_res.mean_entropy, cpu.mean_entropy, 1e-12 * cpu.mean_entropy);
    EXPECT_EQ(g_res.accuracy, cpu.accuracy);
    ASSERT_EQ(g_res.uniform.bins.size(), cpu.uniform.bins.size());
    for (std::size_t s = 0; s < cpu.uniform.bins.size(); ++s) EXPECT_EQ(g_res.uniform.bins[s].count, cpu.uniform.bins[s].count);
    EXPECT_NEAR(g_res.uniform.ece, cpu.uniform.ece, 1e-12);
    EXPECT_NEAR(g_res.uniform.rmsce, cpu.uniform.rmsce, 1e-12);
    EXPECT_NEAR(g_res.uniform.mce, cpu.uniform.mce, 1e-12);
  }
}

TEST(CalibCuda, EntropySeriesMatchesCpu) {
  SO8T_SKIP_WITHOUT_GPU();
  const std::size_t L = 64, V = 32000;
  const auto z = qc_ref::random_logits<float>(L, V, 1.5, 5);
  Dev<float> dz(z);
  std::vector<double> h, m;
  gpu::entropy_series_cuda(dz.get(), L, V, h, m);
  const auto cpu = so8t::calib::long_text_stability(LogitsView<float>(z, L, V));
  for (std::size_t t = 0; t < L; ++t) {
    EXPECT_NEAR(h[t], cpu.entropy[t], 1e-12 * cpu.entropy[t]);
    EXPECT_EQ(m[t], cpu.max_logit[t]);
  }
}

TEST(CalibCuda, BadInputIsReported) {
  SO8T_SKIP_WITHOUT_GPU();
  std::vector<float> z(4 * 10, 0.0f);
  z[2 * 10 + 7] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<int> y = {0, 1, 2, 3};
  Dev<float> dz(z);
  Dev<int> dy(y);
  try {
    (void)gpu::calibration_summary_cuda(dz.get(), dy.get(), 4, 10);
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("token 2, index 7"), std::string::npos) << e.what();
  }
  const std::vector<float> ok(40, 0.0f);
  const std::vector<int> bad = {0, 1, 10, 3};
  Dev<float> dok(ok);
  Dev<int> dbad(bad);
  try {
    (void)gpu::calibration_summary_cuda(dok.get(), dbad.get(), 4, 10);
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("label 10 at token 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)gpu::compare_logits_cuda(dok.get(), dok.get(), 0, 10), so8t::InvalidArgument);
}
