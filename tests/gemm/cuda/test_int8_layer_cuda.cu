// The whole LLM.int8 layer on CUDA (so8t/gemm/llm_int8.cuh) against the CPU Int8Linear, mma vs cuBLASLt, and the
// CUDA offload backend (so8t/offload/executor.cuh) inside the Executor against the CPU-only Executor. GPU tests skip without
// a GPU; the argument-validation tests run everywhere and must throw InvalidArgument before any CUDA call
// (without a GPU, any CUDA call would throw CudaError instead).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

// The CUDA headers first: they put Eigen (included by the host layer headers) in host-only mode.
#include "so8t/gemm/llm_int8.cuh"
#include "so8t/offload/executor.cuh"
#include "so8t/gemm/int8_kernels.hpp"
#include "so8t/gemm/int8_quantize.hpp"
#include "so8t/gemm/llm_int8.hpp"
#include "so8t/offload/executor.hpp"
#include "support/cuda_test.hpp"
#include "offload/layer_stack.hpp"

namespace {

using so8t::cuda::gemm::Backend;
using so8t::cuda::gemm::Int8CudaOptions;
using so8t::cuda::gemm::Int8LinearCuda;
using DevF = so8t::cuda::DeviceBuffer<float>;

std::vector<float> uniform(std::size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// X[m, k] in (-2, 2) with `outlier_cols` columns (every 7th, starting at 3) holding one value of
/// magnitude >= 6 in some row; plus an all-zero row 1 when m > 1.
std::vector<float> activations(int m, int k, int outlier_cols, std::mt19937& rng) {
  auto x = uniform(static_cast<std::size_t>(m) * k, -2.0f, 2.0f, rng);
  for (int c = 0; c < outlier_cols; ++c) {
    const int col = (3 + 7 * c) % k, row = (5 * c) % m;
    x[static_cast<std::size_t>(row) * k + col] = (c % 2 ? -1.0f : 1.0f) * (6.0f + static_cast<float>(c));
  }
  if (m > 1)
    for (int j = 0; j < k; ++j) x[static_cast<std::size_t>(k) + j] = 0.0f;
  return x;
}

std::vector<float> gpu_forward(const Int8LinearCuda& l, const std::vector<float>& x, int m, Backend b, float threshold,
                               so8t::cuda::gemm::Int8Workspace& ws, Backend* ran = nullptr) {
  DevF dx(x), dy(static_cast<std::size_t>(m) * l.out_features());
  Int8CudaOptions o;
  o.backend = b;
  o.threshold = threshold;
  const Backend r = l.forward(dx.get(), m, dy.get(), ws, o);
  if (ran != nullptr) *ran = r;
  SO8T_CUDA_CHECK(cudaDeviceSynchronize());
  return dy.download();
}

std::vector<float> cpu_forward(const so8t::gemm::Int8Linear& l, const std::vector<float>& x, int m, float threshold) {
  std::vector<float> y(static_cast<std::size_t>(m) * l.out_features());
  so8t::gemm::Int8Options o;
  o.threshold = threshold;
  l.forward(x.data(), m, y.data(), o);
  return y;
}

// ------------------------------------------------------------------ no GPU needed

TEST(Int8LayerCudaArgs, ValidatedBeforeAnyCudaCall) {
  Int8LinearCuda empty;
  so8t::cuda::gemm::Int8Workspace ws;
  float dummy[4] = {};
  EXPECT_THROW(empty.forward(dummy, 1, dummy, ws), so8t::InvalidArgument);
  EXPECT_THROW(Int8LinearCuda::from_float(nullptr, 4, 4), so8t::InvalidArgument);
  EXPECT_THROW(Int8LinearCuda::from_float(dummy, 0, 4), so8t::InvalidArgument);
  EXPECT_THROW(Int8LinearCuda::from_float(dummy, 1, 70000), so8t::InvalidArgument);
  std::vector<float> bad{1.0f, NAN, 0.0f, 0.0f};
  EXPECT_THROW(Int8LinearCuda::from_float(bad.data(), 2, 2), so8t::InvalidArgument);  // host quantizer rejects NaN

  so8t::cuda::offload::CudaOffloadBackend be;  // no CUDA call
  so8t::offload::LayerWeights l;
  l.name = "l0";
  l.n = 2;
  l.k = 2;
  l.w = {1, 2, 3};  // wrong size
  EXPECT_THROW(be.load(0, l, true, {}), so8t::InvalidArgument);
  EXPECT_THROW(be.run_streamed(l, dummy, 1, dummy), so8t::InvalidArgument);
  l.w = {1, 2, 3, 4};
  l.bias = {1};  // wrong size
  EXPECT_THROW(be.load(0, l, false, {}), so8t::InvalidArgument);
  l.bias.clear();
  EXPECT_THROW(be.run(0, dummy, 1, dummy), so8t::InvalidArgument);  // not loaded
  EXPECT_THROW(be.run_streamed(l, dummy, -1, dummy), so8t::InvalidArgument);
  EXPECT_THROW(be.run_streamed(l, nullptr, 1, dummy), so8t::InvalidArgument);
  EXPECT_EQ(be.stream(), nullptr);  // nothing was created
}

// ------------------------------------------------------------------ GPU

TEST(Int8LayerCuda, QuantizationMatchesCpuBitForBit) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(11);
  const int m = 19, n = 24, k = 70;
  const auto w = uniform(static_cast<std::size_t>(n) * k, -1.0f, 1.0f, rng);
  const auto x = activations(m, k, 4, rng);
  const auto l = Int8LinearCuda::from_float(w.data(), n, k);
  so8t::cuda::gemm::Int8Workspace ws;
  (void)gpu_forward(l, x, m, Backend::mma, 6.0f, ws);
  const auto ref = so8t::gemm::quantize_activations_int8(x.data(), m, k, k, 6.0f);
  std::vector<std::int8_t> codes(static_cast<std::size_t>(m) * k);
  std::vector<float> rs(static_cast<std::size_t>(m));
  int count = -1;
  SO8T_CUDA_CHECK(cudaMemcpy(codes.data(), ws.codes(), codes.size(), cudaMemcpyDeviceToHost));
  SO8T_CUDA_CHECK(cudaMemcpy(rs.data(), ws.row_scales(), 4 * rs.size(), cudaMemcpyDeviceToHost));
  SO8T_CUDA_CHECK(cudaMemcpy(&count, ws.outlier_count(), 4, cudaMemcpyDeviceToHost));
  ASSERT_EQ(count, static_cast<int>(ref.outlier_cols.size()));
  ASSERT_EQ(count, 4);
  std::vector<int> cols(static_cast<std::size_t>(count));
  SO8T_CUDA_CHECK(cudaMemcpy(cols.data(), ws.outlier_cols(), 4 * cols.size(), cudaMemcpyDeviceToHost));
  for (int c = 0; c < count; ++c) EXPECT_EQ(cols[static_cast<std::size_t>(c)], ref.outlier_cols[static_cast<std::size_t>(c)]);
  EXPECT_EQ(codes, ref.q);
  for (int i = 0; i < m; ++i) EXPECT_EQ(rs[static_cast<std::size_t>(i)], ref.absmax[static_cast<std::size_t>(i)] / 127.0f) << i;
}

TEST(Int8LayerCuda, MatchesCpuLayerExactlyWithoutOutliers) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(12);
  struct Shape { int m, n, k; };
  for (const Shape s : {Shape{37, 72, 96}, Shape{5, 33, 50}, Shape{130, 64, 2048}}) {
    const auto w = uniform(static_cast<std::size_t>(s.n) * s.k, -0.5f, 0.5f, rng);
    const auto bias = uniform(static_cast<std::size_t>(s.n), -1.0f, 1.0f, rng);
    const auto x = activations(s.m, s.k, 0, rng);
    const auto cpu = so8t::gemm::Int8Linear::from_float(w.data(), s.n, s.k, bias.data());
    const auto gpu = Int8LinearCuda::upload(cpu);
    so8t::cuda::gemm::Int8Workspace ws;
    const auto ref = cpu_forward(cpu, x, s.m, 6.0f);
    for (Backend b : {Backend::mma, Backend::cublaslt}) {
      Backend ran = Backend::mma;
      const auto y = gpu_forward(gpu, x, s.m, b, 6.0f, ws, &ran);
      // cuBLASLt only when asked and the shape allows it; it may still decline (no algorithm) and fall back.
      if (b == Backend::mma || s.n % 4 != 0 || s.k % 4 != 0) EXPECT_EQ(ran, Backend::mma);
      if (b == Backend::cublaslt && ran == Backend::mma && s.n % 4 == 0 && s.k % 4 == 0)
        std::printf("note: cuBLASLt had no int8 algorithm for m %d n %d k %d (mma ran)\n", s.m, s.n, s.k);
      ASSERT_EQ(y.size(), ref.size());
      EXPECT_EQ(0, std::memcmp(y.data(), ref.data(), 4 * y.size())) << "m " << s.m << " n " << s.n << " k " << s.k;
      const auto y0 = gpu_forward(gpu, x, s.m, b, 0.0f, ws);  // threshold 0: outlier path off, same result
      EXPECT_EQ(0, std::memcmp(y0.data(), ref.data(), 4 * y0.size()));
    }
  }
}

TEST(Int8LayerCuda, MatchesCpuLayerWithOutliers) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(13);
  const int m = 67, n = 96, k = 256;
  const auto w = uniform(static_cast<std::size_t>(n) * k, -0.5f, 0.5f, rng);
  const auto bias = uniform(static_cast<std::size_t>(n), -1.0f, 1.0f, rng);
  const auto x = activations(m, k, 9, rng);
  const auto cpu = so8t::gemm::Int8Linear::from_float(w.data(), n, k, bias.data());
  const auto gpu = Int8LinearCuda::upload(cpu);
  so8t::cuda::gemm::Int8Workspace ws;
  const auto ref = cpu_forward(cpu, x, m, 6.0f);
  const auto ym = gpu_forward(gpu, x, m, Backend::mma, 6.0f, ws);
  const auto yl = gpu_forward(gpu, x, m, Backend::cublaslt, 6.0f, ws);
  for (std::size_t i = 0; i < ref.size(); ++i) {
    // int32 part and epilogue are exact; only the fp32 order of the 9-term outlier sum differs.
    EXPECT_NEAR(ym[i], ref[i], 1e-5f * (8.0f + std::fabs(ref[i]))) << i;
  }
  EXPECT_EQ(0, std::memcmp(ym.data(), yl.data(), 4 * ym.size()));  // mma and cuBLASLt: same bits
  const auto again = gpu_forward(gpu, x, m, Backend::mma, 6.0f, ws);
  EXPECT_EQ(0, std::memcmp(again.data(), ym.data(), 4 * ym.size()));  // deterministic across calls
}

// When cuBLASLt's heuristic has no algorithm (simulated by the refuse_shape hook for m <= 16), the layer runs
// the mma kernel, says so, and gives the same bytes; larger m still runs cuBLASLt; the plan cache stays bounded.
TEST(Int8LayerCuda, CublasLtWithoutAlgorithmFallsBackToMma) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(15);
  const int n = 96, k = 128;
  const auto w = uniform(static_cast<std::size_t>(n) * k, -0.5f, 0.5f, rng);
  const auto cpu = so8t::gemm::Int8Linear::from_float(w.data(), n, k);
  const auto gpu = Int8LinearCuda::upload(cpu);
  so8t::cuda::gemm::Int8Workspace ws;
  so8t::cuda::gemm::CublasLtOptions lo;
  lo.max_plans = 4;
  lo.refuse_shape = [](int m, int, int) { return m <= 16; };
  ws.cublaslt(lo);
  for (int m : {1, 7, 16, 17, 40, 64, 65, 100, 3}) {
    const auto x = activations(m, k, 0, rng);
    Backend ran = Backend::cublaslt;
    const auto y = gpu_forward(gpu, x, m, Backend::cublaslt, 6.0f, ws, &ran);
    EXPECT_EQ(ran, m <= 16 ? Backend::mma : Backend::cublaslt) << "m " << m;
    const auto ref = cpu_forward(cpu, x, m, 6.0f);
    EXPECT_EQ(0, std::memcmp(y.data(), ref.data(), 4 * y.size())) << "m " << m;
  }
  EXPECT_LE(ws.cublaslt().plans_cached(), 4u);
  EXPECT_GE(ws.cublaslt().plans_evicted(), 5u);
}

TEST(Int8LayerCudaArgs, PointerAlignmentIsTheLargestPowerOfTwoUpTo256) {
  using so8t::cuda::gemm::pointer_alignment;
  alignas(256) static unsigned char buf[600];
  EXPECT_EQ(pointer_alignment(buf), 256u);
  EXPECT_EQ(pointer_alignment(buf + 512), 256u);
  EXPECT_EQ(pointer_alignment(buf + 4), 4u);
  EXPECT_EQ(pointer_alignment(buf + 12), 4u);
  EXPECT_EQ(pointer_alignment(buf + 16), 16u);
  EXPECT_EQ(pointer_alignment(buf + 1), 1u);
  EXPECT_EQ(pointer_alignment(buf + 384), 128u);
}

// A misaligned activation pointer gets a plan made for its alignment (MIN_ALIGNMENT preferences), not the
// 256-byte plan of an aligned call with the same shape.
TEST(Int8LayerCuda, CublasLtPlansFollowPointerAlignment) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(16);
  const int m = 32, n = 64, k = 64;
  std::vector<std::int8_t> xa(static_cast<std::size_t>(m) * k + 4), wq(static_cast<std::size_t>(n) * k);
  for (auto& v : xa) v = static_cast<std::int8_t>(std::uniform_int_distribution<int>(-127, 127)(rng));
  for (auto& v : wq) v = static_cast<std::int8_t>(std::uniform_int_distribution<int>(-127, 127)(rng));
  so8t::cuda::DeviceBuffer<std::int8_t> dx(xa), dw(wq);
  so8t::cuda::DeviceBuffer<std::int32_t> dc(static_cast<std::size_t>(m) * n + 4);
  so8t::cuda::gemm::CublasLtInt8 lt;
  std::vector<std::int32_t> ref(static_cast<std::size_t>(m) * n);
  for (int off : {0, 4}) {
    so8t::gemm::gemm_s8s8_s32_ref(xa.data() + off, k, wq.data(), k, m, n, k, ref.data(), n);
    const bool ran = lt.try_gemm_s32(dx.get() + off, dw.get(), m, n, k, dc.get() + off);
    SO8T_CUDA_CHECK(cudaDeviceSynchronize());
    if (!ran) continue;  // no algorithm at this alignment: the layer would use mma
    const auto c = dc.download();
    EXPECT_EQ(0, std::memcmp(c.data() + off, ref.data(), 4 * ref.size())) << "offset " << off;
  }
  EXPECT_EQ(lt.plans_cached(), 2u);  // one plan per alignment class
}

TEST(Int8LayerCuda, EmptyBatchAndOwnWorkspace) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(14);
  const auto w = uniform(64 * 32, -1.0f, 1.0f, rng);
  auto gpu = Int8LinearCuda::from_float(w.data(), 64, 32);
  EXPECT_EQ(gpu.forward(nullptr, 0, nullptr), Backend::mma);  // m = 0: nothing to do
  const auto x = activations(3, 32, 1, rng);
  DevF dx(x), dy(3 * 64);
  gpu.forward(dx.get(), 3, dy.get());
  SO8T_CUDA_CHECK(cudaDeviceSynchronize());
  const auto ref = cpu_forward(so8t::gemm::Int8Linear::from_float(w.data(), 64, 32), x, 3, 6.0f);
  const auto y = dy.download();
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-5f * (8.0f + std::fabs(ref[i])));
}

std::vector<so8t::offload::LayerWeights> stack(std::mt19937& rng) {
  return offload_test::layer_stack({64, 96, 128, 80, 48}, [&](so8t::offload::LayerWeights& l) {
    l.w = uniform(static_cast<std::size_t>(l.n * l.k), -0.15f, 0.15f, rng);
    l.bias = uniform(static_cast<std::size_t>(l.n), -0.1f, 0.1f, rng);
  });
}

so8t::offload::DeviceMap map_for(const std::vector<so8t::offload::LayerWeights>& ls, so8t::offload::OffloadPolicy pol) {
  // layers 0, 1 int8 on the GPU, layer 2 on the CPU, lm_head (skip list) fp32 on the GPU.
  so8t::offload::DeviceMap map;
  map.gpu_present = true;
  map.policy = pol;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    so8t::offload::Placement p;
    p.name = ls[i].name;
    p.device = i == 2 ? so8t::offload::Device::cpu : so8t::offload::Device::cuda;
    p.quantized = i < 2;
    map.layers.push_back(p);
  }
  return map;
}

TEST(OffloadCuda, ExecutorWithCudaBackendMatchesCpuExecutor) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(21);
  const auto ls = stack(rng);
  const int m = 9;
  const auto x = uniform(static_cast<std::size_t>(m) * 64, -3.0f, 3.0f, rng);
  auto xo = x;
  xo[5] = 7.5f;  // one outlier column in layer 0
  for (auto pol : {so8t::offload::OffloadPolicy::cpu_compute, so8t::offload::OffloadPolicy::stream_to_gpu}) {
    for (Backend b : {Backend::mma, Backend::cublaslt}) {
      so8t::cuda::offload::CudaOffloadBackend be(b);
      so8t::offload::Executor gpu_ex(ls, map_for(ls, pol), &be);
      so8t::offload::Executor cpu_ex(ls, map_for(ls, pol));
      std::vector<float> yg(static_cast<std::size_t>(m) * 48), yc(yg.size());
      const auto sg = gpu_ex.forward(xo.data(), m, yg.data());
      cpu_ex.forward(xo.data(), m, yc.data());
      EXPECT_EQ(sg.gpu_resident, 3u);
      EXPECT_EQ(sg.gpu_streamed, pol == so8t::offload::OffloadPolicy::stream_to_gpu ? 1u : 0u);
      for (std::size_t i = 0; i < yg.size(); ++i) EXPECT_NEAR(yg[i], yc[i], 1e-3f * (1.0f + std::fabs(yc[i]))) << i;
    }
  }
}

TEST(OffloadCuda, StreamedEqualsResidentFp32) {
  SO8T_SKIP_WITHOUT_GPU();
  std::mt19937 rng(22);
  const auto ls = stack(rng);
  const int m = 33;
  const auto x = uniform(static_cast<std::size_t>(m) * ls[1].k, -1.0f, 1.0f, rng);
  so8t::cuda::offload::CudaOffloadBackend be;
  be.load(0, ls[1], false, {});
  std::vector<float> yr(static_cast<std::size_t>(m) * ls[1].n), ys(yr.size()), yc(yr.size());
  be.run(0, x.data(), m, yr.data());
  be.run_streamed(ls[1], x.data(), m, ys.data());
  EXPECT_EQ(0, std::memcmp(yr.data(), ys.data(), 4 * yr.size()));  // same kernel, same weights
  so8t::gemm::FloatLinear::from_float(ls[1].w.data(), ls[1].n, ls[1].k, ls[1].bias.data()).forward(x.data(), m, yc.data());
  for (std::size_t i = 0; i < yr.size(); ++i) EXPECT_NEAR(yr[i], yc[i], 1e-5f * (4.0f + std::fabs(yc[i]))) << i;
  EXPECT_GT(be.resident_bytes(), 0u);
  be.release_streaming_buffer();
  be.run_streamed(ls[1], x.data(), m, ys.data());  // buffers come back on demand
  EXPECT_EQ(0, std::memcmp(yr.data(), ys.data(), 4 * yr.size()));
}

TEST(OffloadCuda, OutOfMemoryNamesTheLayer) {
  SO8T_SKIP_WITHOUT_GPU();
  try {
    so8t::cuda::DeviceBuffer<> big(std::size_t(1) << 50, "layer 'huge' int8 weights (1 x 1)");
    FAIL() << "a 1 PiB allocation succeeded";
  } catch (const so8t::CudaError& e) {
    EXPECT_EQ(e.code(), static_cast<int>(cudaErrorMemoryAllocation));
    EXPECT_NE(std::string(e.what()).find("layer 'huge'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // not sticky
}

}  // namespace
