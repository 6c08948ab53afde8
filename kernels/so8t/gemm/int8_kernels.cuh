// so8t/gemm/int8_kernels.cuh: LLM.int8 on CUDA (namespace so8t::cuda::gemm).
// C[M,N] = A_s8[M,K] . B_s8[N,K]^T with int32 accumulation on
// the tensor cores (mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32, sm_80+ and Hopper), plus the
// activation quantizer (outlier columns, per-row absmax) and a fused epilogue:
//     y[m,n] = float(acc) * (sx[m]/127) * (sw[n]/127) (+ addend[m,n]) (+ bias[n])      (float output), or
//     c[m,n] = acc                                                                     (int32 output).
// Layout is torch's: A row-major [M,K], B row-major [N,K] (both K-major, "TN"). Any M, N, K: edges are
// zero-filled in shared memory. Block tile 64 x 64 x 32, 4 warps of 32 x 32 (2 x 4 mma tiles each).
// The int32 sums are exact, so they equal so8t::gemm::gemm_s8s8_s32_ref bit for bit
// (tests/gemm/cuda/test_int8_gemm_cuda.cu). Host wrappers take device pointers, check every CUDA call
// with SO8T_CUDA_CHECK and run on `stream`.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/launch.cuh"
#include "so8t/base/reduce.cuh"

namespace so8t::cuda::gemm {

// The non-template kernels of these headers are `static` (internal linkage): a header-only library is included by
// several translation units of one program, and a plain __global__ function would be defined in each of them.
constexpr int kBM = 64, kBN = 64, kBK = 32;
constexpr int kSmemStride = 48;  // bytes per smem row: 32 + 16 padding, conflict-free fragment loads
constexpr int kThreads = 128;

/// Epilogue parameters; null pointers are skipped. Exactly one of y / c is non-null.
struct Epilogue {
  float* y = nullptr;               ///< float output [M, N]
  std::int32_t* c = nullptr;        ///< int32 output [M, N]
  const float* row_scale = nullptr; ///< sx[m] / 127
  const float* col_scale = nullptr; ///< sw[n] / 127
  const float* addend = nullptr;    ///< [M, N], e.g. the outlier product
  const float* bias = nullptr;      ///< [N]
  /// Optional device int: when set, `addend` is read only if *addend_count != 0 (the LLM.int8 layer passes
  /// its device-side outlier-column count, so no host round trip decides whether the outlier product exists).
  const int* addend_count = nullptr;
};

/// True when the epilogue must add ep.addend (device code; reads *addend_count once per thread).
__device__ __forceinline__ bool epilogue_has_addend(const Epilogue& ep) {
  return ep.addend != nullptr && (ep.addend_count == nullptr || *ep.addend_count != 0);
}

__device__ __forceinline__ void mma_s8_16832(int (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  (void)d; (void)a; (void)b;
#endif
}

/// Loads a 64 x 32 int8 tile (rows r0.., columns k0..) of a row-major [rows, k] matrix into smem,
/// zero-filling outside. 128 threads x 16 bytes.
__device__ __forceinline__ void load_tile(const std::int8_t* __restrict__ g, int rows, int k, int ld, int r0, int k0,
                                          bool vec_ok, std::int8_t* s) {
  const int t = threadIdx.x;
  const int r = t >> 1, c = (t & 1) * 16;
  const int gr = r0 + r, gk = k0 + c;
  uint4 v = make_uint4(0, 0, 0, 0);
  if (gr < rows) {
    const std::int8_t* p = g + static_cast<long long>(gr) * ld + gk;
    if (vec_ok && gk + 16 <= k) {
      v = *reinterpret_cast<const uint4*>(p);
    } else {
      unsigned char tmp[16];
      for (int i = 0; i < 16; ++i) tmp[i] = (gk + i < k) ? static_cast<unsigned char>(p[i]) : 0;
      v.x = tmp[0] | (tmp[1] << 8) | (tmp[2] << 16) | (unsigned(tmp[3]) << 24);
      v.y = tmp[4] | (tmp[5] << 8) | (tmp[6] << 16) | (unsigned(tmp[7]) << 24);
      v.z = tmp[8] | (tmp[9] << 8) | (tmp[10] << 16) | (unsigned(tmp[11]) << 24);
      v.w = tmp[12] | (tmp[13] << 8) | (tmp[14] << 16) | (unsigned(tmp[15]) << 24);
    }
  }
  *reinterpret_cast<uint4*>(s + r * kSmemStride + c) = v;
}

static __global__ void __launch_bounds__(kThreads) gemm_s8_mma_kernel(const std::int8_t* __restrict__ a,
                                                                const std::int8_t* __restrict__ b, int m, int n, int k,
                                                                int lda, int ldb, bool vec_ok, Epilogue ep) {
  __shared__ __align__(16) std::int8_t sa[2][kBM * kSmemStride];
  __shared__ __align__(16) std::int8_t sb[2][kBN * kSmemStride];
  const int m0 = blockIdx.y * kBM, n0 = blockIdx.x * kBN;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
  const int gid = lane >> 2, tig = lane & 3;
  int acc[2][4][4];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0;
  const int ktiles = (k + kBK - 1) / kBK;
  load_tile(a, m, k, lda, m0, 0, vec_ok, sa[0]);
  load_tile(b, n, k, ldb, n0, 0, vec_ok, sb[0]);
  __syncthreads();
  for (int kt = 0; kt < ktiles; ++kt) {
    const int cur = kt & 1;
    if (kt + 1 < ktiles) {  // double buffer: fetch the next tile while this one is multiplied
      load_tile(a, m, k, lda, m0, (kt + 1) * kBK, vec_ok, sa[cur ^ 1]);
      load_tile(b, n, k, ldb, n0, (kt + 1) * kBK, vec_ok, sb[cur ^ 1]);
    }
    unsigned af[2][4], bf[4][2];
    for (int i = 0; i < 2; ++i) {
      const std::int8_t* base = sa[cur] + (wm + 16 * i) * kSmemStride;
      af[i][0] = *reinterpret_cast<const unsigned*>(base + gid * kSmemStride + tig * 4);
      af[i][1] = *reinterpret_cast<const unsigned*>(base + (gid + 8) * kSmemStride + tig * 4);
      af[i][2] = *reinterpret_cast<const unsigned*>(base + gid * kSmemStride + 16 + tig * 4);
      af[i][3] = *reinterpret_cast<const unsigned*>(base + (gid + 8) * kSmemStride + 16 + tig * 4);
    }
    for (int j = 0; j < 4; ++j) {
      const std::int8_t* base = sb[cur] + (wn + 8 * j + gid) * kSmemStride;
      bf[j][0] = *reinterpret_cast<const unsigned*>(base + tig * 4);
      bf[j][1] = *reinterpret_cast<const unsigned*>(base + 16 + tig * 4);
    }
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j) mma_s8_16832(acc[i][j], af[i], bf[j]);
    __syncthreads();
  }
  // Fused epilogue straight from the accumulator registers.
  const bool use_addend = ep.c == nullptr && epilogue_has_addend(ep);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int q = 0; q < 4; ++q) {
        const int row = m0 + wm + 16 * i + gid + (q >= 2 ? 8 : 0);
        const int col = n0 + wn + 8 * j + tig * 2 + (q & 1);
        if (row >= m || col >= n) continue;
        const long long o = static_cast<long long>(row) * n + col;
        if (ep.c != nullptr) {
          ep.c[o] = acc[i][j][q];
        } else {
          float v = fp::mul(static_cast<float>(acc[i][j][q]) * ep.row_scale[row], ep.col_scale[col]);
          if (use_addend) v = fp::add(v, ep.addend[o]);
          if (ep.bias != nullptr) v = fp::add(v, ep.bias[col]);
          ep.y[o] = v;
        }
      }
}

/// Launches the mma.sync kernel (device pointers). Throws InvalidArgument for bad shapes, CudaError on
/// CUDA failures.
inline void gemm_s8_mma(const std::int8_t* a, const std::int8_t* b, int m, int n, int k, const Epilogue& ep,
                        cudaStream_t stream = nullptr) {
  if (m < 0 || n < 0 || k < 0 || k > 66000)
    throw InvalidArgument("so8t::cuda::gemm::gemm_s8_mma: bad shape m = " + std::to_string(m) + ", n = " +
                          std::to_string(n) + ", k = " + std::to_string(k));
  if ((ep.y == nullptr) == (ep.c == nullptr))
    throw InvalidArgument("so8t::cuda::gemm::gemm_s8_mma: give exactly one of y (float) or c (int32)");
  if (ep.y != nullptr && (ep.row_scale == nullptr || ep.col_scale == nullptr))
    throw InvalidArgument("so8t::cuda::gemm::gemm_s8_mma: float output needs row_scale and col_scale");
  if (m == 0 || n == 0) return;
  if ((m + kBM - 1) / kBM > 65535)  // grid.y counts 64-row tiles
    throw InvalidArgument("so8t::cuda::gemm::gemm_s8_mma: m = " + std::to_string(m) + " exceeds " +
                          std::to_string(65535 * kBM) + " rows (65535 tiles of " + std::to_string(kBM) + ")");
  const bool vec_ok = (k % 16 == 0) && (reinterpret_cast<std::uintptr_t>(a) % 16 == 0) &&
                      (reinterpret_cast<std::uintptr_t>(b) % 16 == 0);
  const dim3 grid(static_cast<unsigned>((n + kBN - 1) / kBN), static_cast<unsigned>((m + kBM - 1) / kBM));
  gemm_s8_mma_kernel<<<grid, kThreads, 0, stream>>>(a, b, m, n, k, k, k, vec_ok, ep);
  SO8T_CUDA_CHECK(cudaGetLastError());
}

// ---------------------------------------------------------------- activation quantization

/// flags[k] = 1 when any |x[m,k]| >= threshold (flags must be zeroed first). One thread per element.
static __global__ void outlier_flags_kernel(const float* __restrict__ x, long long total, int k, float threshold,
                                     int* __restrict__ flags) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < total && fabsf(x[i]) >= threshold) flags[i % k] = 1;
}

/// One block per row: absmax over non-outlier columns, then codes = rint(x * 127 / absmax) (outliers 0).
/// row_scale[m] receives absmax / 127 (0 for an all-zero row: codes 0, never NaN).
static __global__ void quantize_rows_kernel(const float* __restrict__ x, int k, const int* __restrict__ flags,
                                     std::int8_t* __restrict__ q, float* __restrict__ row_scale) {
  __shared__ float red[32];
  const int row = blockIdx.x;
  const float* xr = x + static_cast<long long>(row) * k;
  float amax = 0.0f;
  for (int j = threadIdx.x; j < k; j += blockDim.x)
    if (flags == nullptr || flags[j] == 0) amax = fmaxf(amax, fabsf(xr[j]));
  amax = block_reduce_max(amax, red);
  const float inv = amax > 0.0f ? __fdiv_rn(127.0f, amax) : 0.0f;
  for (int j = threadIdx.x; j < k; j += blockDim.x) {
    float v = (flags != nullptr && flags[j] != 0) ? 0.0f : rintf(__fmul_rn(xr[j], inv));
    v = fminf(127.0f, fmaxf(-127.0f, v));
    q[static_cast<long long>(row) * k + j] = static_cast<std::int8_t>(v);
  }
  if (threadIdx.x == 0) row_scale[row] = __fdiv_rn(amax, 127.0f);
}

/// Quantizes X[m, k] (device) into q and row_scale (= absmax / 127); flags (k ints, device) receives the
/// outlier columns when threshold > 0 (pass nullptr to disable the outlier path).
inline void quantize_activations(const float* x, int m, int k, float threshold, int* flags, std::int8_t* q,
                                 float* row_scale, cudaStream_t stream = nullptr) {
  if (m <= 0 || k <= 0) return;
  if (flags != nullptr) {
    SO8T_CUDA_CHECK(cudaMemsetAsync(flags, 0, sizeof(int) * static_cast<std::size_t>(k), stream));
    if (threshold > 0.0f) {
      const long long total = static_cast<long long>(m) * k;
      outlier_flags_kernel<<<grid_for(static_cast<std::size_t>(total), 256), 256, 0, stream>>>(x, total, k, threshold, flags);
      SO8T_CUDA_CHECK(cudaGetLastError());
    }
  }
  quantize_rows_kernel<<<static_cast<unsigned>(m), 256, 0, stream>>>(x, k, flags, q, row_scale);
  SO8T_CUDA_CHECK(cudaGetLastError());
}

}  // namespace so8t::cuda::gemm
