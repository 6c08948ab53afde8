// so(8) coordinates: the PEFT triu order, hat/vee, the skew check, bracket identities.
#include <gtest/gtest.h>

#include "support/oracles.hpp"

using namespace so8t_test;

TEST(So8Algebra, CoordinateOrderIsRowMajorUpperTriangle) {
  // torch.triu_indices(8, 8, 1) order, written out independently.
  int k = 0;
  for (int i = 0; i < 8; ++i)
    for (int j = i + 1; j < 8; ++j, ++k) {
      EXPECT_EQ(so8t::so8_row(k), i);
      EXPECT_EQ(so8t::so8_col(k), j);
      EXPECT_EQ(so8t::so8_index(i, j), k);
    }
  EXPECT_EQ(k, 28);
}

TEST(So8Algebra, HatPlacesCoefficientsAndVeeInvertsIt) {
  std::array<double, 28> c{};
  for (int k = 0; k < 28; ++k) c[k] = k + 1;
  const so8t::so8<double> a(c);
  const auto A = a.hat();
  EXPECT_EQ(A(0, 1), 1);
  EXPECT_EQ(A(1, 0), -1);
  EXPECT_EQ(A(0, 7), 7);
  EXPECT_EQ(A(1, 2), 8);
  EXPECT_EQ(A(6, 7), 28);
  EXPECT_EQ(A(7, 6), -28);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(A(i, i), 0);
  const auto b = so8t::so8<double>::vee(A);
  for (int k = 0; k < 28; ++k) EXPECT_EQ(b[k], c[k]);
  EXPECT_EQ(hat_ld(a), to_ld(A));  // the test oracle's own hat agrees
  // Constructors agree.
  const so8t::so8<double> from_ptr(c.data());
  for (int k = 0; k < 28; ++k) EXPECT_EQ(from_ptr[k], a[k]);
  EXPECT_EQ(a.to_array(), c);
}

TEST(So8Algebra, VeeRejectsNonSkewInputNamingTheEntry) {
  auto A = so8t::so8<float>::generator(3).hat();
  A(2, 5) = 0.25f;  // (2,5) no longer the negative of (5,2)
  try {
    (void)so8t::so8<float>::vee(A);
    FAIL() << "no exception";
  } catch (const so8t::NotSkewSymmetric& e) {
    EXPECT_NE(std::string(e.what()).find("m(2,5)"), std::string::npos) << e.what();
  }
  A = so8t::so8<float>().hat();
  A(4, 4) = 1e-3f;  // non-zero diagonal
  EXPECT_THROW((void)so8t::so8<float>::vee(A), so8t::NotSkewSymmetric);
  A(4, 4) = std::nanf("");
  EXPECT_THROW((void)so8t::so8<float>::vee(A), std::invalid_argument);
  // Rounding-level asymmetry is accepted.
  auto B = so8t::so8<double>::generator(0).hat();
  B(0, 1) = 1.0 + 1e-15;
  EXPECT_NO_THROW((void)so8t::so8<double>::vee(B));
  so8t::Status st;
  (void)so8t::so8<float>::vee_checked(A, &st);
  EXPECT_EQ(st, so8t::Status::bad_argument);
}

TEST(So8Algebra, FrobeniusPairingIsTwiceTheDot) {
  std::mt19937_64 rng(3);
  const auto a = random_coords<double>(rng), b = random_coords<double>(rng);
  const LD frob = (hat_ld(a).cwiseProduct(hat_ld(b))).sum();
  EXPECT_NEAR(double(frob), 2 * a.dot(b), 1e-12);
}

TEST(So8Algebra, BracketIsAntisymmetricAndSatisfiesJacobi) {
  std::mt19937_64 rng(4);
  using A = so8t::so8<double>;
  const auto x = random_coords<double>(rng), y = random_coords<double>(rng), z = random_coords<double>(rng);
  const A xy = A::bracket(x, y), yx = A::bracket(y, x);
  for (int k = 0; k < 28; ++k) EXPECT_NEAR(xy[k], -yx[k], 1e-14);
  const A j = A::bracket(x, A::bracket(y, z)) + A::bracket(y, A::bracket(z, x)) + A::bracket(z, A::bracket(x, y));
  for (int k = 0; k < 28; ++k) EXPECT_NEAR(j[k], 0.0, 1e-12);
  // [E_01, E_12] = E_02 for E_ij = e_i e_j^T - e_j e_i^T.
  const A e = A::bracket(A::generator(so8t::so8_index(0, 1)), A::generator(so8t::so8_index(1, 2)));
  for (int k = 0; k < 28; ++k) EXPECT_EQ(e[k], k == so8t::so8_index(0, 2) ? 1.0 : 0.0);
}
