// so8t/gemm/int8_cublaslt.cuh (namespace so8t::cuda::gemm): the cuBLASLt int8 backend of the LLM.int8 GEMM,
// selectable at run time against the mma.sync kernel (int8_kernels.cuh).
//
// cuBLASLt IMMA on Hopper accepts only the "TN" regular-order case (docs/int8-gemm-and-offload.md
// §2.1). With torch's layout (X row-major [M,K], W row-major [N,K], Y row-major [M,N]) that is, in cuBLAS's
// column-major terms: m = N, n = M, k = K, A = W with op T (lda = K), B = X with op N (ldb = K),
// C = Y (ldc = N). Constraints: N % 4 == 0, K % 4 == 0, 4-byte aligned pointers. Compute CUBLAS_COMPUTE_32I,
// int32 output, alpha = 1, beta = 0; a 32 MiB workspace and an algorithm from the heuristic, asked for with the
// pointers' real alignment (MIN_ALIGNMENT preferences) and cached per (shape, alignment) in a bounded LRU
// (so8t/base/lru_cache.hpp). When the heuristic has no algorithm (seen for small M) try_gemm returns false and
// the LLM.int8 layer runs the mma kernel instead. The row x column dequantization runs as a separate epilogue kernel (cuBLASLt's alpha vector
// carries only one of the two scales). Every cuBLAS status is checked (SO8T_CUBLAS_CHECK, so8t/base/cublas_check.cuh):
// failure throws so8t::CudaError whose code() is the cublasStatus_t.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/base/lru_cache.hpp"
#include "so8t/base/cublas_check.cuh"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/base/library_handle.cuh"
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

/// Options of the cuBLASLt backend.
struct CublasLtOptions {
  std::size_t workspace_bytes = 32u << 20;  ///< cuBLASLt workspace
  std::size_t max_plans = 64;               ///< plans kept (least recently used evicted): m varies per call
  /// Test hook: pretend the heuristic found no algorithm for these shapes (how the fallback is tested).
  bool (*refuse_shape)(int m, int n, int k) = nullptr;
};

/// The largest power of two (<= 256) that divides the address: the alignment cuBLASLt may assume of it.
inline std::uint32_t pointer_alignment(const void* p) {
  const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
  std::uint32_t al = 256;
  while (al > 1 && (a % al) != 0) al /= 2;
  return al;
}

class CublasLtInt8 {
 public:
  static constexpr std::size_t kWorkspaceBytes = 32u << 20;

  explicit CublasLtInt8(const CublasLtOptions& opt = {})
      : opt_(opt), plans_(opt.max_plans == 0 ? 1 : opt.max_plans) {
    SO8T_CUBLAS_CHECK(handle_.create());
    workspace_ = DeviceBuffer<>(opt_.workspace_bytes, "the cuBLASLt int8 workspace");  // the handle is freed if this throws
  }
  CublasLtInt8(const CublasLtInt8&) = delete;
  CublasLtInt8& operator=(const CublasLtInt8&) = delete;

  /// True when cuBLASLt's TN int8 path accepts this shape (else use the mma kernel).
  static bool supports(int m, int n, int k) { return m > 0 && n % 4 == 0 && k % 4 == 0; }

  /// c[M, N] (int32, row-major) = x[M, K] . w[N, K]^T; device pointers. Returns false, having queued nothing,
  /// when cuBLASLt has no algorithm for this shape and these pointers' alignment (the caller falls back to
  /// the mma kernel); throws InvalidArgument for a shape it never takes, CudaError when a call fails.
  bool try_gemm_s32(const std::int8_t* x, const std::int8_t* w, int m, int n, int k, std::int32_t* c,
                    cudaStream_t stream = nullptr) {
    if (!supports(m, n, k))
      throw InvalidArgument("so8t::cuda::gemm::CublasLtInt8: needs N % 4 == 0 and K % 4 == 0, got m = " +
                            std::to_string(m) + ", n = " + std::to_string(n) + ", k = " + std::to_string(k));
    const std::uint32_t align = std::min({pointer_alignment(x), pointer_alignment(w), pointer_alignment(c)});
    const Plan& p = plan(m, n, k, align);
    if (!p.found) return false;
    const std::int32_t alpha = 1, beta = 0;
    SO8T_CUBLAS_CHECK(cublasLtMatmul(handle_.get(), p.op, &alpha, w, p.a, x, p.b, &beta, c, p.c, c, p.c, &p.algo,
                                     workspace_.get(), workspace_.bytes(), stream));
    return true;
  }

  /// As try_gemm_s32, but a shape without an algorithm throws CudaError (CUBLAS_STATUS_NOT_SUPPORTED).
  void gemm_s32(const std::int8_t* x, const std::int8_t* w, int m, int n, int k, std::int32_t* c,
                cudaStream_t stream = nullptr) {
    if (!try_gemm_s32(x, w, m, n, k, c, stream))
      throw CudaError(static_cast<int>(CUBLAS_STATUS_NOT_SUPPORTED),
                      "so8t::cuda::gemm::CublasLtInt8: cuBLASLt has no int8 algorithm for m = " + std::to_string(m) +
                          ", n = " + std::to_string(n) + ", k = " + std::to_string(k));
  }

  /// Float output through the dequant epilogue; `scratch` holds M*N int32 (device). Returns false (nothing
  /// queued) when cuBLASLt has no algorithm, as try_gemm_s32.
  bool try_gemm(const std::int8_t* x, const std::int8_t* w, int m, int n, int k, std::int32_t* scratch,
                const Epilogue& ep, cudaStream_t stream = nullptr) {
    if (ep.y == nullptr || ep.row_scale == nullptr || ep.col_scale == nullptr)
      throw InvalidArgument("so8t::cuda::gemm::CublasLtInt8::gemm: y, row_scale and col_scale are required");
    if (!try_gemm_s32(x, w, m, n, k, scratch, stream)) return false;
    const std::size_t total = static_cast<std::size_t>(m) * static_cast<std::size_t>(n);
    dequant_epilogue_kernel<<<grid_for(total, 256), 256, 0, stream>>>(scratch, m, n, ep);
    SO8T_CUDA_CHECK(cudaGetLastError());
    return true;
  }

  /// Plans held now (at most options().max_plans) and plans evicted so far.
  std::size_t plans_cached() const { return plans_.size(); }
  std::size_t plans_evicted() const { return plans_.evictions(); }
  const CublasLtOptions& options() const { return opt_; }

 private:
  /// One shape's descriptors and algorithm (found = false: the heuristic had none; remembered too).
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool found = false;
    Plan() = default;
    Plan(Plan&& o) noexcept
        : op(std::exchange(o.op, nullptr)), a(std::exchange(o.a, nullptr)), b(std::exchange(o.b, nullptr)),
          c(std::exchange(o.c, nullptr)), algo(o.algo), found(o.found) {}
    Plan& operator=(Plan&&) = delete;
    Plan(const Plan&) = delete;
    ~Plan() {
      if (a) cublasLtMatrixLayoutDestroy(a);
      if (b) cublasLtMatrixLayoutDestroy(b);
      if (c) cublasLtMatrixLayoutDestroy(c);
      if (op) cublasLtMatmulDescDestroy(op);
    }
  };
  using Key = std::tuple<int, int, int, std::uint32_t>;
  using LtHandle = LibraryHandle<cublasLtHandle_t, cublasStatus_t, &cublasLtCreate, &cublasLtDestroy>;
  using Preference = LibraryHandle<cublasLtMatmulPreference_t, cublasStatus_t, &cublasLtMatmulPreferenceCreate,
                                   &cublasLtMatmulPreferenceDestroy>;

  const Plan& plan(int m, int n, int k, std::uint32_t align) {
    const Key key{m, n, k, align};
    if (const Plan* hit = plans_.find(key)) return *hit;
    Plan p;  // its destructor frees whatever was created if a call below throws
    SO8T_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32I, CUDA_R_32I));
    const cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    SO8T_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
    SO8T_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
    // Column-major views: A = W as K x N (op T gives N x K), B = X as K x M, C = Y as N x M.
    SO8T_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_8I, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(n), k));
    SO8T_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_8I, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(m), k));
    SO8T_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32I, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(m), n));
    Preference pref;
    SO8T_CUBLAS_CHECK(pref.create());
    const std::size_t ws = workspace_.bytes();
    SO8T_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.get(), CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    // The algorithm may assume only the alignment these pointers have (its default assumption is 256 bytes).
    for (const auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                            CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      SO8T_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.get(), attr, &align, sizeof align));
    cublasLtMatmulHeuristicResult_t res{};
    int found = 0;
    const bool refused = opt_.refuse_shape != nullptr && opt_.refuse_shape(m, n, k);
    if (!refused) {
      const cublasStatus_t s =
          cublasLtMatmulAlgoGetHeuristic(handle_.get(), p.op, p.a, p.b, p.c, p.c, pref.get(), 1, &res, &found);
      // NOT_SUPPORTED is how the heuristic says "no algorithm" for some shapes: fall back, do not fail.
      if (s != CUBLAS_STATUS_NOT_SUPPORTED) SO8T_CUBLAS_CHECK(s);
      if (s != CUBLAS_STATUS_SUCCESS || res.state != CUBLAS_STATUS_SUCCESS) found = 0;
    }
    p.found = found > 0;
    if (p.found) p.algo = res.algo;
    return plans_.insert(key, std::move(p));
  }

  CublasLtOptions opt_;
  LtHandle handle_;
  DeviceBuffer<> workspace_;
  LruCache<Key, Plan> plans_;
};

/// The two CUDA int8 GEMM backends.
enum class Backend { mma, cublaslt };

}  // namespace so8t::cuda::gemm
