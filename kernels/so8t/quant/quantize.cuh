// so8t/quant/quantize.cuh (namespace so8t::cuda::quant): CUDA quantize and dequantize kernels for the ggml
// block types.
//
// One thread per block calls the same SO8T_HOST_DEVICE per-block functions as the CPU reference
// (so8t/quant/*.hpp). Inside them every product that is added goes through fp::mul (__fmul_rn) and
// every divide / sqrt through __fdiv_rn / __fsqrt_rn, so nvcc's default FMA contraction (--fmad=true) cannot
// change a byte: the GPU writes the CPU's bytes (tests/quant/cuda/test_quant_cuda.cu). --use_fast_math can: its
// -ftz=true makes those intrinsics flush subnormals (.ftz in the PTX, tests/quant/fast_math_ptx.cmake), so the
// wrappers refuse such a build on first use (so8t/base/float_mode.cuh). Host wrappers check every CUDA call with SO8T_CUDA_CHECK.
// Pointers are device pointers; quantized buffers must be aligned to the block's alignment (cudaMalloc is).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "so8t/base/errors.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/float_mode.cuh"
#include "so8t/base/launch.cuh"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/q4_0.hpp"
#include "so8t/quant/q4_1.hpp"
#include "so8t/quant/q4_k.hpp"
#include "so8t/quant/q5_0.hpp"
#include "so8t/quant/q5_1.hpp"
#include "so8t/quant/q5_k.hpp"
#include "so8t/quant/q6_k.hpp"
#include "so8t/quant/q8_0.hpp"
#include "so8t/quant/q8_k.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::cuda::quant {

namespace q = ::so8t::quant;

/// Per-type operations the generic kernels call.
#define SO8T_QUANT_OP(NAME, BLOCK, QK, QFN, DFN)                                                   \
  struct NAME {                                                                                     \
    using block = q::BLOCK;                                                                         \
    static constexpr int qk = QK;                                                                   \
    SO8T_HOST_DEVICE static void quantize(const float* x, block& b) { q::QFN(x, b); }               \
    SO8T_HOST_DEVICE static void dequantize(const block& b, float* y) { q::DFN(b, y); }             \
  };
SO8T_QUANT_OP(OpQ8_0, BlockQ8_0, 32, quantize_block_q8_0_ref, dequantize_block_q8_0)
SO8T_QUANT_OP(OpQ4_0, BlockQ4_0, 32, quantize_block_q4_0_ref, dequantize_block_q4_0)
SO8T_QUANT_OP(OpQ4_1, BlockQ4_1, 32, quantize_block_q4_1_ref, dequantize_block_q4_1)
SO8T_QUANT_OP(OpQ5_0, BlockQ5_0, 32, quantize_block_q5_0_ref, dequantize_block_q5_0)
SO8T_QUANT_OP(OpQ5_1, BlockQ5_1, 32, quantize_block_q5_1_ref, dequantize_block_q5_1)
SO8T_QUANT_OP(OpQ4K, BlockQ4K, 256, quantize_block_q4_k_ref, dequantize_block_q4_k)
SO8T_QUANT_OP(OpQ5K, BlockQ5K, 256, quantize_block_q5_k_ref, dequantize_block_q5_k)
SO8T_QUANT_OP(OpQ6K, BlockQ6K, 256, quantize_block_q6_k_ref, dequantize_block_q6_k)
SO8T_QUANT_OP(OpQ8K, BlockQ8K, 256, quantize_block_q8_k_ref, dequantize_block_q8_k)
#undef SO8T_QUANT_OP

template <class Op>
__global__ void quantize_blocks_kernel(const float* __restrict__ src, typename Op::block* __restrict__ dst,
                                       std::int64_t nblocks) {
  const std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < nblocks) Op::quantize(src + i * Op::qk, dst[i]);
}

template <class Op>
__global__ void dequantize_blocks_kernel(const typename Op::block* __restrict__ src, float* __restrict__ dst,
                                         std::int64_t nblocks) {
  const std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < nblocks) Op::dequantize(src[i], dst + i * Op::qk);
}

template <class Op>
inline void launch_quantize(const float* d_src, void* d_dst, std::int64_t nblocks, cudaStream_t stream) {
  if (nblocks == 0) return;
  constexpr unsigned threads = Op::qk == 256 ? 64 : 128;
  quantize_blocks_kernel<Op><<<grid_for(std::size_t(nblocks), threads), threads, 0, stream>>>(
      d_src, static_cast<typename Op::block*>(d_dst), nblocks);
  SO8T_CUDA_CHECK(cudaGetLastError());
}

template <class Op>
inline void launch_dequantize(const void* d_src, float* d_dst, std::int64_t nblocks, cudaStream_t stream) {
  if (nblocks == 0) return;
  constexpr unsigned threads = 128;
  dequantize_blocks_kernel<Op><<<grid_for(std::size_t(nblocks), threads), threads, 0, stream>>>(
      static_cast<const typename Op::block*>(d_src), d_dst, nblocks);
  SO8T_CUDA_CHECK(cudaGetLastError());
}

namespace detail {
inline std::int64_t checked_blocks(const char* fn, q::Type t, const void* src, const void* dst, std::int64_t nrows,
                                   std::int64_t ncols) {
  const std::int64_t qk = q::block_size(t);
  if (qk <= 1)
    throw InvalidArgument(std::string(fn) + ": no CUDA kernel for type " + q::type_name(t) + " (id " +
                          std::to_string(std::uint32_t(t)) + ")");
  if (nrows < 0 || ncols < 0)
    throw InvalidArgument(std::string(fn) + ": nrows = " + std::to_string(nrows) + ", ncols = " + std::to_string(ncols) +
                          " must be non-negative");
  if (ncols % qk != 0)
    throw InvalidArgument(std::string(fn) + ": ncols = " + std::to_string(ncols) + " is not a multiple of the " +
                          q::type_name(t) + " block size " + std::to_string(qk));
  if (nrows * ncols > 0 && (src == nullptr || dst == nullptr)) throw InvalidArgument(std::string(fn) + ": null pointer");
  return nrows * ncols / qk;
}
}  // namespace detail

/// Quantizes nrows x ncols device floats into device blocks (asynchronous on `stream`).
inline void quantize(q::Type t, const float* d_src, void* d_dst, std::int64_t nrows, std::int64_t ncols,
                     cudaStream_t stream = nullptr) {
  const std::int64_t nb = detail::checked_blocks("so8t::cuda::quant::quantize", t, d_src, d_dst, nrows, ncols);
  if (nb > 0) require_ieee_float_mode(stream);
  switch (t) {
    case q::Type::q8_0: return launch_quantize<OpQ8_0>(d_src, d_dst, nb, stream);
    case q::Type::q4_0: return launch_quantize<OpQ4_0>(d_src, d_dst, nb, stream);
    case q::Type::q4_1: return launch_quantize<OpQ4_1>(d_src, d_dst, nb, stream);
    case q::Type::q5_0: return launch_quantize<OpQ5_0>(d_src, d_dst, nb, stream);
    case q::Type::q5_1: return launch_quantize<OpQ5_1>(d_src, d_dst, nb, stream);
    case q::Type::q4_k: return launch_quantize<OpQ4K>(d_src, d_dst, nb, stream);
    case q::Type::q5_k: return launch_quantize<OpQ5K>(d_src, d_dst, nb, stream);
    case q::Type::q6_k: return launch_quantize<OpQ6K>(d_src, d_dst, nb, stream);
    case q::Type::q8_k: return launch_quantize<OpQ8K>(d_src, d_dst, nb, stream);
    default: return;  // rejected by checked_blocks
  }
}

/// Dequantizes device blocks into nrows x ncols device floats (asynchronous on `stream`).
inline void dequantize(q::Type t, const void* d_src, float* d_dst, std::int64_t nrows, std::int64_t ncols,
                       cudaStream_t stream = nullptr) {
  const std::int64_t nb = detail::checked_blocks("so8t::cuda::quant::dequantize", t, d_src, d_dst, nrows, ncols);
  if (nb > 0) require_ieee_float_mode(stream);
  switch (t) {
    case q::Type::q8_0: return launch_dequantize<OpQ8_0>(d_src, d_dst, nb, stream);
    case q::Type::q4_0: return launch_dequantize<OpQ4_0>(d_src, d_dst, nb, stream);
    case q::Type::q4_1: return launch_dequantize<OpQ4_1>(d_src, d_dst, nb, stream);
    case q::Type::q5_0: return launch_dequantize<OpQ5_0>(d_src, d_dst, nb, stream);
    case q::Type::q5_1: return launch_dequantize<OpQ5_1>(d_src, d_dst, nb, stream);
    case q::Type::q4_k: return launch_dequantize<OpQ4K>(d_src, d_dst, nb, stream);
    case q::Type::q5_k: return launch_dequantize<OpQ5K>(d_src, d_dst, nb, stream);
    case q::Type::q6_k: return launch_dequantize<OpQ6K>(d_src, d_dst, nb, stream);
    case q::Type::q8_k: return launch_dequantize<OpQ8K>(d_src, d_dst, nb, stream);
    default: return;
  }
}

}  // namespace so8t::cuda::quant
