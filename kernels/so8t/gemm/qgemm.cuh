// so8t/gemm/qgemm.cuh (namespace so8t::cuda::gemm): quantized-weight GEMV/GEMM for decode on CUDA,
// Y[M,N] = X[M,K] . dequant(W)^T
// with W in GGUF Q8_0 or Q4_K rows (ggml layout) and X fp32, M <= 16.
//
// One warp per output row n; lanes walk the row's blocks, dequantize on the fly with the quantizers'
// own SO8T_HOST_DEVICE decoding (from_fp16, get_scale_min_k4), and accumulate against all M activation
// rows (read through the L1/L2 caches), then a warp shuffle reduction. Weights are read once: about 1.06
// (Q8_0) or 0.56 (Q4_K) bytes per value. For M > kQgemvMaxRows = 16 dequantize (so8t/quant/quantize.cuh) and
// use a GEMM.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "so8t/base/config.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/reduce.cuh"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/k_common.hpp"
#include "so8t/quant/rounding.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::cuda::gemm {

/// Most activation rows qgemv() takes.
constexpr int kQgemvMaxRows = 16;

/// The row capacity of the kernel that serves m activation rows (1, 2, 4, 8 or 16): m rounded up to a power
/// of two. Only a register budget: the kernel touches rows [0, m) of x and y.
constexpr int qgemv_capacity(int m) { return m <= 1 ? 1 : m <= 2 ? 2 : m <= 4 ? 4 : m <= 8 ? 8 : 16; }

namespace detail {

constexpr int kWarpsPerBlock = 4;

// Per-format lane work: each lane accumulates its share of one weight row against the m <= M activation
// rows. M is the kernel's row capacity (registers); rows i >= m are neither read nor written.
template <int M>
__device__ inline void accumulate_lanes(const so8t::quant::BlockQ8_0* __restrict__ wr, int nb,
                                        const float* __restrict__ x, int m, int k, int lane, float (&acc)[M]) {
  // lane handles 4 consecutive values of a block: 8 lanes per block, 4 blocks per warp step.
  for (int b = lane >> 3; b < nb; b += 4) {
    const float d = so8t::quant::detail::from_fp16(wr[b].d);
    const int j0 = (lane & 7) * 4;
    float wv[4];
    for (int t = 0; t < 4; ++t) wv[t] = d * static_cast<float>(wr[b].qs[j0 + t]);
    SO8T_UNROLL
    for (int i = 0; i < M; ++i) {
      if (i >= m) break;
      const float* xr = x + static_cast<long long>(i) * k + 32 * b + j0;
      for (int t = 0; t < 4; ++t) acc[i] = fmaf(wv[t], xr[t], acc[i]);
    }
  }
}

template <int M>
__device__ inline void accumulate_lanes(const so8t::quant::BlockQ4K* __restrict__ wr, int nb,
                                        const float* __restrict__ x, int m, int k, int lane, float (&acc)[M]) {
  // lane owns 8 values of each super-block: chunk c = lane / 8 (64 values), bytes (lane % 8) * 4 .. + 3,
  // low nibbles (sub-block 2c) and high nibbles (sub-block 2c + 1).
  const int c = lane >> 3, l0 = (lane & 7) * 4;
  for (int b = 0; b < nb; ++b) {
    const so8t::quant::BlockQ4K& blk = wr[b];
    const float d = so8t::quant::detail::from_fp16(blk.d), dmin = so8t::quant::detail::from_fp16(blk.dmin);
    std::uint8_t sc, mn;
    so8t::quant::detail::get_scale_min_k4(2 * c, blk.scales, sc, mn);
    const float d1 = d * sc, m1 = dmin * mn;
    so8t::quant::detail::get_scale_min_k4(2 * c + 1, blk.scales, sc, mn);
    const float d2 = d * sc, m2 = dmin * mn;
    float lo[4], hi[4];
    for (int t = 0; t < 4; ++t) {
      const std::uint8_t q = blk.qs[32 * c + l0 + t];
      lo[t] = d1 * static_cast<float>(q & 0xF) - m1;
      hi[t] = d2 * static_cast<float>(q >> 4) - m2;
    }
    SO8T_UNROLL
    for (int i = 0; i < M; ++i) {
      if (i >= m) break;
      const float* xr = x + static_cast<long long>(i) * k + 256 * b + 64 * c + l0;
      for (int t = 0; t < 4; ++t) acc[i] = fmaf(lo[t], xr[t], fmaf(hi[t], xr[32 + t], acc[i]));
    }
  }
}

// One warp per weight row: the format's lane loop, then a shuffle reduction per activation row.
template <int M, class Block, int kValues>
__global__ void qgemv_kernel(const Block* __restrict__ w, const float* __restrict__ x, int m, int n, int k,
                             float* __restrict__ y) {
  const int row = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (row >= n) return;
  const int nb = k / kValues;
  float acc[M];
  for (int i = 0; i < M; ++i) acc[i] = 0.0f;
  accumulate_lanes<M>(w + static_cast<long long>(row) * nb, nb, x, m, k, lane, acc);
  SO8T_UNROLL
  for (int i = 0; i < M; ++i) {
    if (i >= m) break;  // uniform across the warp: the shuffles below see all 32 lanes
    const float v = warp_reduce_sum(acc[i]);
    if (lane == 0) y[static_cast<long long>(i) * n + row] = v;
  }
}

template <int M>
inline void qgemv_launch(so8t::quant::Type t, const void* w, const float* x, int m, int n, int k, float* y,
                         cudaStream_t s) {
  const unsigned grid = static_cast<unsigned>((n + kWarpsPerBlock - 1) / kWarpsPerBlock);
  if (t == so8t::quant::Type::q8_0)
    qgemv_kernel<M, so8t::quant::BlockQ8_0, 32>
        <<<grid, 32 * kWarpsPerBlock, 0, s>>>(static_cast<const so8t::quant::BlockQ8_0*>(w), x, m, n, k, y);
  else
    qgemv_kernel<M, so8t::quant::BlockQ4K, 256>
        <<<grid, 32 * kWarpsPerBlock, 0, s>>>(static_cast<const so8t::quant::BlockQ4K*>(w), x, m, n, k, y);
}

}  // namespace detail

/// y[m, n] = x[m, k] . dequant(w)^T on the device, 1 <= m <= 16, w q8_0 or q4_K (device pointers). Reads
/// exactly m rows of x and writes exactly m rows of y.
inline void qgemv(so8t::quant::Type t, const void* w, int n, int k, const float* x, int m, float* y,
                  cudaStream_t stream = nullptr) {
  if (t != so8t::quant::Type::q8_0 && t != so8t::quant::Type::q4_k)
    throw InvalidArgument(std::string("so8t::cuda::gemm::qgemv: weight type ") + so8t::quant::type_name(t) +
                          " is not supported (q8_0 and q4_K are)");
  if (m < 1 || m > kQgemvMaxRows || n < 0)
    throw InvalidArgument("so8t::cuda::gemm::qgemv: m = " + std::to_string(m) + " is outside [1, 16] (n = " + std::to_string(n) + ")");
  (void)so8t::quant::row_bytes(t, k);
  if (n == 0 || k == 0) return;
  if (w == nullptr || x == nullptr || y == nullptr)
    throw InvalidArgument("so8t::cuda::gemm::qgemv: null device pointer (m = " + std::to_string(m) + ", n = " +
                          std::to_string(n) + ", k = " + std::to_string(k) + ")");
  // The kernel for the next row capacity up; it reads and writes exactly m rows (x and y hold m, no more).
  switch (qgemv_capacity(m)) {
    case 1: detail::qgemv_launch<1>(t, w, x, m, n, k, y, stream); break;
    case 2: detail::qgemv_launch<2>(t, w, x, m, n, k, y, stream); break;
    case 4: detail::qgemv_launch<4>(t, w, x, m, n, k, y, stream); break;
    case 8: detail::qgemv_launch<8>(t, w, x, m, n, k, y, stream); break;
    default: detail::qgemv_launch<16>(t, w, x, m, n, k, y, stream); break;
  }
  SO8T_CUDA_CHECK(cudaGetLastError());
}

}  // namespace so8t::cuda::gemm
