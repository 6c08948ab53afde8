// This file is compiled with --use_fast_math (tests/quant/CMakeLists.txt): the CUDA quantizer must refuse to
// run (so8t/base/float_mode.cuh) instead of writing bytes that differ from the CPU's for subnormal blocks.
// Skips without a GPU (the PTX-level check, quant.fast_math_flushes_subnormals_in_ptx, runs everywhere).
#include <gtest/gtest.h>

#include <vector>

#include "so8t/quant/quantize.cuh"
#include "so8t/quant/quantize.hpp"
#include "support/cuda_test.hpp"

namespace {

TEST(FastMathGuardCuda, QuantizerRefusesAFastMathBuild) {
  SO8T_SKIP_WITHOUT_GPU();
  std::vector<float> x(32, 1.0e-40f);  // a block of subnormals: -ftz would quantize it differently
  so8t::cuda::DeviceBuffer<float> dx(x);
  so8t::cuda::DeviceBuffer<unsigned char> dq(so8t::quant::row_bytes(so8t::quant::Type::q8_0, 32));
  EXPECT_THROW(so8t::cuda::quant::quantize(so8t::quant::Type::q8_0, dx.get(), dq.get(), 1, 32), so8t::InvalidArgument);
}

}  // namespace
