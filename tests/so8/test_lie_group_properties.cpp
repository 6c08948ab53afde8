// A generic Lie-group property harness (Sophus LieGroupTests / manif MANIF_TEST style) run over float
// and double on random and curated elements: exp/log round trips, inverse, composition, action, hat/vee,
// adjoint-free identities. Tolerances scale with the scalar's epsilon.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

// Explicit instantiation: every member of the class templates must compile for both scalars.
template class so8t::SO8<float>;
template class so8t::SO8<double>;
template class so8t::so8<float>;
template class so8t::so8<double>;

template <class S>
class LieGroupProperties : public ::testing::Test {
 protected:
  using G = so8t::SO8<S>;
  using T = so8t::so8<S>;

  // Curated tangents (zero, tiny, isoclinic, pi, pi - 1e-6, large) plus random ones of several sizes.
  static std::vector<T> tangents() {
    std::mt19937_64 rng(2024);
    std::vector<T> v;
    const LD pi = 3.141592653589793238L;
    v.push_back(T());
    v.push_back(random_coords<S>(rng, 1e-8));
    v.push_back(random_with_angles<S>(rng, {1, 1, 1, 1}));
    v.push_back(random_with_angles<S>(rng, {pi, 0.5L, 0.2L, 0.1L}));
    v.push_back(random_with_angles<S>(rng, {pi - 1e-6L, 1, 0.5L, 0}));
    v.push_back(random_with_max_angle<S>(rng, 10.0L));
    for (int i = 0; i < 20; ++i) v.push_back(random_with_max_angle<S>(rng, LD(0.15 * (i + 1))));
    return v;
  }
  static double tol() { return sizeof(S) == 4 ? 2e-5 : 1e-12; }
  static double mdiff(const so8t::Mat8<S>& x, const so8t::Mat8<S>& y) { return double(max_abs_diff(to_ld(x), to_ld(y))); }
};

using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(LieGroupProperties, Scalars);

TYPED_TEST(LieGroupProperties, ExpOfLogIsIdentity) {
  using Grp = typename TestFixture::G;
  for (const auto& a : TestFixture::tangents()) {
    const Grp R = Grp::exp(a);
    EXPECT_LE(TestFixture::mdiff(Grp::exp(R.log()).matrix(), R.matrix()), TestFixture::tol());
  }
}

TYPED_TEST(LieGroupProperties, InverseComposesToIdentity) {
  using Grp = typename TestFixture::G;
  for (const auto& a : TestFixture::tangents()) {
    const Grp R = Grp::exp(a);
    EXPECT_LE(TestFixture::mdiff((R * R.inverse()).matrix(), so8t::Mat8<TypeParam>::identity()), TestFixture::tol());
    EXPECT_LE(TestFixture::mdiff(R.inverse().matrix(), Grp::exp(-a).matrix()), TestFixture::tol() * 4);
  }
}

TYPED_TEST(LieGroupProperties, CompositionIsAssociativeAndActionComposes) {
  using Grp = typename TestFixture::G;
  const auto ts = TestFixture::tangents();
  so8t::Vec8<TypeParam> x;
  for (int i = 0; i < 8; ++i) x[i] = TypeParam(0.25 * i - 1);
  for (std::size_t i = 0; i + 2 < ts.size(); ++i) {
    const Grp A = Grp::exp(ts[i]), B = Grp::exp(ts[i + 1]), C = Grp::exp(ts[i + 2]);
    EXPECT_LE(TestFixture::mdiff(((A * B) * C).matrix(), (A * (B * C)).matrix()), TestFixture::tol());
    const auto y1 = (A * B) * x, y2 = A * (B * x);
    for (int k = 0; k < 8; ++k) EXPECT_NEAR(double(y1[k]), double(y2[k]), TestFixture::tol());
    double nx = 0, ny = 0;  // action preserves the norm
    for (int k = 0; k < 8; ++k) {
      nx += double(x[k]) * double(x[k]);
      ny += double(y1[k]) * double(y1[k]);
    }
    EXPECT_NEAR(nx, ny, TestFixture::tol() * 10);
  }
}

TYPED_TEST(LieGroupProperties, OneParameterSubgroup) {
  // exp(s a) exp(t a) = exp((s + t) a).
  using Grp = typename TestFixture::G;
  for (const auto& a : TestFixture::tangents()) {
    const Grp lhs = Grp::exp(a * TypeParam(0.25)) * Grp::exp(a * TypeParam(0.5));
    EXPECT_LE(TestFixture::mdiff(lhs.matrix(), Grp::exp(a * TypeParam(0.75)).matrix()), TestFixture::tol() * 4);
  }
}

TYPED_TEST(LieGroupProperties, ConjugationMatchesAdjointAction) {
  // R exp(a) R^T = exp(R hat(a) R^T): the group acts on its algebra by conjugation.
  using Grp = typename TestFixture::G;
  using Alg = typename TestFixture::T;
  const auto ts = TestFixture::tangents();
  for (std::size_t i = 0; i + 1 < ts.size(); ++i) {
    const Grp R = Grp::exp(ts[i]);
    const Alg ad = Alg::vee_unchecked(R.matrix() * ts[i + 1].hat() * R.matrix().transpose());
    const Grp lhs = R * Grp::exp(ts[i + 1]) * R.inverse();
    EXPECT_LE(TestFixture::mdiff(lhs.matrix(), Grp::exp(ad).matrix()), TestFixture::tol() * 4);
  }
}

TYPED_TEST(LieGroupProperties, HatVeeRoundTripAndLinearity) {
  using Alg = typename TestFixture::T;
  for (const auto& a : TestFixture::tangents()) {
    const Alg b = Alg::vee(a.hat());
    for (int k = 0; k < 28; ++k) EXPECT_EQ(b[k], a[k]);
    const Alg c = a + a * TypeParam(2);
    const auto h = c.hat(), h3 = TypeParam(3) * a.hat();
    EXPECT_LE(TestFixture::mdiff(h, h3), TestFixture::tol());
  }
}

TYPED_TEST(LieGroupProperties, CastBetweenScalars) {
  using Grp = typename TestFixture::G;
  const auto a = TestFixture::tangents()[10];
  const auto R = Grp::exp(a);
  const auto Rd = R.template cast<double>();
  for (int k = 0; k < 64; ++k) EXPECT_EQ(Rd.matrix().a[k], double(R.matrix().a[k]));
}
