// so8t/gemm/int8_cublaslt.cuh (namespace so8t::cuda::gemm): the cuBLASLt int8 backend of the LLM.int8 GEMM,
// selectable at run time against the mma.sync kernel (int8_kernels.cuh).
//
// cuBLASLt IMMA on Hopper accepts only the "TN" regular-order case (docs/int8-gemm-and-offload.md
// §2.1). With torch's layout (X row-major [M,K], W row-major [N,K], Y row-major [M,N]) that is, in cuBLAS's
// column-major terms: m = N, n = M, k = K, A = W with op T (lda = K), B = X with op N (ldb = K),
// C = Y (ldc = N). Constraints: N % 4 == 0, K % 4 == 0, 4-byte aligned pointers. Compute CUBLAS_COMPUTE_32I,
// int32 output, alpha = 1, beta = 0; a 32 MiB workspace and an algorithm from the heuristic, cached per
// shape. The row x column dequantization runs as a separate epilogue kernel (cuBLASLt's alpha vector
// carries only one of the two scales). Every cuBLAS status is checked (SO8T_CUBLAS_CHECK, so8t/base/cublas_check.cuh):
// failure throws so8t::CudaError whose code() is the cublasStatus_t.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/base/cublas_check.cuh"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/launch.cuh"
#include "so8t/gemm/int8_kernels.cuh"

namespace so8t::cuda::gemm {

/// y = float(c) * row_scale[m] * col_scale[n] (+ addend) (+ bias): the same arithmetic as the mma epilogue.
static __global__ void dequant_epilogue_kernel(const std::int32_t* __restrict__ c, int m, int n, Epilogue ep) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<long long>(m) * n) return;
  const int row = static_cast<int>(i / n), col = static_cast<int>(i % n);
  float v = fp::mul(static_cast<float>(c[i]) * ep.row_scale[row], ep.col_scale[col]);
  if (epilogue_has_addend(ep)) v = fp::add(v, ep.addend[i]);
  if (ep.bias != nullptr) v = fp::add(v, ep.bias[col]);
  ep.y[i] = v;
}

class CublasLtInt8 {
 public:
  static constexpr std::size_t kWorkspaceBytes = 32u << 20;

  CublasLtInt8() {
    SO8T_CUBLAS_CHECK(cublasLtCreate(&handle_));
    SO8T_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
  }
  ~CublasLtInt8() {
    for (auto& kv : plans_) destroy(kv.second);
    cudaFree(workspace_);
    cublasLtDestroy(handle_);
  }
  CublasLtInt8(const CublasLtInt8&) = delete;
  CublasLtInt8& operator=(const CublasLtInt8&) = delete;

  /// True when cuBLASLt's TN int8 path accepts this shape (else use the mma kernel).
  static bool supports(int m, int n, int k) { return m > 0 && n % 4 == 0 && k % 4 == 0; }

  /// c[M, N] (int32, row-major) = x[M, K] . w[N, K]^T; device pointers.
  void gemm_s32(const std::int8_t* x, const std::int8_t* w, int m, int n, int k, std::int32_t* c,
                cudaStream_t stream = nullptr) {
    if (!supports(m, n, k))
      throw InvalidArgument("so8t::cuda::gemm::CublasLtInt8: needs N % 4 == 0 and K % 4 == 0, got m = " +
                            std::to_string(m) + ", n = " + std::to_string(n) + ", k = " + std::to_string(k));
    Plan& p = plan(m, n, k);
    const std::int32_t alpha = 1, beta = 0;
    SO8T_CUBLAS_CHECK(cublasLtMatmul(handle_, p.op, &alpha, w, p.a, x, p.b, &beta, c, p.c, c, p.c, &p.algo,
                                     workspace_, kWorkspaceBytes, stream));
  }

  /// Float output through the dequant epilogue; `scratch` holds M*N int32 (device).
  void gemm(const std::int8_t* x, const std::int8_t* w, int m, int n, int k, std::int32_t* scratch, const Epilogue& ep,
            cudaStream_t stream = nullptr) {
    if (ep.y == nullptr || ep.row_scale == nullptr || ep.col_scale == nullptr)
      throw InvalidArgument("so8t::cuda::gemm::CublasLtInt8::gemm: y, row_scale and col_scale are required");
    gemm_s32(x, w, m, n, k, scratch, stream);
    const std::size_t total = static_cast<std::size_t>(m) * static_cast<std::size_t>(n);
    dequant_epilogue_kernel<<<grid_for(total, 256), 256, 0, stream>>>(scratch, m, n, ep);
    SO8T_CUDA_CHECK(cudaGetLastError());
  }

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };

  static void destroy(Plan& p) {
    if (p.a) cublasLtMatrixLayoutDestroy(p.a);
    if (p.b) cublasLtMatrixLayoutDestroy(p.b);
    if (p.c) cublasLtMatrixLayoutDestroy(p.c);
    if (p.op) cublasLtMatmulDescDestroy(p.op);
  }

  Plan& plan(int m, int n, int k) {
    const auto key = std::make_tuple(m, n, k);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    Plan p;
    try {
      SO8T_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32I, CUDA_R_32I));
      const cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
      SO8T_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
      SO8T_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
      // Column-major views: A = W as K x N (op T gives N x K), B = X as K x M, C = Y as N x M.
      SO8T_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_8I, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(n), k));
      SO8T_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_8I, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(m), k));
      SO8T_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32I, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(m), n));
      cublasLtMatmulPreference_t pref = nullptr;
      SO8T_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
      const std::size_t ws = kWorkspaceBytes;
      cublasLtMatmulHeuristicResult_t res{};
      int found = 0;
      cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
      if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic(handle_, p.op, p.a, p.b, p.c, p.c, pref, 1, &res, &found);
      cublasLtMatmulPreferenceDestroy(pref);
      SO8T_CUBLAS_CHECK(s);
      if (found == 0) SO8T_CUBLAS_CHECK(CUBLAS_STATUS_NOT_SUPPORTED);
      p.algo = res.algo;
    } catch (...) {
      destroy(p);
      throw;
    }
    return plans_.emplace(key, p).first->second;
  }

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::map<std::tuple<int, int, int>, Plan> plans_;
};

/// The two CUDA int8 GEMM backends.
enum class Backend { mma, cublaslt };

}  // namespace so8t::cuda::gemm
