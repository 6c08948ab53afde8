// fit_temperature: the objective's derivatives against finite differences, the optimum against a
// golden-section search on a direct long-double NLL, recovery of a known over-confidence factor, and the
// bound flags.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "calib_reference.hpp"
#include "so8t/calib.hpp"

using namespace so8t::calib;
using LD = long double;

namespace {

using Data = qc_ref::SampledDataset;
Data make(std::size_t N, std::size_t V, double scale, unsigned seed) {
  return qc_ref::sampled_dataset(N, V, scale, seed, seed + 7);
}

LD ref_nll(const Data& d, LD beta) {
  LD s = 0;
  std::vector<LD> row(d.V);
  for (std::size_t t = 0; t < d.N; ++t) {
    for (std::size_t k = 0; k < d.V; ++k) row[k] = beta * d.z[t * d.V + k];
    s -= qc_ref::log_softmax(row.data(), d.V)[d.y[t]];
  }
  return s / d.N;
}

}  // namespace

TEST(Temperature, ObjectiveDerivativesMatchFiniteDifferences) {
  const auto d = make(300, 40, 2.0, 1);
  const LogitsView<double> z(d.z, d.N, d.V);
  for (double beta : {0.1, 0.5, 1.0, 2.0, 7.0}) {
    const auto o = temperature_objective(z, LabelsView<int>(d.y), beta);
    EXPECT_NEAR(o.value, double(ref_nll(d, beta)), 1e-13 * std::max(1.0, o.value));
    const double h = 1e-4;
    const LD lp = ref_nll(d, beta + h), lm = ref_nll(d, beta - h), l0 = ref_nll(d, beta);
    const double g_fd = double((lp - lm) / (2 * h));
    const double h_fd = double((lp - 2 * l0 + lm) / (h * h));
    EXPECT_NEAR(o.gradient, g_fd, 1e-7 * std::max(1.0, std::fabs(g_fd))) << "beta " << beta;
    EXPECT_NEAR(o.curvature, h_fd, 1e-4 * std::max(1.0, std::fabs(h_fd))) << "beta " << beta;
    EXPECT_GE(o.curvature, 0.0);
  }
}

TEST(Temperature, RecoversOverConfidenceFactorAndImprovesCalibration) {
  const auto d = make(20000, 20, 3.0, 2);
  const LogitsView<double> z(d.z, d.N, d.V);
  const LabelsView<int> y(d.y);
  const auto fit = fit_temperature(z, y);
  EXPECT_TRUE(fit.converged);
  EXPECT_FALSE(fit.at_lower_bound || fit.at_upper_bound);
  EXPECT_NEAR(fit.temperature, 3.0, 0.15);
  EXPECT_LT(std::fabs(fit.gradient), 1e-8);
  EXPECT_LE(fit.nll, fit.nll_at_one);
  EXPECT_NEAR(fit.nll_at_one, double(ref_nll(d, 1.0)), 1e-12);
  EXPECT_LE(fit.iterations, 12);
  // golden-section search on the direct objective
  LD a = 0.05L, b = 20.0L;
  const LD gr = (std::sqrt(5.0L) - 1) / 2;
  LD c = b - gr * (b - a), e = a + gr * (b - a);
  LD fc = ref_nll(d, c), fe = ref_nll(d, e);
  for (int i = 0; i < 70; ++i) {
    if (fc < fe) {
      b = e;
      e = c;
      fe = fc;
      c = b - gr * (b - a);
      fc = ref_nll(d, c);
    } else {
      a = c;
      c = e;
      fc = fe;
      e = a + gr * (b - a);
      fe = ref_nll(d, e);
    }
  }
  EXPECT_NEAR(fit.beta, double((a + b) / 2), 1e-6);
  // ECE drops, argmax unchanged
  CalibOptions o;
  o.temperature = fit.temperature;
  const auto before = calibration_summary(z, y), after = calibration_summary(z, y, o);
  EXPECT_LT(after.uniform.ece, 0.5 * before.uniform.ece);
  EXPECT_EQ(after.accuracy, before.accuracy);
  EXPECT_LT(after.nll, before.nll);
}

TEST(Temperature, UnderConfidentModelGetsTemperatureBelowOne) {
  const auto d = make(20000, 20, 0.5, 3);
  const auto fit = fit_temperature(LogitsView<double>(d.z, d.N, d.V), LabelsView<int>(d.y));
  EXPECT_TRUE(fit.converged);
  EXPECT_NEAR(fit.temperature, 0.5, 0.03);
}

TEST(Temperature, FlagsBounds) {
  // Always right with a margin: NLL keeps falling as T -> 0, so T = t_min is flagged.
  const std::vector<double> z = {3, 0, 0, 0, 2, 1, 1, 0, 4};
  const std::vector<int> right = {0, 1, 2};
  const auto lo = fit_temperature(LogitsView<double>(z, 3, 3), LabelsView<int>(right));
  EXPECT_TRUE(lo.at_lower_bound);
  EXPECT_FALSE(lo.at_upper_bound);
  EXPECT_EQ(lo.temperature, 0.05);
  EXPECT_LT(lo.gradient, 0.0);
  // Labels that the logits anti-predict: the NLL falls as T -> infinity, so T = t_max is flagged.
  const std::vector<int> wrong = {1, 0, 0};
  const auto hi = fit_temperature(LogitsView<double>(z, 3, 3), LabelsView<int>(wrong));
  EXPECT_TRUE(hi.at_upper_bound);
  EXPECT_EQ(hi.temperature, 20.0);
  EXPECT_GT(hi.gradient, 0.0);
  // custom range
  TemperatureOptions o;
  o.t_min = 0.5;
  o.t_max = 2.0;
  EXPECT_EQ(fit_temperature(LogitsView<double>(z, 3, 3), LabelsView<int>(right), o).temperature, 0.5);
}

TEST(Temperature, BadInput) {
  const std::vector<double> z(6, 0.0);
  const std::vector<int> y = {0, 2};
  TemperatureOptions o;
  o.t_min = 2.0;
  o.t_max = 1.0;
  EXPECT_THROW((void)fit_temperature(LogitsView<double>(z, 2, 3), LabelsView<int>(y), o), so8t::InvalidArgument);
  const std::vector<int> bad = {0, 3};
  EXPECT_THROW((void)fit_temperature(LogitsView<double>(z, 2, 3), LabelsView<int>(bad)), so8t::InvalidArgument);
  auto zn = z;
  zn[4] = std::nan("");
  try {
    (void)fit_temperature(LogitsView<double>(zn, 2, 3), LabelsView<int>(y));
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("token 1, index 1"), std::string::npos) << e.what();
  }
}
