// CUDA int8 GEMM benchmark: so8t mma.sync kernel (fused epilogue) and so8t's cuBLASLt int8 backend against
// cuBLAS fp16 GEMM, plus the Q8_0 / Q4_K GEMV against cuBLAS fp16 at small M, all in the same run.
// M in {1, 16, 256, 1024, 4096}, (N, K) in {(4096, 4096), (14336, 4096)}. Median of 7 windows timed
// with CUDA events. Prints a ratio table and writes JSON (argv[1], default bench_gemm_cuda.json).
// Whole LLM.int8 layer (so8t/gemm/llm_int8.cuh: quantize X with outlier columns, outlier product, int8 matmul, fused
// epilogue) with each int8 backend against cuBLAS fp16 GEMM at M in {256, 1024, 4096}, same (N, K); X has
// 4 outlier columns (|x| = 8 in one row each), as LLM activations typically do.
// Without a GPU it says so and exits 0 (2 when SO8T_BENCH_REQUIRE_GPU is set); SO8T_BENCH_QUICK=1 runs fewer
// shapes (tests/cuda/device_check.sh). Every ratio is also printed as a RESULT line (support/cuda_timing.cuh).
// llm_int8.cuh first: it keeps Eigen (pulled in by the host layer headers) in host-only mode.
#include "so8t/gemm/llm_int8.cuh"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "so8t/base/cublas_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/gemm/int8_kernels.cuh"
#include "so8t/gemm/int8_cublaslt.cuh"
#include "so8t/gemm/qgemm.cuh"
#include "so8t/quant/quantize.cuh"
#include "so8t/quant/type.hpp"
#include "support/cuda_timing.cuh"

namespace {

template <class F>
double median_ms(F&& f) {
  so8t_bench::CudaTiming t;
  t.windows = 7;
  t.reps = 5;
  return so8t_bench::cuda_median_ms(f, t);
}

/// Random device data: never time on zeros (METHOD.md: they hide unwritten outputs and can run faster).
void fill_i8(std::int8_t* d, std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> u(-127, 127);
  std::vector<std::int8_t> h(n);
  for (auto& v : h) v = static_cast<std::int8_t>(u(rng));
  so8t::cuda::copy_to_device(d, h.data(), n);
}
void fill_f32(float* d, std::size_t n, float scale, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> h(n);
  for (auto& v : h) v = g(rng);
  so8t::cuda::copy_to_device(d, h.data(), 4 * n);
}
void fill_f16(__half* d, std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 0.5f);
  std::vector<__half> h(n);
  for (auto& v : h) v = __float2half(g(rng));
  so8t::cuda::copy_to_device(d, h.data(), 2 * n);
}

}  // namespace

int main(int argc, char** argv) {
  if (so8t::cuda::device_count() == 0) {
    std::printf("bench_gemm_cuda: no CUDA device; nothing to measure\n");
    return so8t_bench::no_device_exit_code();
  }
  const std::string out = argc > 1 ? argv[1] : "bench_gemm_cuda.json";
  cudaDeviceProp prop{};
  SO8T_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  cublasHandle_t blas;
  SO8T_CUBLAS_CHECK(cublasCreate(&blas));
  so8t::cuda::gemm::CublasLtInt8 lt;
  const bool quick = so8t_bench::quick();
  const std::vector<int> ms_list = quick ? std::vector<int>{1, 4, 16, 256, 4096} : std::vector<int>{1, 4, 16, 256, 1024, 4096};
  const std::vector<std::array<int, 2>> nk = quick ? std::vector<std::array<int, 2>>{{4096, 4096}}
                                                   : std::vector<std::array<int, 2>>{{4096, 4096}, {14336, 4096}};
  std::mt19937 rng(7);
  std::string json = "{\n  \"device\": \"" + std::string(prop.name) + "\",\n  \"runs\": [\n";
  std::printf("device: %s\n%6s %6s %6s %10s %10s %10s %10s %10s %10s\n", prop.name, "M", "N", "K", "fp16 ms",
              "lt i8 ms", "mma ms", "lt/mma", "fp16/mma", "fp16/q4k");
  bool first = true;
  for (const auto& s : nk) {
    const int n = s[0], k = s[1], mmax = 4096;
    std::int8_t *x8, *w8;
    std::int32_t* c32;
    float *y, *rs, *cs;
    __half *xh, *wh, *yh;
    void *q4, *q8;
    float *xf, *wf;
    const std::size_t q4_bytes = so8t::quant::row_bytes(so8t::quant::Type::q4_k, k) * n;
    const std::size_t q8_bytes = so8t::quant::row_bytes(so8t::quant::Type::q8_0, k) * n;
    SO8T_CUDA_CHECK(cudaMalloc(&x8, std::size_t(mmax) * k));
    SO8T_CUDA_CHECK(cudaMalloc(&w8, std::size_t(n) * k));
    SO8T_CUDA_CHECK(cudaMalloc(&c32, std::size_t(mmax) * n * 4));
    SO8T_CUDA_CHECK(cudaMalloc(&y, std::size_t(mmax) * n * 4));
    SO8T_CUDA_CHECK(cudaMalloc(&rs, std::size_t(mmax) * 4));
    SO8T_CUDA_CHECK(cudaMalloc(&cs, std::size_t(n) * 4));
    SO8T_CUDA_CHECK(cudaMalloc(&xh, std::size_t(mmax) * k * 2));
    SO8T_CUDA_CHECK(cudaMalloc(&wh, std::size_t(n) * k * 2));
    SO8T_CUDA_CHECK(cudaMalloc(&yh, std::size_t(mmax) * n * 2));
    SO8T_CUDA_CHECK(cudaMalloc(&q4, q4_bytes));
    SO8T_CUDA_CHECK(cudaMalloc(&q8, q8_bytes));
    SO8T_CUDA_CHECK(cudaMalloc(&xf, std::size_t(16) * k * 4));
    SO8T_CUDA_CHECK(cudaMalloc(&wf, std::size_t(n) * k * 4));
    fill_i8(x8, std::size_t(mmax) * k, rng);
    fill_i8(w8, std::size_t(n) * k, rng);
    fill_f32(rs, std::size_t(mmax), 0.01f, rng);
    fill_f32(cs, std::size_t(n), 0.01f, rng);
    fill_f16(xh, std::size_t(mmax) * k, rng);
    fill_f16(wh, std::size_t(n) * k, rng);
    fill_f32(xf, std::size_t(16) * k, 1.0f, rng);
    fill_f32(wf, std::size_t(n) * k, 0.05f, rng);  // quantized on the device: real Q4_K / Q8_0 blocks
    so8t::cuda::quant::quantize(so8t::quant::Type::q4_k, wf, q4, n, k);
    so8t::cuda::quant::quantize(so8t::quant::Type::q8_0, wf, q8, n, k);
    SO8T_CUDA_CHECK(cudaDeviceSynchronize());
    SO8T_CUDA_CHECK(cudaFree(wf));
    for (int m : ms_list) {
      const float one = 1.0f, zero = 0.0f;
      const double t16 = median_ms([&] {
        SO8T_CUBLAS_CHECK(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, wh, CUDA_R_16F, k, xh, CUDA_R_16F,
                                       k, &zero, yh, CUDA_R_16F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      });
      so8t::cuda::gemm::Epilogue ep;
      ep.y = y;
      ep.row_scale = rs;
      ep.col_scale = cs;
      const double tmma = median_ms([&] { so8t::cuda::gemm::gemm_s8_mma(x8, w8, m, n, k, ep); });
      double tlt = 0;
      if (lt.try_gemm(x8, w8, m, n, k, c32, ep)) {
        tlt = median_ms([&] { (void)lt.try_gemm(x8, w8, m, n, k, c32, ep); });
      } else {
        std::printf("cuBLASLt has no int8 algorithm at M=%d (the layer falls back to mma)\n", m);
      }
      double tq4 = 0, tq8 = 0;
      if (m <= 16) {
        tq4 = median_ms([&] { so8t::cuda::gemm::qgemv(so8t::quant::Type::q4_k, q4, n, k, xf, m, y); });
        tq8 = median_ms([&] { so8t::cuda::gemm::qgemv(so8t::quant::Type::q8_0, q8, n, k, xf, m, y); });
      }
      std::printf("%6d %6d %6d %10.4f %10.4f %10.4f %10.2f %10.2f %10.2f\n", m, n, k, t16, tlt, tmma,
                  tlt > 0 ? tlt / tmma : 0.0, t16 / tmma, tq4 > 0 ? t16 / tq4 : 0.0);
      char what[80];
      std::snprintf(what, sizeof what, "int8_mma_M%d_N%d_K%d", m, n, k);
      so8t_bench::result("bench_gemm_cuda", what, t16 / tmma, "cublas_fp16_gemm", tmma, t16);
      if (tlt > 0) {
        so8t_bench::result("bench_gemm_cuda", what, tlt / tmma, "cublaslt_int8", tmma, tlt);
        std::snprintf(what, sizeof what, "int8_cublaslt_M%d_N%d_K%d", m, n, k);
        so8t_bench::result("bench_gemm_cuda", what, t16 / tlt, "cublas_fp16_gemm", tlt, t16);
      }
      if (tq4 > 0) {
        std::snprintf(what, sizeof what, "q4_k_gemv_M%d_N%d_K%d", m, n, k);
        so8t_bench::result("bench_gemm_cuda", what, t16 / tq4, "cublas_fp16_gemm", tq4, t16);
        std::snprintf(what, sizeof what, "q8_0_gemv_M%d_N%d_K%d", m, n, k);
        so8t_bench::result("bench_gemm_cuda", what, t16 / tq8, "cublas_fp16_gemm", tq8, t16);
      }
      char buf[400];
      std::snprintf(buf, sizeof buf,
                    "%s    {\"M\": %d, \"N\": %d, \"K\": %d, \"cublas_fp16_ms\": %.5f, \"cublaslt_int8_ms\": %.5f, "
                    "\"so8t_mma_int8_ms\": %.5f, \"q4k_gemv_ms\": %.5f, \"q8_0_gemv_ms\": %.5f}",
                    first ? "" : ",\n", m, n, k, t16, tlt, tmma, tq4, tq8);
      json += buf;
      first = false;
    }
    for (void* p : {static_cast<void*>(x8), static_cast<void*>(w8), static_cast<void*>(c32), static_cast<void*>(y),
                    static_cast<void*>(rs), static_cast<void*>(cs), static_cast<void*>(xh), static_cast<void*>(wh),
                    static_cast<void*>(yh), q4, q8, static_cast<void*>(xf)})
      cudaFree(p);
  }
  json += "\n  ],\n  \"layer_runs\": [\n";

  // ---- whole LLM.int8 layer vs cuBLAS fp16 GEMM
  std::printf("\nwhole LLM.int8 layer (quantize X + outliers + int8 matmul + epilogue) vs cuBLAS fp16 GEMM\n");
  std::printf("%6s %6s %6s %10s %12s %12s %12s %12s\n", "M", "N", "K", "fp16 ms", "layer mma", "layer lt",
              "fp16/mma", "fp16/lt");
  first = true;
  for (const auto& s : nk) {
    const int n = s[0], k = s[1], mmax = 4096;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> hw(static_cast<std::size_t>(n) * k), hx(static_cast<std::size_t>(mmax) * k);
    for (auto& v : hw) v = 0.05f * d(rng);
    for (auto& v : hx) v = 2.0f * d(rng);
    for (int c = 0; c < 4; ++c) hx[static_cast<std::size_t>(37 * c) * k + 101 + 997 * c] = 8.0f;
    const auto layer = so8t::cuda::gemm::Int8LinearCuda::from_float(hw.data(), n, k, nullptr, "bench");
    hw.clear();
    hw.shrink_to_fit();
    so8t::cuda::DeviceBuffer<> dx(4 * hx.size(), "bench X"), dy(4 * std::size_t(mmax) * n, "bench Y");
    so8t::cuda::copy_to_device(dx.as<void>(), hx.data(), 4 * hx.size());
    __half *xh, *wh, *yh;
    SO8T_CUDA_CHECK(cudaMalloc(&xh, std::size_t(mmax) * k * 2));
    SO8T_CUDA_CHECK(cudaMalloc(&wh, std::size_t(n) * k * 2));
    SO8T_CUDA_CHECK(cudaMalloc(&yh, std::size_t(mmax) * n * 2));
    fill_f16(xh, std::size_t(mmax) * k, rng);
    fill_f16(wh, std::size_t(n) * k, rng);
    so8t::cuda::gemm::Int8Workspace ws;
    for (int m : quick ? std::vector<int>{256, 4096} : std::vector<int>{256, 1024, 4096}) {
      const float one = 1.0f, zero = 0.0f;
      const double t16 = median_ms([&] {
        SO8T_CUBLAS_CHECK(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, wh, CUDA_R_16F, k, xh, CUDA_R_16F,
                                       k, &zero, yh, CUDA_R_16F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      });
      so8t::cuda::gemm::Int8CudaOptions o;
      o.backend = so8t::cuda::gemm::Backend::mma;
      const double tmma = median_ms([&] { layer.forward(dx.as<float>(), m, dy.as<float>(), ws, o); });
      double tlt = 0;
      o.backend = so8t::cuda::gemm::Backend::cublaslt;
      if (layer.forward(dx.as<float>(), m, dy.as<float>(), ws, o) == so8t::cuda::gemm::Backend::cublaslt)
        tlt = median_ms([&] { layer.forward(dx.as<float>(), m, dy.as<float>(), ws, o); });
      else
        std::printf("cuBLASLt had no int8 algorithm for the layer at M=%d (mma ran)\n", m);
      std::printf("%6d %6d %6d %10.4f %12.4f %12.4f %12.2f %12.2f\n", m, n, k, t16, tmma, tlt, t16 / tmma,
                  tlt > 0 ? t16 / tlt : 0.0);
      char what[80];
      std::snprintf(what, sizeof what, "llm_int8_layer_mma_M%d_N%d_K%d", m, n, k);
      so8t_bench::result("bench_gemm_cuda", what, t16 / tmma, "cublas_fp16_gemm", tmma, t16);
      if (tlt > 0) {
        std::snprintf(what, sizeof what, "llm_int8_layer_cublaslt_M%d_N%d_K%d", m, n, k);
        so8t_bench::result("bench_gemm_cuda", what, t16 / tlt, "cublas_fp16_gemm", tlt, t16);
      }
      char buf[300];
      std::snprintf(buf, sizeof buf,
                    "%s    {\"M\": %d, \"N\": %d, \"K\": %d, \"cublas_fp16_ms\": %.5f, \"layer_mma_ms\": %.5f, "
                    "\"layer_cublaslt_ms\": %.5f}",
                    first ? "" : ",\n", m, n, k, t16, tmma, tlt);
      json += buf;
      first = false;
    }
    for (void* p : {static_cast<void*>(xh), static_cast<void*>(wh), static_cast<void*>(yh)}) cudaFree(p);
  }
  json += "\n  ]\n}\n";
  std::ofstream(out) << json;
  cublasDestroy(blas);
  std::printf("written %s\n", out.c_str());
  return 0;
}
