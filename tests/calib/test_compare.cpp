// compare_logits and kl_divergence against a two-pass long-double evaluation of the definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "calib_reference.hpp"
#include "so8t/calib/compare.hpp"

using namespace so8t::calib;

namespace {

template <class T>
void check_against_reference(std::size_t N, std::size_t V, double scale, double noise, unsigned seed, double kl_rel) {
  const auto a = qc_ref::random_logits<T>(N, V, scale, seed);
  auto b = a;
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<double> g(0.0, noise);
  for (auto& v : b) v = T(double(v) + g(rng));
  std::vector<double> per_token;
  const LogitComparison c = compare_logits(LogitsView<T>(a, N, V), LogitsView<T>(b, N, V), &per_token);

  long double max_abs = 0, sum_abs = 0, sum_sq = 0, kl_sum = 0, kl_max = 0;
  std::size_t agree = 0, mt = 0, mi = 0;
  for (std::size_t t = 0; t < N; ++t) {
    for (std::size_t k = 0; k < V; ++k) {
      const long double d = (long double)a[t * V + k] - (long double)b[t * V + k];
      if (std::fabs(d) > max_abs) {
        max_abs = std::fabs(d);
        mt = t;
        mi = k;
      }
      sum_abs += std::fabs(d);
      sum_sq += d * d;
    }
    const long double kl = qc_ref::kl(&a[t * V], &b[t * V], V);
    EXPECT_NEAR(per_token[t], double(kl), kl_rel * double(kl) + 1e-15) << "token " << t;
    kl_sum += kl;
    kl_max = std::max(kl_max, kl);
    agree += qc_ref::argmax(&a[t * V], V) == qc_ref::argmax(&b[t * V], V);
  }
  const long double n = (long double)N * V;
  EXPECT_EQ(c.tokens, N);
  EXPECT_EQ(c.vocab, V);
  EXPECT_EQ(c.max_abs_diff, double(max_abs));
  EXPECT_EQ(c.max_abs_token, mt);
  EXPECT_EQ(c.max_abs_index, mi);
  // Plain double summation of N*V terms: the relative error bound is about N*V*eps (6e-11 at 2.6e5 terms);
  // observed errors are ~2e-13.
  EXPECT_NEAR(c.mean_abs_diff, double(sum_abs / n), 1e-11 * double(sum_abs / n));
  EXPECT_NEAR(c.rms_diff, double(std::sqrt(sum_sq / n)), 1e-11 * double(std::sqrt(sum_sq / n)));
  EXPECT_NEAR(c.kl_mean, double(kl_sum / N), kl_rel * double(kl_sum / N) + 1e-15);
  EXPECT_NEAR(c.kl_max, double(kl_max), kl_rel * double(kl_max) + 1e-15);
  EXPECT_EQ(c.top1_agree, agree);
  EXPECT_DOUBLE_EQ(c.top1_agreement, double(agree) / N);
  EXPECT_NEAR(kl_divergence(LogitsView<T>(a, N, V), LogitsView<T>(b, N, V)), c.kl_mean, 1e-18);
}

}  // namespace

TEST(CompareLogits, MatchesReferenceSmallVocabFloat) { check_against_reference<float>(16, 37, 2.0, 0.3, 1, 1e-10); }
TEST(CompareLogits, MatchesReferenceDouble) { check_against_reference<double>(8, 1000, 3.0, 0.5, 2, 1e-10); }
TEST(CompareLogits, MatchesReferenceQwenVocab) { check_against_reference<float>(3, 151936, 2.0, 0.05, 3, 1e-8); }
TEST(CompareLogits, MatchesReferenceBeyondQwenVocab) { check_against_reference<float>(2, 262144, 1.5, 0.01, 4, 1e-6); }

TEST(CompareLogits, TinyPerturbationKlIsSecondOrder) {
  // KL(p || q) for q = softmax(a + eps*d) is eps^2/2 Var_p(d) + O(eps^3): check the small-KL regime is resolved.
  const std::size_t V = 50000;
  auto a = qc_ref::random_logits<double>(1, V, 2.0, 5);
  std::vector<double> d(V), b(V);
  std::mt19937_64 rng(6);
  std::normal_distribution<double> g;
  for (auto& v : d) v = g(rng);
  const double eps = 1e-5;
  for (std::size_t k = 0; k < V; ++k) b[k] = a[k] + eps * d[k];
  const auto p = qc_ref::softmax(a.data(), V);
  long double m = 0, m2 = 0;
  for (std::size_t k = 0; k < V; ++k) {
    m += p[k] * d[k];
    m2 += p[k] * d[k] * d[k];
  }
  const double expected = double(0.5L * eps * eps * (m2 - m * m));
  const double kl = kl_divergence(LogitsView<double>(a, 1, V), LogitsView<double>(b, 1, V));
  EXPECT_NEAR(kl, expected, 1e-3 * expected) << "expected ~" << expected;
}

TEST(CompareLogits, ShiftInvarianceAndIdentity) {
  const std::size_t N = 5, V = 4096;
  const auto a = qc_ref::random_logits<float>(N, V, 2.0, 7);
  std::vector<float> b(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) b[i] = a[i] + 8.0f;  // rounded in float, so KL is tiny but not exactly 0
  const auto self = compare_logits(LogitsView<float>(a, N, V), LogitsView<float>(a, N, V));
  EXPECT_EQ(self.max_abs_diff, 0.0);
  EXPECT_EQ(self.kl_mean, 0.0);
  EXPECT_EQ(self.kl_max, 0.0);
  EXPECT_EQ(self.top1_agreement, 1.0);
  const auto shifted = compare_logits(LogitsView<float>(a, N, V), LogitsView<float>(b, N, V));
  EXPECT_LT(shifted.kl_max, 1e-12);  // rounding of a + 8 in float only
  EXPECT_NEAR(shifted.mean_abs_diff, 8.0, 1e-5);
  EXPECT_EQ(shifted.top1_agreement, 1.0);
}

TEST(CompareLogits, TopOneAgreementCountsTiesAtLowestIndex) {
  // Row 0: tie between 1 and 3 -> argmax 1 in both. Row 1: pre argmax 0, post argmax 2. Row 2: same argmax.
  const std::vector<double> pre = {0, 5, 1, 5, /**/ 9, 1, 2, 3, /**/ 1, 2, 3, 4};
  const std::vector<double> post = {0, 5, 1, 5, /**/ 1, 1, 9, 3, /**/ 1, 2, 3, 5};
  const auto c = compare_logits(LogitsView<double>(pre, 3, 4), LogitsView<double>(post, 3, 4));
  EXPECT_EQ(c.top1_agree, 2u);
  EXPECT_DOUBLE_EQ(c.top1_agreement, 2.0 / 3.0);
  EXPECT_EQ(c.max_abs_diff, 8.0);
  EXPECT_EQ(c.max_abs_token, 1u);
  EXPECT_EQ(c.max_abs_index, 0u);  // |9 - 1| = 8 at index 0 beats |2 - 9| = 7 at index 2
  EXPECT_EQ(c.kl_max_token, 1u);
}

TEST(CompareLogits, ExtremeLogitsStayFinite) {
  // Logit magnitudes that overflow a naive exp in float and in double.
  const std::vector<float> a = {1000.0f, -1000.0f, 999.0f, 0.0f};
  const std::vector<float> b = {998.0f, -1000.0f, 1000.0f, 0.0f};
  const double kl = kl_divergence(LogitsView<float>(a, 1, 4), LogitsView<float>(b, 1, 4));
  const double ref = double(qc_ref::kl(a.data(), b.data(), 4));
  EXPECT_TRUE(std::isfinite(kl));
  EXPECT_NEAR(kl, ref, 1e-14);
}

TEST(CompareLogits, RowStrideIsHonoured) {
  // Two rows of 3 inside rows of 5: the padding values must not be read.
  const std::vector<double> a = {1, 2, 3, 1e300, 1e300, 3, 2, 1, 1e300, 1e300};
  const std::vector<double> b = {1, 2, 4, -1e300, 0, 3, 2, 1, 7, 7};
  const auto c = compare_logits(LogitsView<double>(a.data(), 2, 3, 5), LogitsView<double>(b.data(), 2, 3, 5));
  EXPECT_EQ(c.max_abs_diff, 1.0);
  EXPECT_NEAR(c.kl_mean, double(qc_ref::kl(a.data(), b.data(), 3)) / 2.0, 1e-15);
}

TEST(CompareLogits, BadInput) {
  const std::vector<float> a(12, 0.0f), b(15, 0.0f);
  try {
    (void)compare_logits(LogitsView<float>(a, 3, 4), LogitsView<float>(b, 3, 5));
    FAIL() << "no throw";
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("[3, 4] vs [3, 5]"), std::string::npos) << e.what();
  }
  try {
    (void)LogitsView<float>(a, 3, 5);
    FAIL() << "no throw";
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("12 elements"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)kl_divergence(LogitsView<float>(a.data(), 0, 4), LogitsView<float>(a.data(), 0, 4)),
               so8t::InvalidArgument);
  EXPECT_THROW((void)kl_divergence(LogitsView<float>(nullptr, 2, 4), LogitsView<float>(a.data(), 2, 4)),
               so8t::InvalidArgument);
  auto c = a;
  c[6] = std::numeric_limits<float>::quiet_NaN();
  try {
    (void)compare_logits(LogitsView<float>(a, 3, 4), LogitsView<float>(c, 3, 4));
    FAIL() << "no throw";
  } catch (const so8t::InvalidArgument& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("nan"), std::string::npos) << w;
    EXPECT_NE(w.find("token 1, index 2"), std::string::npos) << w;
    EXPECT_NE(w.find("post"), std::string::npos) << w;
  }
  c[6] = std::numeric_limits<float>::infinity();
  EXPECT_THROW((void)kl_divergence(LogitsView<float>(c, 3, 4), LogitsView<float>(a, 3, 4)), std::invalid_argument);
  c[6] = -std::numeric_limits<float>::infinity();
  EXPECT_THROW((void)kl_divergence(LogitsView<float>(c, 3, 4), LogitsView<float>(a, 3, 4)), std::invalid_argument);
}
