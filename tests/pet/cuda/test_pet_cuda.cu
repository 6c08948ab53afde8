// GPU PET vs the CPU path: value to fp64 rounding (different summation order), gradient bitwise. Skipped
// without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "so8t/pet/pet.cuh"
#include "so8t/pet/pet.hpp"
#include "support/cuda_test.hpp"

namespace {

using so8t::cuda::DeviceBuffer;

template <class T>
void run_case(std::size_t B, std::size_t Tn, std::size_t D, bool masked) {
  std::mt19937_64 rng(51 + B + Tn + D);
  std::normal_distribution<double> n01;
  std::vector<T> x(B * Tn * D);
  for (auto& v : x) v = T(n01(rng));
  std::vector<std::uint8_t> valid(B * Tn, 1);
  std::vector<std::int32_t> seg(B * Tn, 0);
  for (std::size_t i = 0; i < valid.size(); ++i) {
    valid[i] = (i % 13 == 12) ? 0 : 1;
    seg[i] = std::int32_t(i / 29);
  }
  DeviceBuffer<T> dx(x);
  DeviceBuffer<std::uint8_t> dv(valid);
  DeviceBuffer<std::int32_t> ds(seg);
  so8t::PetMask hm, dm;
  if (masked) {
    hm = so8t::PetMask{valid.data(), seg.data()};
    dm = so8t::PetMask{dv.get(), ds.get()};
  }
  std::vector<double> g(x.size(), 0.5);
  const so8t::PetResult cpu = so8t::pet_loss_and_grad(x.data(), B, Tn, D, hm, g.data(), 0.3, so8t::PetGradMode::accumulate);
  DeviceBuffer<double> dg{std::vector<double>(x.size(), 0.5)};
  const so8t::PetResult gpu =
      so8t::cuda::pet::pet_loss_and_grad(dx.get(), B, Tn, D, dm, dg.get(), 0.3, so8t::PetGradMode::accumulate);
  EXPECT_EQ(cpu.valid_triples, gpu.valid_triples);
  EXPECT_EQ(cpu.no_valid_triples, gpu.no_valid_triples);
  EXPECT_NEAR(cpu.value, gpu.value, 1e-13 * std::max(1.0, cpu.value));
  const std::vector<double> gg = dg.download();
  EXPECT_EQ(std::memcmp(gg.data(), g.data(), g.size() * sizeof(double)), 0);
  const so8t::PetResult v = so8t::cuda::pet::pet_loss(dx.get(), B, Tn, D, dm);
  EXPECT_EQ(v.value, gpu.value);
}

TEST(PetCuda, ValueAndGradientMatchCpu) {
  SO8T_SKIP_WITHOUT_GPU();
  run_case<float>(3, 50, 64, false);
  run_case<float>(3, 50, 64, true);
  run_case<double>(2, 300, 40, true);
  run_case<float>(1, 2, 16, false);  // no valid triple
}

}  // namespace
