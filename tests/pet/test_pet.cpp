// PET: value against a direct long-double evaluation of the definition, gradient against central finite
// differences, masks and documents, storage types, the documented zero-triple convention, rotation
// invariance (and the resulting zero gradient for a gate), and the three-phase schedule.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "so8t/so8/block_rotation.hpp"
#include "so8t/pet/pet.hpp"
#include "support/oracles.hpp"
#include "support/typed_suite.hpp"

namespace {

using so8t::bfloat16_t;
using so8t::half_t;
using LD = long double;

/// The definition, written independently: explicit triple list, long double sums.
template <class T>
LD pet_reference(const std::vector<T>& x, std::size_t B, std::size_t Tn, std::size_t D,
                 const std::vector<std::uint8_t>* valid, const std::vector<std::int32_t>* seg, std::size_t* count) {
  LD sum = 0;
  std::size_t n = 0;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 1; t + 1 < Tn; ++t) {
      bool ok = true;
      for (std::size_t u = t - 1; u <= t + 1; ++u) {
        if (valid && (*valid)[b * Tn + u] == 0) ok = false;
        if (seg && (*seg)[b * Tn + u] != (*seg)[b * Tn + t]) ok = false;
      }
      if (!ok) continue;
      ++n;
      for (std::size_t d = 0; d < D; ++d) {
        const LD a = LD(so8t::to_float(x[(b * Tn + t + 1) * D + d])) - 2 * LD(so8t::to_float(x[(b * Tn + t) * D + d])) +
                     LD(so8t::to_float(x[(b * Tn + t - 1) * D + d]));
        sum += a * a;
      }
    }
  if (count) *count = n;
  return n == 0 ? 0 : sum / (LD(D) * LD(n));
}

template <class T>
std::vector<T> random_x(std::mt19937_64& rng, std::size_t count) {
  std::normal_distribution<double> n01;
  std::vector<T> x(count);
  for (auto& v : x) {
    if constexpr (std::is_same<T, half_t>::value || std::is_same<T, bfloat16_t>::value)
      v = T::from_float(float(n01(rng)));
    else
      v = T(n01(rng));
  }
  return x;
}

TEST(Pet, AffineSequenceIsZeroAndAlternatingIsSixteen) {
  const std::size_t Tn = 9, D = 8;
  std::vector<double> x(Tn * D), y(Tn * D);
  for (std::size_t t = 0; t < Tn; ++t)
    for (std::size_t d = 0; d < D; ++d) {
      x[t * D + d] = 0.5 + double(d) - 0.25 * double(t) * double(d + 1);  // u + t v
      y[t * D + d] = (t % 2 == 0) ? 1.0 : -1.0;
    }
  const so8t::PetResult a = so8t::pet_loss(x.data(), 1, Tn, D);
  EXPECT_EQ(a.value, 0.0);
  EXPECT_EQ(a.valid_triples, Tn - 2);
  EXPECT_FALSE(a.no_valid_triples);
  EXPECT_EQ(so8t::pet_loss(y.data(), 1, Tn, D).value, 16.0);
}

TEST(Pet, IidUnitVarianceGivesAboutSix) {
  std::mt19937_64 rng(31);
  const std::size_t B = 4, Tn = 256, D = 64;
  const std::vector<double> x = random_x<double>(rng, B * Tn * D);
  const double v = so8t::pet_loss(x.data(), B, Tn, D).value;
  EXPECT_NEAR(v, 6.0, 0.15);
}

SO8T_TYPED_TEST_SUITE(PetTyped, so8t_test::StorageTypes);

TYPED_TEST(PetTyped, ValueMatchesReferenceWithMaskAndSegments) {
  using T = TypeParam;
  std::mt19937_64 rng(32);
  const std::size_t B = 3, Tn = 17, D = 24;
  const std::vector<T> x = random_x<T>(rng, B * Tn * D);
  std::vector<std::uint8_t> valid(B * Tn, 1);
  std::vector<std::int32_t> seg(B * Tn, 0);
  for (std::size_t t = 13; t < Tn; ++t) valid[0 * Tn + t] = 0;         // right padding in row 0
  for (std::size_t t = 0; t < Tn; ++t) seg[1 * Tn + t] = t < 6 ? 4 : (t < 8 ? 5 : 6);  // three documents in row 1
  valid[2 * Tn + 7] = 0;                                                 // a hole in row 2
  for (int variant = 0; variant < 4; ++variant) {
    const std::vector<std::uint8_t>* vp = (variant & 1) ? &valid : nullptr;
    const std::vector<std::int32_t>* sp = (variant & 2) ? &seg : nullptr;
    so8t::PetMask mask;
    mask.valid = vp ? vp->data() : nullptr;
    mask.segment_ids = sp ? sp->data() : nullptr;
    std::size_t n_ref = 0;
    const LD ref = pet_reference(x, B, Tn, D, vp, sp, &n_ref);
    const so8t::PetResult r = so8t::pet_loss(x.data(), B, Tn, D, mask);
    EXPECT_EQ(r.valid_triples, n_ref) << "variant " << variant;
    EXPECT_EQ(so8t::pet_valid_triples(B, Tn, mask), n_ref);
    EXPECT_NEAR(r.value, double(ref), 1e-14 * double(ref)) << "variant " << variant;
  }
  // the documented counts: row 0 has 11 triples (t = 1..11), row 1 has 4 + 0 + 7, row 2 loses t = 6, 7, 8
  so8t::PetMask both{valid.data(), seg.data()};
  EXPECT_EQ(so8t::pet_valid_triples(B, Tn, both), 11u + 11u + 12u);
}

TEST(Pet, GradientMatchesFiniteDifferences) {
  std::mt19937_64 rng(33);
  const std::size_t B = 2, Tn = 11, D = 8;
  std::vector<double> x = random_x<double>(rng, B * Tn * D);
  std::vector<std::uint8_t> valid(B * Tn, 1);
  std::vector<std::int32_t> seg(B * Tn, 1);
  valid[0 * Tn + 9] = valid[0 * Tn + 10] = 0;
  for (std::size_t t = 5; t < Tn; ++t) seg[1 * Tn + t] = 2;
  for (int variant = 0; variant < 2; ++variant) {
    so8t::PetMask mask;
    if (variant == 1) mask = so8t::PetMask{valid.data(), seg.data()};
    std::vector<double> g(x.size());
    const so8t::PetResult r = so8t::pet_loss_and_grad(x.data(), B, Tn, D, mask, g.data());
    EXPECT_NEAR(r.value, so8t::pet_loss(x.data(), B, Tn, D, mask).value, 0.0);
    double worst = 0.0;
    const double h = 1e-5;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double x0 = x[i];
      x[i] = x0 + h;
      const double fp = so8t::pet_loss(x.data(), B, Tn, D, mask).value;
      x[i] = x0 - h;
      const double fm = so8t::pet_loss(x.data(), B, Tn, D, mask).value;
      x[i] = x0;
      worst = std::max(worst, std::fabs((fp - fm) / (2 * h) - g[i]));
    }
    EXPECT_LT(worst, 1e-8) << "variant " << variant;
    ::testing::Test::RecordProperty("fd_max_error_" + std::to_string(variant), std::to_string(worst));
  }
}

TEST(Pet, GradientFloatOutputScaleAndAccumulate) {
  std::mt19937_64 rng(34);
  const std::size_t B = 2, Tn = 7, D = 16;
  const std::vector<float> x = random_x<float>(rng, B * Tn * D);
  std::vector<double> gd(x.size());
  so8t::pet_loss_and_grad(x.data(), B, Tn, D, {}, gd.data());
  std::vector<float> gf(x.size(), 0.25f);
  so8t::pet_loss_and_grad(x.data(), B, Tn, D, {}, gf.data(), 0.1, so8t::PetGradMode::accumulate);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(gf[i], 0.25 + 0.1 * gd[i], 1e-6);
  // interior formula: (2/N)(x_{j-2} - 4x_{j-1} + 6x_j - 4x_{j+1} + x_{j+2})
  const double N = double(D) * double(B * (Tn - 2));
  const std::size_t b = 1, j = 3, d = 5;
  auto X = [&](std::size_t t) { return double(x[(b * Tn + t) * D + d]); };
  const double want = 2.0 / N * (X(j - 2) - 4 * X(j - 1) + 6 * X(j) - 4 * X(j + 1) + X(j + 2));
  EXPECT_NEAR(gd[(b * Tn + j) * D + d], want, 1e-12);
}

TEST(Pet, NoValidTriplesIsZeroWithFlag) {
  std::vector<float> x(2 * 2 * 8, 3.0f), g(x.size(), 7.0f);
  so8t::PetResult r = so8t::pet_loss_and_grad(x.data(), 2, 2, 8, {}, g.data());  // T = 2 < 3
  EXPECT_TRUE(r.no_valid_triples);
  EXPECT_EQ(r.value, 0.0);
  EXPECT_EQ(r.valid_triples, 0u);
  for (float v : g) EXPECT_EQ(v, 0.0f);
  std::vector<float> y(1 * 5 * 8, 1.0f);
  std::vector<std::uint8_t> pad(5, 0);
  r = so8t::pet_loss(y.data(), 1, 5, 8, so8t::PetMask{pad.data(), nullptr});
  EXPECT_TRUE(r.no_valid_triples);
  EXPECT_EQ(r.value, 0.0);
  std::vector<std::int32_t> docs = {0, 0, 1, 1, 2};  // every document shorter than 3 tokens
  r = so8t::pet_loss(y.data(), 1, 5, 8, so8t::PetMask{nullptr, docs.data()});
  EXPECT_TRUE(r.no_valid_triples);
  EXPECT_TRUE(so8t::pet_loss(static_cast<const float*>(nullptr), 0, 5, 8).no_valid_triples);
}

TEST(Pet, InvariantUnderRotationOfEveryPositionAndGivesGateNoGradient) {
  std::mt19937_64 rng(35);
  const std::size_t B = 2, Tn = 12, D = 24, n = D / 8;
  const std::vector<double> x = random_x<double>(rng, B * Tn * D);
  std::vector<double> params(28 * n);
  std::normal_distribution<double> n01;
  for (auto& p : params) p = 0.7 * n01(rng);
  auto gate = [&](const std::vector<double>& p) {
    std::vector<double> R(64 * n), y(x.size());
    so8t::block_exp(p.data(), n, R.data());
    for (std::size_t pos = 0; pos < B * Tn; ++pos) so8t::block_apply(R.data(), n, x.data() + pos * D, y.data() + pos * D);
    return y;
  };
  const std::vector<double> y = gate(params);
  const double px = so8t::pet_loss(x.data(), B, Tn, D).value, py = so8t::pet_loss(y.data(), B, Tn, D).value;
  EXPECT_NEAR(px, py, 1e-13 * px);
  // A full (non block-diagonal) orthogonal map of the channels too.
  {
    std::vector<double> z(x.size());
    const so8t_test::MatL Q = so8t_test::random_orthogonal(rng);  // acts on channels 8..15 only
    z = x;
    for (std::size_t pos = 0; pos < B * Tn; ++pos)
      for (int i = 0; i < 8; ++i) {
        LD s = 0;
        for (int k = 0; k < 8; ++k) s += Q(i, k) * LD(x[pos * D + 8 + k]);
        z[pos * D + 8 + i] = double(s);
      }
    EXPECT_NEAR(so8t::pet_loss(z.data(), B, Tn, D).value, px, 1e-13 * px);
  }
  // Analytic: dPET/dR_b = sum_pos g_pos x_pos^T, through the exp VJP to the 28 parameters of each block.
  std::vector<double> g(x.size());
  so8t::pet_loss_and_grad(y.data(), B, Tn, D, {}, g.data());
  std::vector<double> dR(64 * n, 0.0), dp(28 * n);
  for (std::size_t pos = 0; pos < B * Tn; ++pos)
    for (std::size_t b = 0; b < n; ++b)
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) dR[64 * b + 8 * i + j] += g[pos * D + 8 * b + i] * x[pos * D + 8 * b + j];
  so8t::block_exp_vjp(params.data(), dR.data(), n, dp.data());
  double gmax = 0.0, gscale = 0.0;
  for (double v : dp) gmax = std::max(gmax, std::fabs(v));
  for (double v : dR) gscale = std::max(gscale, std::fabs(v));
  EXPECT_LT(gmax, 1e-12 * std::max(1.0, gscale)) << "gate gradient " << gmax << " (dL/dR entries up to " << gscale << ")";
  // Finite differences on the parameters agree: zero.
  double fd = 0.0;
  for (std::size_t k = 0; k < params.size(); k += 5) {
    std::vector<double> pp = params, pm = params;
    pp[k] += 1e-4;
    pm[k] -= 1e-4;
    const std::vector<double> yp = gate(pp), ym = gate(pm);
    fd = std::max(fd, std::fabs(so8t::pet_loss(yp.data(), B, Tn, D).value - so8t::pet_loss(ym.data(), B, Tn, D).value) / 2e-4);
  }
  EXPECT_LT(fd, 1e-8);
}

TEST(Pet, BadInputThrows) {
  std::vector<float> x(64);
  std::vector<float> g(64);
  try {
    so8t::pet_loss(static_cast<const float*>(nullptr), 2, 4, 8);
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 4, 8]"), std::string::npos) << e.what();
  }
  try {
    so8t::pet_loss(x.data(), 2, 4, 0);
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("D = 0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(so8t::pet_loss_and_grad(x.data(), 2, 4, 8, {}, static_cast<float*>(nullptr)), so8t::InvalidArgument);
}

// ---- schedule ----

TEST(PetSchedule, DefaultsSwitchAtTwentyAndSixtyPercent) {
  EXPECT_EQ(so8t::pet_schedule(0.0), 0.01);
  EXPECT_EQ(so8t::pet_schedule(0.1999), 0.01);
  EXPECT_EQ(so8t::pet_schedule(0.2), 0.05);
  EXPECT_EQ(so8t::pet_schedule(0.5999), 0.05);
  EXPECT_EQ(so8t::pet_schedule(0.6), 0.1);
  EXPECT_EQ(so8t::pet_schedule(1.0), 0.1);
  EXPECT_EQ(so8t::pet_phase(0.1), so8t::PetPhase::explore);
  EXPECT_EQ(so8t::pet_phase(0.3), so8t::PetPhase::transition);
  EXPECT_EQ(so8t::pet_phase(0.9), so8t::PetPhase::stabilize);
  EXPECT_EQ(so8t::pet_schedule(std::size_t(199), std::size_t(1000)), 0.01);
  EXPECT_EQ(so8t::pet_schedule(std::size_t(200), std::size_t(1000)), 0.05);
  EXPECT_EQ(so8t::pet_schedule(std::size_t(600), std::size_t(1000)), 0.1);
  EXPECT_EQ(so8t::pet_schedule(std::size_t(1000), std::size_t(1000)), 0.1);
}

TEST(PetSchedule, ConfigurableAndRamped) {
  so8t::PetScheduleConfig c;
  c.lambda_explore = 0.05;
  c.lambda_transition = 0.2;
  c.lambda_stabilize = 0.5;
  c.transition_start = 0.3;
  c.stabilize_start = 0.7;
  EXPECT_EQ(so8t::pet_schedule(0.29, c), 0.05);
  EXPECT_EQ(so8t::pet_schedule(0.3, c), 0.2);
  EXPECT_EQ(so8t::pet_schedule(0.7, c), 0.5);
  c.ramp = 0.1;
  EXPECT_NEAR(so8t::pet_schedule(0.35, c), 0.125, 1e-15);
  EXPECT_EQ(so8t::pet_schedule(0.45, c), 0.2);
  EXPECT_NEAR(so8t::pet_schedule(0.75, c), 0.35, 1e-15);
  EXPECT_EQ(so8t::pet_schedule(0.9, c), 0.5);
}

TEST(PetSchedule, BadSettingsThrow) {
  so8t::PetScheduleConfig c;
  EXPECT_THROW(so8t::pet_schedule(1.5, c), so8t::InvalidArgument);
  EXPECT_THROW(so8t::pet_schedule(std::nan(""), c), so8t::InvalidArgument);
  EXPECT_THROW(so8t::pet_schedule(std::size_t(1), std::size_t(0)), so8t::InvalidArgument);
  EXPECT_THROW(so8t::pet_schedule(std::size_t(11), std::size_t(10)), so8t::InvalidArgument);
  c.transition_start = 0.7;
  c.stabilize_start = 0.6;
  try {
    so8t::pet_schedule(0.5, c);
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("transition_start = 0.7"), std::string::npos) << e.what();
  }
  c = {};
  c.lambda_transition = -1.0;
  EXPECT_THROW(so8t::pet_schedule(0.5, c), so8t::InvalidArgument);
  c = {};
  c.ramp = 0.5;  // longer than the transition phase
  EXPECT_THROW(so8t::pet_schedule(0.5, c), so8t::InvalidArgument);
}

}  // namespace
