// GPU quantize / dequantize write exactly the CPU reference's bytes and floats (the shared ggml vectors
// and random rows). Skips without a GPU.
// The CPU side uses the scalar references (xsimd is not compiled by nvcc here).
#define SO8T_QUANT_NO_SIMD 1

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "quant_test_data.hpp"
#include "so8t/quant/quantize.cuh"
#include "so8t/quant/quantize.hpp"
#include "../../support/cuda_test.hpp"

namespace {

using so8t::quant::Type;
using namespace so8t_test;

using so8t::cuda::DeviceBuffer;

class QuantCuda : public ::testing::TestWithParam<VectorType> {};

TEST_P(QuantCuda, GpuBytesEqualCpuAndGgml) {
  SO8T_SKIP_WITHOUT_GPU();
  const auto vt = GetParam();
  auto input = read_floats(ggml_vector_path(std::string(vt.stem) + ".input.f32"));
  const auto want = read_bytes(ggml_vector_path(std::string(vt.stem) + ".quant.bin"));
  // Append random rows of several scales to the 64 vector rows.
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int extra_rows = 192;
  for (int r = 0; r < extra_rows; ++r) {
    const float s = std::pow(10.0f, float(r % 9) - 4.0f);
    for (int c = 0; c < kVectorCols; ++c) input.push_back(nd(rng) * s);
  }
  const int nrows = kVectorRows + extra_rows;
  const std::size_t rb = so8t::quant::row_bytes(vt.type, kVectorCols);
  std::vector<std::uint8_t> cpu(rb * nrows), gpu(rb * nrows);
  so8t::quant::quantize(vt.type, input.data(), cpu.data(), nrows, kVectorCols);
  ASSERT_EQ(std::memcmp(cpu.data(), want.data(), want.size()), 0) << "CPU differs from ggml";

  DeviceBuffer<float> d_in(input.size()), d_out(input.size());
  DeviceBuffer<std::uint8_t> d_q(gpu.size());
  SO8T_CUDA_CHECK(cudaMemcpy(d_in.get(), input.data(), input.size() * 4, cudaMemcpyHostToDevice));
  so8t::cuda::quant::quantize(vt.type, d_in.get(), d_q.get(), nrows, kVectorCols);
  SO8T_CUDA_CHECK(cudaMemcpy(gpu.data(), d_q.get(), gpu.size(), cudaMemcpyDeviceToHost));
  int bad = 0;
  for (int r = 0; r < nrows; ++r) bad += std::memcmp(gpu.data() + r * rb, cpu.data() + r * rb, rb) != 0;
  EXPECT_EQ(bad, 0) << vt.stem << ": GPU rows differing from CPU";

  std::vector<float> cpu_back(input.size()), gpu_back(input.size());
  so8t::quant::dequantize(vt.type, cpu.data(), cpu_back.data(), nrows, kVectorCols);
  so8t::cuda::quant::dequantize(vt.type, d_q.get(), d_out.get(), nrows, kVectorCols);
  SO8T_CUDA_CHECK(cudaMemcpy(gpu_back.data(), d_out.get(), gpu_back.size() * 4, cudaMemcpyDeviceToHost));
  EXPECT_EQ(std::memcmp(cpu_back.data(), gpu_back.data(), gpu_back.size() * 4), 0) << vt.stem << ": dequantized floats";
}

INSTANTIATE_TEST_SUITE_P(Ggml, QuantCuda, ::testing::ValuesIn(kVectorTypes),
                         [](const ::testing::TestParamInfo<VectorType>& i) { return std::string(i.param.stem); });

TEST(QuantCudaErrors, BadArgumentsThrowBeforeAnyLaunch) {
  EXPECT_THROW(so8t::cuda::quant::quantize(Type::q4_k, nullptr, nullptr, 1, 100), std::invalid_argument);
  EXPECT_THROW(so8t::cuda::quant::quantize(Type::f16, nullptr, nullptr, 1, 256), std::invalid_argument);
  EXPECT_THROW(so8t::cuda::quant::dequantize(Type::q8_0, nullptr, nullptr, -1, 32), std::invalid_argument);
}

}  // namespace
