// GPU against CPU for the batched exp, VJP and composition kernels. The GPU runs the same per-block code
// with fp:: products (never fused), so results must agree bit for bit, not just to a tolerance.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "so8t/so8/block_rotation.cuh"
#include "support/cuda_test.hpp"

namespace {

using so8t::cuda::DeviceBuffer;

template <class S>
std::vector<S> random_params(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  std::vector<S> p(28 * n);
  for (std::size_t b = 0; b < n; ++b) {
    const double scale = std::pow(10.0, -6.0 + 7.5 * double(b % 16) / 15.0);  // 1e-6 .. ~30: every degree, squarings
    for (int k = 0; k < 28; ++k) p[28 * b + k] = S(scale * nd(rng));
  }
  return p;
}

template <class S>
void expect_same_bits(const std::vector<S>& gpu, const std::vector<S>& cpu, const char* what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  std::size_t mismatches = 0, first = 0;
  double worst = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i)
    if (std::memcmp(&gpu[i], &cpu[i], sizeof(S)) != 0) {
      if (mismatches++ == 0) first = i;
      worst = std::max(worst, std::abs(double(gpu[i]) - double(cpu[i])));
    }
  EXPECT_EQ(mismatches, 0u) << what << ": first mismatch at " << first << ", worst |diff| " << worst;
}

template <class S>
void run_exp_and_vjp(std::size_t n) {
  const auto params = random_params<S>(n, 7);
  std::vector<S> cot(64 * n);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd;
  for (auto& v : cot) v = S(nd(rng));

  std::vector<S> R_cpu(64 * n), g_cpu(28 * n);
  so8t::block_exp(params.data(), n, R_cpu.data());
  so8t::block_exp_vjp(params.data(), cot.data(), n, g_cpu.data());

  DeviceBuffer<S> dp(28 * n), dR(64 * n), dG(64 * n), dg(28 * n);
  dp.upload(params);
  dG.upload(cot);
  so8t::cuda::block_exp(dp.get(), n, dR.get());
  so8t::cuda::block_exp_vjp(dp.get(), dG.get(), n, dg.get());
  SO8T_CUDA_CHECK(cudaDeviceSynchronize());
  expect_same_bits(dR.download(), R_cpu, "exp");
  expect_same_bits(dg.download(), g_cpu, "exp_vjp");
}

}  // namespace

TEST(BlockExpCuda, FloatMatchesCpuBitForBit) {
  SO8T_SKIP_WITHOUT_GPU();
  run_exp_and_vjp<float>(4096 + 3);
}

TEST(BlockExpCuda, DoubleMatchesCpuBitForBit) {
  SO8T_SKIP_WITHOUT_GPU();
  run_exp_and_vjp<double>(1024 + 5);
}

TEST(BlockExpCuda, ComposeMatchesCpuBitForBit) {
  SO8T_SKIP_WITHOUT_GPU();
  const std::size_t n = 512;
  const auto p1 = random_params<float>(n, 1), p2 = random_params<float>(n, 2);
  std::vector<float> A(64 * n), B(64 * n), C(64 * n);
  so8t::block_exp(p1.data(), n, A.data());
  so8t::block_exp(p2.data(), n, B.data());
  so8t::block_compose(A.data(), B.data(), n, C.data());
  DeviceBuffer<float> dA(64 * n), dB(64 * n), dC(64 * n);
  dA.upload(A);
  dB.upload(B);
  so8t::cuda::block_compose(dA.get(), dB.get(), n, dC.get());
  SO8T_CUDA_CHECK(cudaDeviceSynchronize());
  expect_same_bits(dC.download(), C, "compose");
}

TEST(BlockExpCuda, NullPointerIsAClearError) {
  // Argument checks happen before any CUDA call, so this runs without a GPU too.
  EXPECT_THROW(so8t::cuda::block_exp<float>(nullptr, 4, nullptr), so8t::InvalidArgument);
  EXPECT_NO_THROW(so8t::cuda::block_exp<float>(nullptr, 0, nullptr));
}
