// LLM.int8 on the CPU: every kernel's int32 accumulators equal the scalar reference exactly, and the
// layer matches an fp64 computation of its definition.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "so8t/gemm/llm_int8.hpp"

namespace {

using so8t::gemm::Int8Kernel;

std::vector<Int8Kernel> kernels_here() {
  std::vector<Int8Kernel> ks{Int8Kernel::scalar};
  if (so8t::gemm::cpu_supports(Int8Kernel::avx2)) ks.push_back(Int8Kernel::avx2);
  if (so8t::gemm::cpu_supports(Int8Kernel::avx512vnni)) ks.push_back(Int8Kernel::avx512vnni);
  return ks;
}

std::vector<std::int8_t> random_codes(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(d(rng));
  return v;
}

void expect_exact(const std::vector<std::int8_t>& a, const std::vector<std::int8_t>& b, std::int64_t m,
                  std::int64_t n, std::int64_t k, const std::string& what) {
  std::vector<std::int32_t> ref(static_cast<std::size_t>(m * n));
  so8t::gemm::gemm_s8s8_s32_ref(a.data(), k, b.data(), k, m, n, k, ref.data(), n);
  const auto packed = so8t::gemm::pack_int8(b.data(), n, k, k);
  for (Int8Kernel kern : kernels_here()) {
    for (int threads : {1, 2}) {
      std::vector<std::int32_t> c(static_cast<std::size_t>(m * n), -1);
      so8t::gemm::gemm_s8s8_s32(kern, a.data(), k, m, b.data(), k, packed, c.data(), n, threads);
      ASSERT_EQ(c, ref) << what << " kernel " << so8t::gemm::kernel_name(kern) << " threads " << threads << " m " << m
                        << " n " << n << " k " << k;
    }
  }
}

TEST(Int8Kernels, ReportsPaths) {
  std::string s;
  for (Int8Kernel k : kernels_here()) s += std::string(so8t::gemm::kernel_name(k)) + " ";
  std::cout << "[ info ] int8 kernels on this CPU: " << s << "(automatic = "
            << so8t::gemm::kernel_name(so8t::gemm::best_int8_kernel()) << ")\n";
  EXPECT_TRUE(so8t::gemm::cpu_supports(Int8Kernel::scalar));
}

TEST(Int8Kernels, RandomShapesExact) {
  std::mt19937 rng(7);
  // K not a multiple of 4/32/64, M not a multiple of the 8/4-row tiles, N not a multiple of 16/32.
  const std::int64_t shapes[][3] = {{1, 1, 1},   {1, 16, 64},  {3, 17, 5},   {8, 32, 128}, {9, 33, 131},
                                    {17, 50, 67}, {5, 100, 255}, {16, 48, 1000}, {2, 7, 3},   {13, 64, 96}};
  for (const auto& s : shapes) {
    const auto a = random_codes(static_cast<std::size_t>(s[0] * s[2]), rng);
    const auto b = random_codes(static_cast<std::size_t>(s[1] * s[2]), rng);
    expect_exact(a, b, s[0], s[1], s[2], "random");
  }
}

TEST(Int8Kernels, ExtremeValuesExact) {
  // All +-127 (largest products and sums), alternating signs, and all-zero rows.
  const std::int64_t m = 11, n = 37, k = 517;
  for (int pattern = 0; pattern < 4; ++pattern) {
    std::vector<std::int8_t> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(n * k));
    for (std::int64_t i = 0; i < m * k; ++i)
      a[static_cast<std::size_t>(i)] = pattern == 0 ? 127 : pattern == 1 ? -127 : ((i % 3) ? 127 : -127);
    for (std::int64_t i = 0; i < n * k; ++i)
      b[static_cast<std::size_t>(i)] = pattern == 0 ? 127 : pattern == 1 ? 127 : ((i % 2) ? -127 : 127);
    if (pattern == 3)
      for (std::int64_t j = 0; j < k; ++j) a[static_cast<std::size_t>(4 * k + j)] = 0;  // row 4 all zero
    expect_exact(a, b, m, n, k, "extreme pattern " + std::to_string(pattern));
  }
}

TEST(Int8Kernels, LargeKNoOverflow) {
  const std::int64_t m = 2, n = 18, k = 60001;
  std::vector<std::int8_t> a(static_cast<std::size_t>(m * k), -127), b(static_cast<std::size_t>(n * k), -127);
  expect_exact(a, b, m, n, k, "large k");
  EXPECT_THROW(so8t::gemm::pack_int8(b.data(), 1, so8t::gemm::kMaxInt8K + 1, so8t::gemm::kMaxInt8K + 1),
               so8t::InvalidArgument);
}

// ---------------------------------------------------------------- quantizers

TEST(Int8Quantize, OutlierColumnsAndRowScales) {
  const std::int64_t m = 3, k = 5;
  const float x[m * k] = {1.0f, -6.0f, 0.5f, 2.0f, 0.0f,   //
                          0.25f, 1.0f, -7.5f, 4.0f, 0.0f,  //
                          0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  const auto cols = so8t::gemm::find_outlier_columns(x, m, k, k, 6.0f);
  EXPECT_EQ(cols, (std::vector<std::int32_t>{1, 2}));  // |x| >= t: -6.0 counts
  const auto q = so8t::gemm::quantize_activations_int8(x, m, k, k, 6.0f);
  EXPECT_FLOAT_EQ(q.absmax[0], 2.0f);
  EXPECT_FLOAT_EQ(q.absmax[1], 4.0f);  // 1.0 in outlier column 1 is left out too
  EXPECT_EQ(q.absmax[2], 0.0f);
  EXPECT_EQ(q.q[0], 64);   // round-half-even(63.5) = 64
  EXPECT_EQ(q.q[1], 0);    // outlier column
  EXPECT_EQ(q.q[3], 127);
  for (int j = 0; j < k; ++j) EXPECT_EQ(q.q[static_cast<std::size_t>(2 * k + j)], 0);
  EXPECT_TRUE(so8t::gemm::find_outlier_columns(x, m, k, k, 0.0f).empty());  // 0 disables
  const float bad[2] = {1.0f, std::nanf("")};
  EXPECT_THROW(so8t::gemm::find_outlier_columns(bad, 1, 2, 2, 6.0f), so8t::InvalidArgument);
}

// ---------------------------------------------------------------- the layer

/// fp64 evaluation of the layer's definition from the same quantized operands.
std::vector<double> layer_ref(const so8t::gemm::Int8Linear& l, const std::vector<float>& x, std::int64_t m,
                              float threshold) {
  const std::int64_t n = l.out_features(), k = l.in_features();
  const auto a = so8t::gemm::quantize_activations_int8(x.data(), m, k, k, threshold);
  std::vector<char> out(static_cast<std::size_t>(k), 0);
  for (auto c : a.outlier_cols) out[static_cast<std::size_t>(c)] = 1;
  std::vector<double> y(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double acc = 0, fpart = 0;
      for (std::int64_t t = 0; t < k; ++t) {
        const double wq = l.weight().q[static_cast<std::size_t>(j * k + t)];
        if (out[static_cast<std::size_t>(t)]) fpart += double(x[static_cast<std::size_t>(i * k + t)]) * wq * l.weight().scale[static_cast<std::size_t>(j)] / 127.0;
        else acc += double(a.q[static_cast<std::size_t>(i * k + t)]) * wq;
      }
      y[static_cast<std::size_t>(i * n + j)] = acc * a.absmax[static_cast<std::size_t>(i)] * l.weight().scale[static_cast<std::size_t>(j)] / (127.0 * 127.0) + fpart +
                  (l.bias().empty() ? 0.0 : l.bias()[static_cast<std::size_t>(j)]);
    }
  return y;
}

TEST(Int8Linear, MatchesDefinitionAndIsBitEqualAcrossKernels) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const std::int64_t m = 7, n = 45, k = 77;
  std::vector<float> w(static_cast<std::size_t>(n * k)), x(static_cast<std::size_t>(m * k)), bias(static_cast<std::size_t>(n));
  for (auto& v : w) v = nd(rng) * 0.1f;
  for (auto& v : x) v = nd(rng);
  for (auto& v : bias) v = nd(rng);
  for (std::int64_t i = 0; i < m; ++i) x[static_cast<std::size_t>(i * k + 10)] = 20.0f * nd(rng) + 8.0f;  // a column of outliers
  for (std::int64_t j = 0; j < k; ++j) x[static_cast<std::size_t>(3 * k + j)] = 0.0f;  // an all-zero row
  for (std::int64_t j = 0; j < k; ++j) w[static_cast<std::size_t>(5 * k + j)] = 0.0f;  // an all-zero weight row
  const auto layer = so8t::gemm::Int8Linear::from_float(w.data(), n, k, bias.data());
  const auto ref = layer_ref(layer, x, m, 6.0f);
  std::vector<float> first;
  for (Int8Kernel kern : kernels_here()) {
    std::vector<float> y(static_cast<std::size_t>(m * n));
    so8t::gemm::Int8Options opt;
    opt.kernel = kern;
    const auto st = layer.forward(x.data(), m, y.data(), opt);
    EXPECT_GE(st.outlier_columns, 1);
    for (std::size_t i = 0; i < y.size(); ++i) {
      ASSERT_FALSE(std::isnan(y[i]));
      EXPECT_NEAR(double(y[i]), ref[i], 1e-4 * (1.0 + std::fabs(ref[i]))) << i;
    }
    for (std::int64_t j = 0; j < n; ++j)  // the all-zero X row (its outlier entry is 0 too) gives exactly the bias
      EXPECT_EQ(y[static_cast<std::size_t>(3 * n + j)], bias[static_cast<std::size_t>(j)]);
    if (first.empty()) first = y;
    else EXPECT_EQ(y, first) << "outputs differ between kernels: " << so8t::gemm::kernel_name(kern);
  }
  // And close to the unquantized product.
  std::vector<float> yf(static_cast<std::size_t>(m * n));
  so8t::gemm::gemm_f32(x.data(), m, k, w.data(), n, yf.data(), bias.data());
  for (std::size_t i = 0; i < yf.size(); ++i) EXPECT_NEAR(first[i], yf[i], 0.05 + 0.02 * std::fabs(yf[i]));
}

TEST(Int8Linear, AllZeroInputGivesBiasNotNaN) {
  const std::int64_t m = 2, n = 3, k = 4;
  const std::vector<float> w(static_cast<std::size_t>(n * k), 0.5f), b{1.0f, 2.0f, 3.0f};
  const std::vector<float> x(static_cast<std::size_t>(m * k), 0.0f);
  const auto layer = so8t::gemm::Int8Linear::from_float(w.data(), n, k, b.data());
  std::vector<float> y(static_cast<std::size_t>(m * n));
  for (float t : {6.0f, 0.0f}) {
    so8t::gemm::Int8Options o;
    o.threshold = t;
    layer.forward(x.data(), m, y.data(), o);
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) EXPECT_EQ(y[static_cast<std::size_t>(i * n + j)], b[static_cast<std::size_t>(j)]);
  }
}

TEST(Int8Linear, RowOfOnlyOutliersAndFp16Input) {
  const std::int64_t m = 2, n = 4, k = 3;
  const std::vector<float> w{1, 2, 3, -1, 0.5f, 0, 0, 0, 1, 2, 2, 2};
  const std::vector<float> x{8.0f, 9.0f, -10.0f, 1.0f, 2.0f, 3.0f};  // every column is an outlier column
  const auto layer = so8t::gemm::Int8Linear::from_float(w.data(), n, k);
  std::vector<float> y(static_cast<std::size_t>(m * n)), yh(y.size());
  const auto st = layer.forward(x.data(), m, y.data());
  EXPECT_EQ(st.outlier_columns, 3);
  std::vector<so8t::half_t> xh;
  for (float v : x) xh.push_back(so8t::half_t::from_float(v));
  layer.forward(xh.data(), m, yh.data());
  EXPECT_EQ(y, yh);  // these values are exact in fp16
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double r = 0;
      for (std::int64_t t = 0; t < k; ++t) r += double(x[static_cast<std::size_t>(i * k + t)]) * w[static_cast<std::size_t>(j * k + t)];
      EXPECT_NEAR(y[static_cast<std::size_t>(i * n + j)], r, 0.02 * (1 + std::fabs(r)));
    }
}

TEST(Int8Linear, SkipModulesStayFloat) {
  using so8t::gemm::is_skipped;
  const std::vector<std::string> skip{"lm_head", "model.layers.0"};
  EXPECT_TRUE(is_skipped("lm_head", skip));
  EXPECT_TRUE(is_skipped("model.lm_head", skip));
  EXPECT_TRUE(is_skipped("model.layers.0.mlp.up", skip));
  EXPECT_FALSE(is_skipped("model.layers.01.mlp", skip));
  EXPECT_FALSE(is_skipped("my_lm_head", skip));
  const std::vector<float> w{1.1f, 2.2f, 3.3f, 4.4f};
  so8t::gemm::Int8Config cfg;
  const auto head = so8t::gemm::QuantizedLinear::create("lm_head", w.data(), 2, 2, nullptr, cfg);
  const auto body = so8t::gemm::QuantizedLinear::create("model.layers.3.q", w.data(), 2, 2, nullptr, cfg);
  EXPECT_FALSE(head.is_int8());
  EXPECT_TRUE(body.is_int8());
  const float x[2] = {1.0f, 1.0f};
  float y[2];
  head.forward(x, 1, y);
  EXPECT_FLOAT_EQ(y[0], 3.3f);
  EXPECT_FLOAT_EQ(y[1], 7.7f);
  EXPECT_EQ(head.stored_bytes(), 16u);
  EXPECT_EQ(body.stored_bytes(), 4u + 8u);
}

TEST(Int8Linear, ErrorsNameValues) {
  const std::vector<float> w(8, 1.0f);
  const auto layer = so8t::gemm::Int8Linear::from_float(w.data(), 2, 4);
  std::vector<float> x(4, 1.0f), y(2);
  x[2] = std::nanf("");
  try {
    layer.forward(x.data(), 1, y.data());
    FAIL();
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("X[0][2]"), std::string::npos) << e.what();
  }
  so8t::gemm::Int8Options o;
  o.kernel = static_cast<Int8Kernel>(99);
  EXPECT_THROW(so8t::gemm::resolve_kernel(o.kernel), so8t::InvalidArgument);
}

}  // namespace
