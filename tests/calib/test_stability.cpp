// Long-text stability series, oscillation index, periodic entropy drops, and the drift report.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "calib_reference.hpp"
#include "so8t/so8/block_rotation.hpp"
#include "so8t/calib.hpp"

using namespace so8t::calib;

TEST(Stability, SeriesStatsOfAlternation) {
  const auto s = series_stats({0, 1, 0, 1, 0});
  EXPECT_EQ(s.d1, (std::vector<double>{1, -1, 1, -1}));
  EXPECT_EQ(s.d2, (std::vector<double>{-2, 2, -2}));
  EXPECT_DOUBLE_EQ(s.oscillation_index, 1.0);
  EXPECT_DOUBLE_EQ(s.mean, 0.4);
  EXPECT_NEAR(s.lag1_autocorrelation, -0.96 / 1.2, 1e-15);
  EXPECT_DOUBLE_EQ(s.mean_abs_d1, 1.0);
  EXPECT_DOUBLE_EQ(s.rms_d2, 2.0);
  EXPECT_NEAR(s.std, std::sqrt(1.2 / 5), 1e-15);
  EXPECT_NEAR(s.slope, 0.0, 1e-15);
}

TEST(Stability, SmoothAndNoisySeries) {
  std::vector<double> line(50);
  for (std::size_t t = 0; t < line.size(); ++t) line[t] = 2.0 * t + 1.0;
  const auto l = series_stats(line);
  EXPECT_EQ(l.oscillation_index, 0.0);
  EXPECT_NEAR(l.slope, 2.0, 1e-13);
  EXPECT_EQ(l.rms_d2, 0.0);
  EXPECT_GT(l.lag1_autocorrelation, 0.9);
  // white noise: zero-crossing rate of the first difference is 2/3 in expectation
  std::mt19937_64 rng(1);
  std::normal_distribution<double> g;
  std::vector<double> w(200000);
  for (auto& v : w) v = g(rng);
  const auto n = series_stats(w);
  EXPECT_NEAR(n.oscillation_index, 2.0 / 3.0, 0.005);
  EXPECT_NEAR(n.lag1_autocorrelation, 0.0, 0.01);
  EXPECT_NEAR(n.rms_d2, std::sqrt(6.0), 0.02);  // Var(x_{t+1} - 2 x_t + x_{t-1}) = 6
  // a constant series: nothing divides by zero
  const auto c = series_stats({3, 3, 3});
  EXPECT_EQ(c.oscillation_index, 0.0);
  EXPECT_EQ(c.lag1_autocorrelation, 0.0);
  EXPECT_EQ(series_stats({1.5}).mean, 1.5);
}

TEST(Stability, PeriodicEntropyDrops) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> g(0.0, 0.02);
  std::vector<double> h(100);
  for (auto& v : h) v = 5.0 + g(rng);
  for (std::size_t t : {10, 30, 50, 70, 90}) h[t] = 2.0;
  h[31] = 1.5;  // a two-position dip: the lower one counts, once
  h[30] = 2.5;
  const auto d = detect_entropy_drops(h);
  EXPECT_EQ(d.positions, (std::vector<std::size_t>{10, 31, 50, 70, 90}));
  EXPECT_TRUE(d.periodic);
  EXPECT_DOUBLE_EQ(d.period, 20.0);
  EXPECT_DOUBLE_EQ(d.matching_fraction, 1.0);
  EXPECT_LT(d.threshold, 5.0);
  // irregular drops are not periodic
  std::vector<double> q(100, 5.0);
  for (std::size_t t : {10, 13, 60, 61 + 30}) q[t] = 1.0;
  const auto e = detect_entropy_drops(q);
  EXPECT_EQ(e.positions.size(), 4u);
  EXPECT_FALSE(e.periodic);
  // small wiggles are not drops (min depth)
  std::vector<double> f(100, 5.0);
  for (std::size_t t = 0; t < f.size(); t += 10) f[t] = 4.97;
  EXPECT_TRUE(detect_entropy_drops(f).positions.empty());
}

TEST(Stability, SeriesFromLogitsMatchReference) {
  const std::size_t L = 64, V = 500;
  auto z = qc_ref::random_logits<float>(L, V, 1.5, 3);
  for (std::size_t k = 0; k < V; ++k) z[5 * V + k] = 0.25f;  // uniform row: H = ln V exactly
  const auto r = long_text_stability(LogitsView<float>(z, L, V));
  ASSERT_EQ(r.positions, L);
  EXPECT_NEAR(r.entropy[5], std::log(double(V)), 1e-13);
  for (std::size_t t = 0; t < L; ++t) {
    const auto p = qc_ref::softmax(&z[t * V], V);
    long double h = 0;
    for (auto v : p) h -= v > 0 ? v * std::log(v) : 0;
    EXPECT_NEAR(r.entropy[t], double(h), 1e-13) << t;
    EXPECT_EQ(r.max_logit[t], double(z[t * V + qc_ref::argmax(&z[t * V], V)]));
  }
  EXPECT_EQ(r.entropy_stats.d1.size(), L - 1);
  EXPECT_EQ(r.max_logit_stats.d2.size(), L - 2);
}

TEST(Stability, BadInput) {
  EXPECT_THROW((void)series_stats({}), so8t::InvalidArgument);
  EXPECT_THROW((void)series_stats({1.0, std::nan("")}), so8t::InvalidArgument);
  EXPECT_THROW((void)stability_from_series({1.0, 2.0}, {1.0}), so8t::InvalidArgument);
  std::vector<float> z(8, 0.0f);
  z[3] = std::nanf("");
  try {
    (void)long_text_stability(LogitsView<float>(z, 2, 4));
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("token 0, index 3"), std::string::npos) << e.what();
  }
}

TEST(DriftReport, WorstLayerAndBlock) {
  const std::size_t n0 = 4, n1 = 6;
  std::mt19937_64 rng(4);
  std::normal_distribution<float> g(0.0f, 0.5f);
  std::vector<float> p0(28 * n0), p1(28 * n1), r0(64 * n0), r1(64 * n1);
  for (auto& v : p0) v = g(rng);
  for (auto& v : p1) v = g(rng);
  so8t::block_exp(p0.data(), n0, r0.data());
  so8t::block_exp(p1.data(), n1, r1.data());
  r1[64 * 3 + 9] += 1e-3f;  // layer 1, block 3, entry (1, 1)
  const std::vector<LayerRotations<float>> layers = {{"blk.0.attn_out", r0.data(), n0}, {"blk.1.attn_out", r1.data(), n1}};
  const DriftReport rep = drift_report(layers, true);
  ASSERT_EQ(rep.layers.size(), 2u);
  EXPECT_EQ(rep.total_blocks, n0 + n1);
  EXPECT_EQ(rep.worst_layer, 1u);
  EXPECT_EQ(rep.worst_block, 3u);
  {  // ||R^T R - I||_F of the perturbed block, summed out directly in long double
    long double sq = 0;
    const float* R = r1.data() + 64 * 3;
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) {
        long double gij = (i == j) ? -1.0L : 0.0L;
        for (int k = 0; k < 8; ++k) gij += (long double)R[8 * k + i] * R[8 * k + j];
        sq += gij * gij;
      }
    EXPECT_NEAR(rep.max_error, double(std::sqrt(sq)), 1e-9);
    EXPECT_GT(rep.max_error, 1e-3);
  }
  EXPECT_EQ(rep.layers[1].name, "blk.1.attn_out");
  EXPECT_LT(rep.layers[0].drift.max_error, 1e-5);
  ASSERT_EQ(rep.layers[1].block_errors.size(), n1);
  EXPECT_EQ(rep.layers[1].block_errors[3], rep.max_error);
  EXPECT_FALSE(rep.within(1e-4));
  EXPECT_TRUE(rep.within(1e-2));
  EXPECT_GT(rep.min_determinant, 0.99);
  double sq = 0;
  for (const auto& l : rep.layers)
    for (double e : l.block_errors) sq += e * e;
  EXPECT_NEAR(rep.rms_error, std::sqrt(sq / double(n0 + n1)), 1e-12);
}

TEST(DriftReport, BadInput) {
  EXPECT_THROW((void)drift_report(std::vector<LayerRotations<double>>{}), so8t::InvalidArgument);
  const std::vector<LayerRotations<double>> empty = {{"x", nullptr, 0}};
  try {
    (void)drift_report(empty);
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
  std::vector<double> r(64, std::nan(""));
  const std::vector<LayerRotations<double>> nan = {{"nan", r.data(), 1}};
  EXPECT_THROW((void)drift_report(nan), so8t::InvalidArgument);
}
