// CUDA int8 GEMM (mma.sync and cuBLASLt) and Q8_0/Q4_K GEMV against the CPU references. Skips without a GPU.
#define SO8T_QUANT_NO_SIMD 1

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "so8t/gemm/int8_kernels.hpp"
#include "so8t/gemm/int8_kernels.cuh"
#include "so8t/gemm/int8_cublaslt.cuh"
#include "so8t/gemm/qgemm.cuh"
#include "so8t/quant/quantize.hpp"
#include "support/cuda_test.hpp"

namespace {

template <class T>
using Dev = so8t::cuda::DeviceBuffer<T>;

std::vector<std::int8_t> codes(std::size_t n, std::mt19937& rng, int pattern) {
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<std::int8_t> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::int8_t>(pattern == 0 ? d(rng) : pattern == 1 ? 127 : ((i % 3) ? -127 : 127));
  return v;
}

TEST(Int8GemmCuda, MmaInt32EqualsCpuReference) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(1);
  const int shapes[][3] = {{1, 8, 32}, {7, 33, 45}, {64, 64, 64}, {65, 130, 100}, {128, 96, 4096}, {3, 200, 1}};
  for (int pattern = 0; pattern < 3; ++pattern)
    for (const auto& s : shapes) {
      const int m = s[0], n = s[1], k = s[2];
      const auto a = codes(std::size_t(m) * k, rng, pattern), b = codes(std::size_t(n) * k, rng, pattern);
      std::vector<std::int32_t> ref(std::size_t(m) * n);
      so8t::gemm::gemm_s8s8_s32_ref(a.data(), k, b.data(), k, m, n, k, ref.data(), n);
      Dev<std::int8_t> da(a), db(b);
      Dev<std::int32_t> dc(ref.size());
      so8t::cuda::gemm::Epilogue ep;
      ep.c = dc.get();
      so8t::cuda::gemm::gemm_s8_mma(da.get(), db.get(), m, n, k, ep);
      SO8T_CUDA_CHECK(cudaDeviceSynchronize());
      EXPECT_EQ(dc.download(), ref) << "m " << m << " n " << n << " k " << k << " pattern " << pattern;
      if (so8t::cuda::gemm::CublasLtInt8::supports(m, n, k)) {
        so8t::cuda::gemm::CublasLtInt8 lt;
        Dev<std::int32_t> dc2(ref.size());
        lt.gemm_s32(da.get(), db.get(), m, n, k, dc2.get());
        SO8T_CUDA_CHECK(cudaDeviceSynchronize());
        EXPECT_EQ(dc2.download(), ref) << "cublasLt m " << m << " n " << n << " k " << k;
      }
    }
}

TEST(Int8GemmCuda, QuantizeAndFusedEpilogueMatchCpuDefinition) {
  SO8T_SKIP_WITHOUT_GPU();
  const int m = 5, n = 24, k = 64;
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(std::size_t(m) * k);
  for (auto& v : x) v = nd(rng);
  x[3] = 9.0f;  // outlier column 3
  for (int j = 0; j < k; ++j) x[std::size_t(2) * k + j] = 0.0f;  // all-zero row
  Dev<float> dx(x);
  Dev<std::int8_t> dq(std::size_t(m) * k);
  Dev<float> drs(m);
  Dev<int> dflags(k);
  so8t::cuda::gemm::quantize_activations(dx.get(), m, k, 6.0f, dflags.get(), dq.get(), drs.get());
  const auto q = dq.download();
  const auto rs = drs.download();
  const auto flags = dflags.download();
  EXPECT_EQ(flags[3], 1);
  for (int i = 0; i < m; ++i) {
    EXPECT_EQ(q[std::size_t(i) * k + 3], 0);
    if (i == 2) EXPECT_EQ(rs[2], 0.0f);
  }
  const auto w = codes(std::size_t(n) * k, rng, 0);
  std::vector<float> cs(n, 0.01f), bias(n, 0.5f);
  std::vector<std::int32_t> acc(std::size_t(m) * n);
  so8t::gemm::gemm_s8s8_s32_ref(q.data(), k, w.data(), k, m, n, k, acc.data(), n);
  Dev<std::int8_t> dw(w);
  Dev<float> dcs(cs), db(bias), dy(acc.size());
  so8t::cuda::gemm::Epilogue ep;
  ep.y = dy.get();
  ep.row_scale = drs.get();
  ep.col_scale = dcs.get();
  ep.bias = db.get();
  so8t::cuda::gemm::gemm_s8_mma(dq.get(), dw.get(), m, n, k, ep);
  const auto y = dy.download();
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const float want = so8t::fp::add(so8t::fp::mul(float(acc[std::size_t(i) * n + j]) * rs[i], cs[j]), bias[j]);
      EXPECT_EQ(y[std::size_t(i) * n + j], want) << i << "," << j;
    }
}

// Every m from 1 to 16 (the kernels have row capacities 1, 2, 4, 8, 16): all m rows against a double
// reference, and guard words after x and y untouched (the dispatch once ran the capacity's rows, writing
// (capacity - m) * n floats past y).
TEST(QgemvCuda, EveryRowCountMatchesDoubleAndStaysInBounds) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int n = 37, k = 512;
  constexpr std::size_t kGuard = 4096;  // floats after each buffer
  const std::uint32_t kPoison = 0x7fc0beefu;
  for (auto t : {so8t::quant::Type::q8_0, so8t::quant::Type::q4_k}) {
    std::vector<float> w(std::size_t(n) * k);
    for (auto& v : w) v = nd(rng);
    std::vector<unsigned char> qw(so8t::quant::row_bytes(t, k) * n);
    so8t::quant::quantize(t, w.data(), qw.data(), n, k);
    std::vector<float> wd(w.size());
    so8t::quant::dequantize(t, qw.data(), wd.data(), n, k);
    Dev<unsigned char> dw(qw);
    for (int m = 1; m <= so8t::cuda::gemm::kQgemvMaxRows; ++m) {
      const std::size_t xs = std::size_t(m) * k, ys = std::size_t(m) * n;
      std::vector<std::uint32_t> xg(xs + kGuard, kPoison), yg(ys + kGuard, kPoison);
      std::vector<float> x(xs);
      for (auto& v : x) v = nd(rng);
      std::memcpy(xg.data(), x.data(), 4 * xs);
      Dev<std::uint32_t> dx(xg), dy(yg);
      so8t::cuda::gemm::qgemv(t, dw.get(), n, k, reinterpret_cast<const float*>(dx.get()), m,
                              reinterpret_cast<float*>(dy.get()));
      SO8T_CUDA_CHECK(cudaDeviceSynchronize());
      const auto yo = dy.download(), xo = dx.download();
      for (std::size_t g = 0; g < kGuard; ++g) {
        ASSERT_EQ(yo[ys + g], kPoison) << so8t::quant::type_name(t) << " m " << m << ": wrote y past row m, word " << g;
        ASSERT_EQ(xo[xs + g], kPoison) << so8t::quant::type_name(t) << " m " << m << ": wrote x past row m";
      }
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double r = 0, mag = 0;
          for (int u = 0; u < k; ++u) {
            const double p = double(x[std::size_t(i) * k + u]) * wd[std::size_t(j) * k + u];
            r += p;
            mag += std::fabs(p);
          }
          float yv;
          std::memcpy(&yv, &yo[std::size_t(i) * n + j], 4);
          EXPECT_NEAR(yv, r, 1e-5 * mag + 1e-6) << so8t::quant::type_name(t) << " m " << m << " row " << i;
        }
    }
  }
}

TEST(QgemvCuda, RefusesBadArguments) {
  using so8t::cuda::gemm::qgemv;
  float dummy = 0;
  unsigned char wd[34] = {};
  EXPECT_THROW(qgemv(so8t::quant::Type::q8_0, wd, 1, 32, &dummy, 0, &dummy), so8t::InvalidArgument);
  EXPECT_THROW(qgemv(so8t::quant::Type::q8_0, wd, 1, 32, &dummy, 17, &dummy), so8t::InvalidArgument);
  EXPECT_THROW(qgemv(so8t::quant::Type::q5_k, wd, 1, 256, &dummy, 1, &dummy), so8t::InvalidArgument);
  EXPECT_THROW(qgemv(so8t::quant::Type::q8_0, wd, 1, 32, nullptr, 1, &dummy), so8t::InvalidArgument);
  EXPECT_THROW(qgemv(so8t::quant::Type::q8_0, wd, 1, 31, &dummy, 1, &dummy), so8t::InvalidArgument);  // k not a block multiple
}

static_assert(so8t::cuda::gemm::qgemv_capacity(3) == 4 && so8t::cuda::gemm::qgemv_capacity(9) == 16 &&
                  so8t::cuda::gemm::qgemv_capacity(1) == 1 && so8t::cuda::gemm::qgemv_capacity(8) == 8,
              "row capacities");

}  // namespace
