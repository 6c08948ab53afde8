// ECE / RMSCE / MCE (uniform and equal-mass), Brier, NLL: torchmetrics' published docstring values and
// direct long-double evaluation of the definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "calib_reference.hpp"
#include "so8t/calib.hpp"

using namespace so8t::calib;
using LD = long double;

namespace {

// The torchmetrics MulticlassCalibrationError docstring example (n_bins=3): preds, target, and its outputs
// 0.2000 (l1), 0.2082 (l2), 0.2333 (max). Exact values: 1/5, sqrt(13/300), 7/30.
const std::vector<float> kMcPreds = {.25f, .20f, .55f, .55f, .05f, .40f, .10f, .30f, .60f, .90f, .05f, .05f};
const std::vector<int> kMcTarget = {0, 1, 2, 0};
// The BinaryCalibrationError docstring example (n_bins=2): 0.2900, 0.2918, 0.3167.
const std::vector<float> kBinPreds = {.25f, .25f, .55f, .75f, .75f};
const std::vector<float> kBinTarget = {0, 0, 1, 1, 1};

std::vector<double> log_of(const std::vector<float>& p) {
  std::vector<double> r(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) r[i] = std::log(double(p[i]));
  return r;
}

// Independent reference for uniform-bin top-label errors: torch.linspace boundaries written out, the slot
// found by counting boundaries <= c, long-double sums.
struct RefEce {
  LD ece = 0, rmsce = 0, mce = 0;
  std::vector<std::size_t> counts;
};
RefEce ref_uniform(const std::vector<double>& conf, const std::vector<int>& correct, int M) {
  std::vector<double> b(M + 1);
  const double step = 1.0 / M;
  for (int k = 0; k <= M; ++k) b[k] = k < (M + 1) / 2 ? step * k : 1.0 - step * (M - k);
  std::vector<LD> n(M + 1, 0), cs(M + 1, 0), as(M + 1, 0);
  for (std::size_t i = 0; i < conf.size(); ++i) {
    int cnt = 0;
    for (int k = 0; k <= M; ++k) cnt += b[k] <= conf[i];
    n[cnt - 1] += 1;
    cs[cnt - 1] += conf[i];
    as[cnt - 1] += correct[i];
  }
  RefEce r;
  LD l2 = 0;
  for (int s = 0; s <= M; ++s) {
    r.counts.push_back(std::size_t(n[s]));
    if (n[s] == 0) continue;
    const LD gap = std::fabs(as[s] / n[s] - cs[s] / n[s]);
    r.ece += gap * n[s] / conf.size();
    l2 += gap * gap * n[s] / conf.size();
    r.mce = std::max(r.mce, gap);
  }
  r.rmsce = std::sqrt(l2);
  return r;
}

/// Labels drawn from softmax(z_true); the returned logits are scale * z_true (scale > 1: over-confident).
qc_ref::SampledDataset sampled_dataset(std::size_t N, std::size_t V, double scale, unsigned seed) {
  return qc_ref::sampled_dataset(N, V, scale, seed, seed + 100);
}

}  // namespace

TEST(Ece, TorchmetricsMulticlassDocstringExample) {
  const auto tl = top_label_probabilities(LogitsView<float>(kMcPreds, 4, 3), LabelsView<int>(kMcTarget));
  const auto r = ece(tl.confidence.data(), tl.correct.data(), 4, 3);
  EXPECT_NEAR(r.ece, 0.2000, 5e-5);
  EXPECT_NEAR(r.rmsce, 0.2082, 5e-5);
  EXPECT_NEAR(r.mce, 0.2333, 5e-5);
  // float32 confidences as torch computes them: exact up to float rounding of the inputs
  EXPECT_NEAR(r.ece, 0.2, 1e-7);
  EXPECT_NEAR(r.rmsce, std::sqrt(13.0 / 300.0), 1e-7);
  EXPECT_NEAR(r.mce, 7.0 / 30.0, 1e-7);
  // The same through the logits API (log-probabilities as logits, double).
  const auto z = log_of(kMcPreds);
  CalibOptions o;
  o.n_bins = 3;
  const auto q = ece(LogitsView<double>(z, 4, 3), LabelsView<int>(kMcTarget), o);
  EXPECT_NEAR(q.ece, 0.2, 1e-7);
  EXPECT_NEAR(q.rmsce, std::sqrt(13.0 / 300.0), 1e-7);
  EXPECT_NEAR(q.mce, 7.0 / 30.0, 1e-7);
  ASSERT_EQ(q.bins.size(), 4u);  // 3 bins + torchmetrics' slot for c == 1
  EXPECT_EQ(q.bins[0].count, 0u);
  EXPECT_EQ(q.bins[1].count, 3u);
  EXPECT_EQ(q.bins[2].count, 1u);
  EXPECT_EQ(q.bins[3].count, 0u);
  EXPECT_NEAR(q.bins[1].accuracy, 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(q.bins[1].mean_confidence, 1.7 / 3.0, 1e-7);
}

TEST(Ece, TorchmetricsBinaryDocstringExample) {
  const auto r = ece(kBinPreds.data(), kBinTarget.data(), kBinPreds.size(), 2);
  EXPECT_NEAR(r.ece, 0.2900, 5e-5);
  EXPECT_NEAR(r.rmsce, 0.2918, 5e-5);
  EXPECT_NEAR(r.mce, 0.3167, 5e-5);
  EXPECT_NEAR(r.ece, 0.29, 1e-7);
  EXPECT_NEAR(r.rmsce, std::sqrt(0.4 * 0.0625 + 0.6 * std::pow(1.0 - 2.05 / 3.0, 2)), 1e-7);
  EXPECT_NEAR(r.mce, 1.0 - 2.05 / 3.0, 1e-7);
}

TEST(Brier, TorchmetricsMulticlassVectorIs0_63625) {
  const auto z = log_of(kMcPreds);
  EXPECT_NEAR(brier(LogitsView<double>(z, 4, 3), LabelsView<int>(kMcTarget)), 0.63625, 1e-7);
}

TEST(Ece, EdgeRulesOnExactBoundaries) {
  // torch.linspace(0, 1, 4) in double: b = {0, 1/3, 1 - 1/3, 1}; b_2 = 0.66666666666666674 > 2.0/3.0.
  const std::vector<double> c = {0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, 0.5};
  const std::vector<int> a = {1, 1, 1, 1, 0};
  const auto tm = ece(c.data(), a.data(), c.size(), 3, EdgeRule::torchmetrics);
  ASSERT_EQ(tm.bins.size(), 4u);
  EXPECT_EQ(tm.bins[0].count, 1u);  // 0
  EXPECT_EQ(tm.bins[1].count, 3u);  // 1/3 (on the edge, [lo, hi)), 2/3 (below torch's b_2), 0.5
  EXPECT_EQ(tm.bins[2].count, 0u);
  EXPECT_EQ(tm.bins[3].count, 1u);  // exactly 1.0: the extra slot
  const auto guo = ece(c.data(), a.data(), c.size(), 3, EdgeRule::guo);
  ASSERT_EQ(guo.bins.size(), 3u);
  EXPECT_EQ(guo.bins[0].count, 2u);  // 0 and 1/3 ((lo, hi], c == 0 kept in bin 0)
  EXPECT_EQ(guo.bins[1].count, 2u);  // 0.5, 2/3
  EXPECT_EQ(guo.bins[2].count, 1u);  // 1.0
  // float boundaries are computed in float (torchmetrics >= 1.0.2): 1/3 as a float
  const std::vector<float> cf = {1.0f / 3.0f, 0.999999f, 1.0f};
  const std::vector<int> af = {0, 1, 1};
  const auto f = ece(cf.data(), af.data(), cf.size(), 3);
  EXPECT_EQ(f.bins[1].count, 1u);
  EXPECT_EQ(f.bins[2].count, 1u);
  EXPECT_EQ(f.bins[3].count, 1u);
}

TEST(Ece, FifteenBinsMatchReferenceOnRandomData) {
  const auto d = sampled_dataset(3000, 64, 2.5, 11);
  const auto r = ece(LogitsView<double>(d.z, d.N, d.V), LabelsView<int>(d.y));
  std::vector<double> conf(d.N);
  std::vector<int> corr(d.N);
  for (std::size_t t = 0; t < d.N; ++t) {
    const auto p = qc_ref::softmax(&d.z[t * d.V], d.V);
    const std::size_t am = qc_ref::argmax(&d.z[t * d.V], d.V);
    conf[t] = double(p[am]);
    corr[t] = int(am) == d.y[t];
  }
  const auto ref = ref_uniform(conf, corr, 15);
  EXPECT_EQ(r.n_bins, 15);
  EXPECT_EQ(r.count, d.N);
  ASSERT_EQ(r.bins.size(), 16u);
  for (std::size_t s = 0; s < 16; ++s) EXPECT_EQ(r.bins[s].count, ref.counts[s]) << "slot " << s;
  EXPECT_NEAR(r.ece, double(ref.ece), 1e-13);
  EXPECT_NEAR(r.rmsce, double(ref.rmsce), 1e-13);
  EXPECT_NEAR(r.mce, double(ref.mce), 1e-13);
  EXPECT_GT(r.ece, 0.05);  // 2.5x over-confident
}

TEST(Ece, EqualMassMatchesArraySplitReference) {
  // 10 samples, 3 groups: numpy.array_split sizes 4, 3, 3 after sorting by (c, index).
  const std::vector<double> c = {0.9, 0.2, 0.5, 0.5, 0.7, 0.3, 0.95, 0.6, 0.4, 0.8};
  const std::vector<int> a = {1, 0, 1, 0, 1, 0, 1, 1, 0, 0};
  const auto r = ece_equal_mass(c.data(), a.data(), c.size(), 3);
  ASSERT_EQ(r.bins.size(), 3u);
  EXPECT_TRUE(r.equal_mass);
  // sorted: .2(0) .3(0) .4(0) .5(1, idx2) | .5(0, idx3) .6(1) .7(1) | .8(0) .9(1) .95(1)
  const LD g1 = std::fabs(0.25L - (0.2L + 0.3L + 0.4L + 0.5L) / 4);
  const LD g2 = std::fabs(2.0L / 3 - (0.5L + 0.6L + 0.7L) / 3);
  const LD g3 = std::fabs(2.0L / 3 - (0.8L + 0.9L + 0.95L) / 3);
  EXPECT_EQ(r.bins[0].count, 4u);
  EXPECT_EQ(r.bins[1].count, 3u);
  EXPECT_NEAR(r.ece, double(0.4L * g1 + 0.3L * g2 + 0.3L * g3), 1e-15);
  EXPECT_NEAR(r.mce, double(std::max({g1, g2, g3})), 1e-15);
  EXPECT_NEAR(r.rmsce, double(std::sqrt(0.4L * g1 * g1 + 0.3L * g2 * g2 + 0.3L * g3 * g3)), 1e-15);
  // fewer samples than groups: one group per sample
  EXPECT_EQ(ece_equal_mass(c.data(), a.data(), 2, 15).bins.size(), 2u);
}

TEST(BrierNll, MatchDirectEvaluation) {
  const auto d = sampled_dataset(500, 300, 1.7, 21);
  LD b = 0, l = 0;
  for (std::size_t t = 0; t < d.N; ++t) {
    const auto p = qc_ref::softmax(&d.z[t * d.V], d.V);
    for (std::size_t k = 0; k < d.V; ++k) {
      const LD o = LD(int(k) == d.y[t]);
      b += (p[k] - o) * (p[k] - o);
    }
    l -= qc_ref::log_softmax(&d.z[t * d.V], d.V)[d.y[t]];
  }
  const LogitsView<double> z(d.z, d.N, d.V);
  EXPECT_NEAR(brier(z, LabelsView<int>(d.y)), double(b / d.N), 1e-13);
  EXPECT_NEAR(nll(z, LabelsView<int>(d.y)), double(l / d.N), 1e-13);
  EXPECT_NEAR(perplexity(z, LabelsView<int>(d.y)), double(std::exp(l / d.N)), 1e-11);
  EXPECT_NEAR(bits_per_byte(2.0, 100, 300), 2.0 * 100 / (std::log(2.0) * 300), 1e-15);
}

TEST(BrierNll, TemperatureOptionEqualsScaledLogits) {
  const auto d = sampled_dataset(200, 50, 1.0, 31);
  std::vector<double> half(d.z.size());
  for (std::size_t i = 0; i < half.size(); ++i) half[i] = d.z[i] / 2.0;
  CalibOptions o;
  o.temperature = 2.0;
  const LogitsView<double> z(d.z, d.N, d.V), zh(half, d.N, d.V);
  EXPECT_NEAR(nll(z, LabelsView<int>(d.y), o), nll(zh, LabelsView<int>(d.y)), 1e-14);
  EXPECT_NEAR(brier(z, LabelsView<int>(d.y), o), brier(zh, LabelsView<int>(d.y)), 1e-14);
  EXPECT_NEAR(ece(z, LabelsView<int>(d.y), o).ece, ece(zh, LabelsView<int>(d.y)).ece, 1e-14);
}

TEST(BrierNll, BrierRangeAndExtremes) {
  // Confident and right -> ~0; confident and wrong -> ~2 (not halved).
  const std::vector<double> z = {50, 0, 0, 50, 0, 0};
  const std::vector<int> right = {0, 0}, wrong = {1, 2};
  EXPECT_NEAR(brier(LogitsView<double>(z, 2, 3), LabelsView<int>(right)), 0.0, 1e-20);
  EXPECT_NEAR(brier(LogitsView<double>(z, 2, 3), LabelsView<int>(wrong)), 2.0, 1e-20);
  const std::vector<double> flat(8, 1.0);
  const std::vector<int> y = {3};
  EXPECT_NEAR(brier(LogitsView<double>(flat, 1, 8), LabelsView<int>(y)), 1.0 - 2.0 / 8 + 1.0 / 8, 1e-15);
  EXPECT_NEAR(nll(LogitsView<double>(flat, 1, 8), LabelsView<int>(y)), std::log(8.0), 1e-15);
}

TEST(Calibration, IgnoreIndexDropsTokens) {
  const auto d = sampled_dataset(40, 10, 1.0, 41);
  std::vector<long long> y(d.y.begin(), d.y.end());
  std::vector<double> kept;
  std::vector<long long> ykept;
  for (std::size_t t = 0; t < d.N; ++t) {
    if (t % 3 == 0) {
      y[t] = -100;
      continue;
    }
    kept.insert(kept.end(), d.z.begin() + t * d.V, d.z.begin() + (t + 1) * d.V);
    ykept.push_back(y[t]);
  }
  CalibOptions o;
  o.has_ignore_index = true;
  const LogitsView<double> z(d.z, d.N, d.V), zk(kept, ykept.size(), d.V);
  EXPECT_EQ(nll(z, LabelsView<long long>(y), o), nll(zk, LabelsView<long long>(ykept)));
  EXPECT_EQ(brier(z, LabelsView<long long>(y), o), brier(zk, LabelsView<long long>(ykept)));
  const auto e1 = ece(z, LabelsView<long long>(y), o), e2 = ece(zk, LabelsView<long long>(ykept));
  EXPECT_EQ(e1.ece, e2.ece);
  EXPECT_EQ(e1.count, ykept.size());
}

TEST(Calibration, SummaryAgreesWithSingleMetrics) {
  const auto d = sampled_dataset(1000, 40, 2.0, 51);
  const LogitsView<double> z(d.z, d.N, d.V);
  const LabelsView<int> y(d.y);
  const auto s = calibration_summary(z, y);
  EXPECT_EQ(s.count, d.N);
  EXPECT_EQ(s.nll, nll(z, y));
  EXPECT_EQ(s.brier, brier(z, y));
  EXPECT_NEAR(s.perplexity, std::exp(s.nll), 1e-12);
  EXPECT_EQ(s.uniform.ece, ece(z, y).ece);
  EXPECT_EQ(s.uniform.mce, ece(z, y).mce);
  EXPECT_EQ(s.equal_mass.ece, ece_equal_mass(z, y).ece);
  EXPECT_NEAR(s.accuracy, s.uniform.accuracy, 1e-15);
  EXPECT_GT(s.mean_entropy, 0.0);
  LD h = 0;
  for (std::size_t t = 0; t < d.N; ++t) {
    const auto p = qc_ref::softmax(&d.z[t * d.V], d.V);
    for (auto v : p) h -= v > 0 ? v * std::log(v) : 0;
  }
  EXPECT_NEAR(s.mean_entropy, double(h / d.N), 1e-13);
}

TEST(Calibration, BadInputNamesTheValue) {
  const std::vector<float> z(12, 0.0f);
  const std::vector<int> y = {0, 1, 4};
  auto msg = [](auto&& f) {
    try {
      f();
    } catch (const so8t::InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  const LogitsView<float> v(z, 3, 4);
  EXPECT_NE(msg([&] { (void)ece(v, LabelsView<int>(y)); }).find("label 4 at token 2 is outside [0, 4)"), std::string::npos);
  const std::vector<int> neg = {0, -1, 0};
  EXPECT_NE(msg([&] { (void)nll(v, LabelsView<int>(neg)); }).find("label -1 at token 1"), std::string::npos);
  const std::vector<int> two = {0, 1};
  EXPECT_NE(msg([&] { (void)brier(v, LabelsView<int>(two)); }).find("2 labels for 3 tokens"), std::string::npos);
  auto bad = z;
  bad[5] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<int> ok = {0, 1, 2};
  EXPECT_NE(msg([&] { (void)nll(LogitsView<float>(bad, 3, 4), LabelsView<int>(ok)); }).find("nan at token 1, index 1"),
            std::string::npos);
  EXPECT_NE(msg([&] { (void)ece(LogitsView<float>(z.data(), 0, 4), LabelsView<int>(nullptr, 0)); }).find("empty"),
            std::string::npos);
  CalibOptions o;
  o.temperature = -1.0;
  EXPECT_NE(msg([&] { (void)nll(v, LabelsView<int>(ok), o); }).find("temperature -1"), std::string::npos);
  o = CalibOptions{};
  o.n_bins = 0;
  EXPECT_NE(msg([&] { (void)ece(v, LabelsView<int>(ok), o); }).find("n_bins 0"), std::string::npos);
  o = CalibOptions{};
  o.has_ignore_index = true;
  const std::vector<int> ign = {-100, -100, -100};
  EXPECT_NE(msg([&] { (void)nll(v, LabelsView<int>(ign), o); }).find("no scored tokens"), std::string::npos);
  const std::vector<double> c = {0.5, 1.5};
  const std::vector<int> a = {1, 0};
  EXPECT_NE(msg([&] { (void)ece(c.data(), a.data(), 2); }).find("confidence 1.5 at sample 1"), std::string::npos);
  EXPECT_NE(msg([&] { (void)ece(c.data(), a.data(), 0); }).find("empty"), std::string::npos);
}
