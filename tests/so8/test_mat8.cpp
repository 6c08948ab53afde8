// Mat8 arithmetic against Eigen (an independent implementation), fixed summation order, norms.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

TEST(Mat8, ProductMatchesEigen) {
  std::mt19937_64 rng(1);
  const auto x = random_matrix<double>(rng), y = random_matrix<double>(rng);
  const MatL ref = to_ld(x) * to_ld(y);
  EXPECT_LE(double(max_abs_diff(to_ld(x * y), ref)), 1e-14);
  EXPECT_LE(double(max_abs_diff(to_ld(so8t::transpose_times(x, y)), to_ld(x).transpose() * to_ld(y))), 1e-14);
  so8t::Vec8<double> v;
  for (int i = 0; i < 8; ++i) v[i] = 0.5 * i - 1;
  const auto xv = x * v;
  Eigen::Matrix<LD, 8, 1> ev;
  for (int i = 0; i < 8; ++i) ev(i) = v[i];
  const Eigen::Matrix<LD, 8, 1> rv = to_ld(x) * ev;
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(xv[i], double(rv(i)), 1e-14);
}

TEST(Mat8, ProductSumsInIndexOrder) {
  // Entry (0,0) = 1e16*1 + 1*1 + (-1e16)*1 + 1*1...: left-to-right double rounding gives exactly 2 here
  // (1e16 + 1 rounds to 1e16), a pairwise or fused order would give something else.
  so8t::Mat8<double> x = so8t::Mat8<double>::zero(), y = so8t::Mat8<double>::zero();
  const double row[8] = {1e16, 1, -1e16, 1, 1, 0, 0, 0};
  for (int k = 0; k < 8; ++k) {
    x(0, k) = row[k];
    y(k, 0) = 1;
  }
  EXPECT_EQ((x * y)(0, 0), 2.0);
}

TEST(Mat8, ElementwiseAndNorms) {
  std::mt19937_64 rng(2);
  const auto x = random_matrix<float>(rng), y = random_matrix<float>(rng);
  const auto s = x + y, d = x - y, n = -x, sc = 2.0f * x;
  for (int k = 0; k < 64; ++k) {
    EXPECT_EQ(s.a[k], x.a[k] + y.a[k]);
    EXPECT_EQ(d.a[k], x.a[k] - y.a[k]);
    EXPECT_EQ(n.a[k], -x.a[k]);
    EXPECT_EQ(sc.a[k], 2.0f * x.a[k]);
  }
  const auto e = to_ld(x);
  EXPECT_NEAR(double(so8t::norm1(x)), double(e.cwiseAbs().colwise().sum().maxCoeff()), 1e-5);
  EXPECT_EQ(double(so8t::max_abs(x)), double(e.cwiseAbs().maxCoeff()));
  EXPECT_TRUE(so8t::all_finite(x));
  auto bad = x;
  bad(3, 4) = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(so8t::all_finite(bad));
  bad(3, 4) = std::nanf("");
  EXPECT_FALSE(so8t::all_finite(bad));
}

TEST(Mat8, LoadStoreWithLeadingDimension) {
  std::vector<float> buf(8 * 11);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = float(i);
  const auto m = so8t::Mat8<float>::load(buf.data(), 11);
  EXPECT_EQ(m(2, 3), float(2 * 11 + 3));
  std::vector<float> out(8 * 11, -1.0f);
  m.store(out.data(), 11);
  EXPECT_EQ(out[7 * 11 + 7], float(7 * 11 + 7));
  EXPECT_EQ(out[7 * 11 + 8], -1.0f);  // padding untouched
  const auto t = m.transpose();
  EXPECT_EQ(t(3, 2), m(2, 3));
  EXPECT_EQ(so8t::Mat8<float>::identity()(4, 4), 1.0f);
  EXPECT_EQ(so8t::Mat8<float>::identity()(4, 5), 0.0f);
}
