// GPU fold W [out, D] <- W blockdiag(R) (float) against cuBLAS SGEMM with the materialised D x D block-diagonal
// matrix and against a device-to-device copy of W, all timed with CUDA events in the same run (best of kReps,
// after a warm-up). D = 4096, out in {4096, 14336}. Goals: >= 20x faster than the GEMM, >= 70% of
// the copy bandwidth. Prints one line per shape; exit code 0 unless a CUDA call fails.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

#include "so8t/base/cublas_check.cuh"
#include "so8t/base/cuda_check.cuh"
#include "so8t/bake/fold.cuh"
#include "support/cuda_timing.cuh"

namespace {

constexpr int kReps = 10;

template <class F>
float best_ms(F&& f) {
  so8t_bench::CudaTiming t;
  t.windows = kReps;
  return float(so8t_bench::cuda_best_ms(f, t));
}

void run(std::size_t out, std::size_t D) {
  const std::size_t n = D / 8;
  std::vector<float> hW(out * D), hR(64 * n, 0.0f), hB(D * D, 0.0f);
  for (std::size_t i = 0; i < hW.size(); ++i) hW[i] = float((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
  for (std::size_t b = 0; b < n; ++b)
    for (int p = 0; p < 4; ++p) {
      hR[64 * b + 8 * (2 * p) + 2 * p] = 0.8f;
      hR[64 * b + 8 * (2 * p) + 2 * p + 1] = -0.6f;
      hR[64 * b + 8 * (2 * p + 1) + 2 * p] = 0.6f;
      hR[64 * b + 8 * (2 * p + 1) + 2 * p + 1] = 0.8f;
    }
  for (std::size_t b = 0; b < n; ++b)
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) hB[(8 * b + i) * D + 8 * b + j] = hR[64 * b + 8 * i + j];
  float *W, *W2, *R, *B, *C;
  SO8T_CUDA_CHECK(cudaMalloc(&W, out * D * sizeof(float)));
  SO8T_CUDA_CHECK(cudaMalloc(&W2, out * D * sizeof(float)));
  SO8T_CUDA_CHECK(cudaMalloc(&C, out * D * sizeof(float)));
  SO8T_CUDA_CHECK(cudaMalloc(&R, 64 * n * sizeof(float)));
  SO8T_CUDA_CHECK(cudaMalloc(&B, D * D * sizeof(float)));
  SO8T_CUDA_CHECK(cudaMemcpy(W, hW.data(), out * D * sizeof(float), cudaMemcpyHostToDevice));
  SO8T_CUDA_CHECK(cudaMemcpy(R, hR.data(), 64 * n * sizeof(float), cudaMemcpyHostToDevice));
  SO8T_CUDA_CHECK(cudaMemcpy(B, hB.data(), D * D * sizeof(float), cudaMemcpyHostToDevice));
  cublasHandle_t h;
  SO8T_CUBLAS_CHECK(cublasCreate(&h));
  SO8T_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));  // true fp32, no TF32
  const auto view_in = so8t::matrix_view<const float>(W, out, D);
  const auto view_out = so8t::matrix_view(W2, out, D);
  const auto rot = so8t::block_rotations<float>(R, n);
  const float fold_ms = best_ms([&] { so8t::cuda::bake::fold_right(view_in, view_out, rot); });
  const float copy_ms = best_ms([&] {
    SO8T_CUDA_CHECK(cudaMemcpyAsync(W2, W, out * D * sizeof(float), cudaMemcpyDeviceToDevice));
  });
  const float one = 1.0f, zero = 0.0f;
  // Row-major C[out, D] = W[out, D] B[D, D] is column-major C^T = B^T W^T: sgemm(N, N, D, out, D, B, W).
  const float gemm_ms = best_ms([&] {
    SO8T_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, int(D), int(out), int(D), &one, B, int(D), W, int(D),
                                   &zero, C, int(D)));
  });
  const double bytes = 2.0 * double(out) * double(D) * sizeof(float);
  std::printf("fold_right float out=%zu D=%zu: fold %.3f ms (%.0f GB/s), d2d copy %.3f ms (%.0f GB/s), "
              "cuBLAS SGEMM %.3f ms; fold/copy bandwidth %.2f, GEMM/fold time %.1fx\n",
              out, D, fold_ms, bytes / fold_ms * 1e-6, copy_ms, bytes / copy_ms * 1e-6, gemm_ms, copy_ms / fold_ms,
              gemm_ms / fold_ms);
  char what[64];
  std::snprintf(what, sizeof what, "fold_right_f32_out%zu_D%zu", out, D);
  so8t_bench::result("bench_fold_cuda", what, copy_ms / fold_ms, "d2d_copy_bandwidth", fold_ms, copy_ms);
  so8t_bench::result("bench_fold_cuda", what, gemm_ms / fold_ms, "cublas_sgemm_dense_blockdiag", fold_ms, gemm_ms);
  SO8T_CUBLAS_CHECK(cublasDestroy(h));
  SO8T_CUDA_CHECK(cudaFree(W));
  SO8T_CUDA_CHECK(cudaFree(W2));
  SO8T_CUDA_CHECK(cudaFree(C));
  SO8T_CUDA_CHECK(cudaFree(R));
  SO8T_CUDA_CHECK(cudaFree(B));
}

}  // namespace

int main() {
  if (so8t::cuda::device_count() == 0) {
    std::printf("no CUDA device: nothing to benchmark\n");
    return so8t_bench::no_device_exit_code();
  }
  run(4096, 4096);
  if (!so8t_bench::quick()) run(14336, 4096);
  return 0;
}
