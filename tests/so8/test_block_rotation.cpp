// Block rotations: batched exp/VJP equal the single-block functions, composition order, apply, drift.
#include <gtest/gtest.h>

#include <cstring>

#include "support/oracles.hpp"
#include "support/typed_suite.hpp"

using namespace so8t_test;

// The batched host path runs blocks in SIMD lane packs grouped by exp plan; every block must get exactly
// the bits of the per-block scalar path (which is also what the GPU kernel runs). Scales from 1e-6 to ~30
// hit every Padé degree, several squaring counts, and partial packs at the end of each group.
SO8T_TYPED_TEST_SUITE(BlockRotationTyped, so8t_test::RealScalars);

TYPED_TEST(BlockRotationTyped, BatchedExpAndVjpEqualPerBlockPathBitForBit) {
  using S = TypeParam;
  std::mt19937_64 rng(1);
  for (std::size_t n : {std::size_t(1), std::size_t(3), std::size_t(37), std::size_t(1001)}) {
    std::vector<S> p(28 * n), R(64 * n), G(64 * n), g(28 * n);
    for (std::size_t b = 0; b < n; ++b) {
      const auto a = random_coords<S>(rng, std::pow(10.0, -6.0 + 7.5 * double(b % 13) / 12.0));
      std::memcpy(&p[28 * b], a.data(), 28 * sizeof(S));
    }
    for (auto& v : G) v = S(std::normal_distribution<double>(0, 1)(rng));
    so8t::block_exp(p.data(), n, R.data());
    so8t::block_exp_vjp(p.data(), G.data(), n, g.data());
    std::size_t bad_exp = 0, bad_vjp = 0;
    for (std::size_t b = 0; b < n; ++b) {
      const auto single = so8t::SO8<S>::exp(so8t::so8<S>(&p[28 * b])).matrix();
      bad_exp += std::memcmp(single.a, &R[64 * b], sizeof(single.a)) != 0;
      const auto ref = so8t::exp_vjp(so8t::so8<S>(&p[28 * b]), so8t::Mat8<S>::load(&G[64 * b]));
      bad_vjp += std::memcmp(ref.data(), &g[28 * b], 28 * sizeof(S)) != 0;
    }
    EXPECT_EQ(bad_exp, 0u) << n << " blocks";
    EXPECT_EQ(bad_vjp, 0u) << n << " blocks";
  }
}

TEST(BlockRotation, ComposeIsOrderedAndApplyRotatesBlocks) {
  std::mt19937_64 rng(3);
  const std::size_t n = 4;
  std::vector<double> ps(28 * n), pc(28 * n), Rs(64 * n), Rc(64 * n), Rcs(64 * n), Rsc(64 * n);
  for (auto& v : ps) v = std::normal_distribution<double>(0, 0.7)(rng);
  for (auto& v : pc) v = std::normal_distribution<double>(0, 0.7)(rng);
  so8t::block_exp(ps.data(), n, Rs.data());
  so8t::block_exp(pc.data(), n, Rc.data());
  so8t::block_compose(Rc.data(), Rs.data(), n, Rcs.data());  // R_cmd after R_safe
  so8t::block_compose(Rs.data(), Rc.data(), n, Rsc.data());
  std::vector<double> x(8 * n), ys(8 * n), ycs(8 * n), yboth(8 * n);
  for (auto& v : x) v = std::normal_distribution<double>(0, 1)(rng);
  so8t::block_apply(Rs.data(), n, x.data(), ys.data());
  so8t::block_apply(Rc.data(), n, ys.data(), ycs.data());  // R_cmd (R_safe x)
  so8t::block_apply(Rcs.data(), n, x.data(), yboth.data());
  double diff_order = 0;
  for (std::size_t i = 0; i < 8 * n; ++i) EXPECT_NEAR(yboth[i], ycs[i], 1e-14);
  for (std::size_t i = 0; i < 64 * n; ++i) diff_order = std::max(diff_order, std::abs(Rcs[i] - Rsc[i]));
  EXPECT_GT(diff_order, 1e-2) << "rotations in 8 dimensions do not commute";
  // Norms of each block are preserved.
  for (std::size_t b = 0; b < n; ++b) {
    double nx = 0, ny = 0;
    for (int i = 0; i < 8; ++i) {
      nx += x[8 * b + i] * x[8 * b + i];
      ny += yboth[8 * b + i] * yboth[8 * b + i];
    }
    EXPECT_NEAR(nx, ny, 1e-13);
  }
}

TEST(BlockRotation, ComposeVjpMatchesFiniteDifferences) {
  std::mt19937_64 rng(4);
  const auto A = random_matrix<double>(rng), B = random_matrix<double>(rng), G = random_matrix<double>(rng);
  so8t::Mat8<double> dA, dB;
  so8t::block_compose_vjp(A.a, B.a, G.a, 1, dA.a, dB.a);
  auto loss = [&](const so8t::Mat8<double>& x, const so8t::Mat8<double>& y) {
    const auto p = x * y;
    double acc = 0;
    for (int k = 0; k < 64; ++k) acc += G.a[k] * p.a[k];
    return acc;
  };
  for (int k = 0; k < 64; k += 7) {
    auto Ap = A, Am = A, Bp = B, Bm = B;
    Ap.a[k] += 1e-6;
    Am.a[k] -= 1e-6;
    Bp.a[k] += 1e-6;
    Bm.a[k] -= 1e-6;
    EXPECT_NEAR(dA.a[k], (loss(Ap, B) - loss(Am, B)) / 2e-6, 1e-7);
    EXPECT_NEAR(dB.a[k], (loss(A, Bp) - loss(A, Bm)) / 2e-6, 1e-7);
  }
}

TEST(BlockRotation, DriftReportFindsTheWorstBlock) {
  const std::size_t n = 5;
  std::vector<double> R(64 * n, 0.0);
  for (std::size_t b = 0; b < n; ++b)
    for (int i = 0; i < 8; ++i) R[64 * b + 9 * i] = 1.0;
  R[64 * 3 + 9 * 2] = 1.001;  // block 3 drifted
  const auto d = so8t::block_drift(R.data(), n);
  EXPECT_EQ(d.worst_block, 3u);
  EXPECT_NEAR(d.max_error, 1.001 * 1.001 - 1, 1e-12);
  EXPECT_NEAR(d.rms_error, d.max_error / std::sqrt(5.0), 1e-12);
}

TEST(BlockRotation, BadInputsAreClearErrors) {
  std::vector<float> p(28, 0.0f), R(64);
  p[11] = std::nanf("");
  try {
    so8t::block_exp(p.data(), 1, R.data());
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("block 0 coefficient 11"), std::string::npos) << e.what();
  }
  EXPECT_THROW(so8t::block_exp<float>(nullptr, 3, R.data()), so8t::InvalidArgument);
  EXPECT_NO_THROW(so8t::block_exp<float>(nullptr, 0, nullptr));
}
