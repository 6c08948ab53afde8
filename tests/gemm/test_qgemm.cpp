// Quantized-weight matmul (Q8_0, Q4_K x fp32/fp16) against dequantize-then-multiply in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "so8t/gemm/qgemm.hpp"

namespace {

using so8t::quant::Type;

void check_type(Type t) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const std::int64_t n = 19, k = 512;
  std::vector<float> w(static_cast<std::size_t>(n * k));
  for (auto& v : w) v = nd(rng);
  std::vector<unsigned char> q(so8t::quant::row_bytes(t, k) * static_cast<std::size_t>(n));
  so8t::quant::quantize(t, w.data(), q.data(), n, k);
  std::vector<float> wd(w.size());
  so8t::quant::dequantize(t, q.data(), wd.data(), n, k);
  for (std::int64_t m : {1, 3, 16, 17, 40}) {
    std::vector<float> x(static_cast<std::size_t>(m * k));
    for (auto& v : x) v = nd(rng);
    for (bool simd : {true, false}) {
      for (std::int64_t cross : {std::int64_t(0), so8t::gemm::kQgemmCrossoverM, std::int64_t(1000)}) {
        so8t::gemm::QgemmOptions opt;
        opt.allow_simd = simd;
        opt.crossover_m = cross;
        std::vector<float> y(static_cast<std::size_t>(m * n));
        so8t::gemm::qgemm(t, q.data(), n, k, x.data(), m, y.data(), opt);
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < n; ++j) {
            double r = 0, mag = 0;
            for (std::int64_t u = 0; u < k; ++u) {
              const double p = double(x[static_cast<std::size_t>(i * k + u)]) * wd[static_cast<std::size_t>(j * k + u)];
              r += p;
              mag += std::fabs(p);
            }
            ASSERT_NEAR(y[static_cast<std::size_t>(i * n + j)], r, 1e-5 * mag + 1e-6)
                << so8t::quant::type_name(t) << " m " << m << " simd " << simd << " crossover " << cross;
          }
      }
    }
  }
  // fp16 activations equal fp32 activations holding the same values.
  const std::int64_t m = 2;
  std::vector<so8t::half_t> xh(static_cast<std::size_t>(m * k));
  std::vector<float> xf(xh.size());
  for (std::size_t i = 0; i < xh.size(); ++i) {
    xh[i] = so8t::half_t::from_float(nd(rng));
    xf[i] = xh[i].to_float();
  }
  std::vector<float> y1(static_cast<std::size_t>(m * n)), y2(y1.size());
  so8t::gemm::qgemm(t, q.data(), n, k, xh.data(), m, y1.data());
  so8t::gemm::qgemm(t, q.data(), n, k, xf.data(), m, y2.data());
  EXPECT_EQ(y1, y2);
}

TEST(Qgemm, Q8_0MatchesDequantizedDouble) { check_type(Type::q8_0); }
TEST(Qgemm, Q4KMatchesDequantizedDouble) { check_type(Type::q4_k); }

TEST(Qgemm, RejectsBadArguments) {
  std::vector<unsigned char> q(1024);
  std::vector<float> x(64), y(4);
  EXPECT_THROW(so8t::gemm::qgemm(Type::q6_k, q.data(), 1, 256, x.data(), 1, y.data()), so8t::InvalidArgument);
  EXPECT_THROW(so8t::gemm::qgemm(Type::q8_0, q.data(), 1, 33, x.data(), 1, y.data()), so8t::InvalidArgument);
  EXPECT_THROW(so8t::gemm::qgemm(Type::q4_k, q.data(), 1, 64, x.data(), 1, y.data()), so8t::InvalidArgument);
  EXPECT_THROW(so8t::gemm::qgemm(Type::q8_0, nullptr, 1, 32, x.data(), 1, y.data()), so8t::InvalidArgument);
}

}  // namespace
