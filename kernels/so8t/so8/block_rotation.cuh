// so8t/so8/block_rotation.cuh (namespace so8t::cuda): batched exp and exp-VJP over n = D/8 blocks on the GPU.
//
// One thread per block, calling the very per-block functions of so8t/so8/block_rotation.hpp that the CPU loops
// call, so the CPU tests check this arithmetic (and with fp:: products the GPU gives the CPU's bits).
// Layouts: params [n, 28], rotations and cotangents [n, 8, 8], gradients [n, 28], all row-major, device memory.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "so8t/so8/block_rotation.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/float_mode.cuh"
#include "so8t/base/launch.cuh"

namespace so8t::cuda {

template <class S>
__global__ void block_exp_kernel(const S* __restrict__ params, std::size_t n, S* __restrict__ rotations) {
  const std::size_t b = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (b < n) block_exp_one(params + 28 * b, rotations + 64 * b);
}

template <class S>
__global__ void block_exp_vjp_kernel(const S* __restrict__ params, const S* __restrict__ dL_dR, std::size_t n,
                                     S* __restrict__ grads) {
  const std::size_t b = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (b < n) block_exp_vjp_one(params + 28 * b, dL_dR + 64 * b, grads + 28 * b);
}

template <class S>
__global__ void block_compose_kernel(const S* __restrict__ outer, const S* __restrict__ inner, std::size_t n,
                                     S* __restrict__ out) {
  const std::size_t b = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (b < n) block_compose_one(outer + 64 * b, inner + 64 * b, out + 64 * b);
}

/// Threads per CUDA block for the per-rotation kernels (each thread holds several 8x8 matrices in local
/// memory; 64 keeps occupancy reasonable on sm_90 without starving registers).
constexpr unsigned kBlockExpThreads = 64;

namespace detail {
inline void check_device_args(const void* a, const void* b, std::size_t n, const char* fn) {
  if (n > 0 && (a == nullptr || b == nullptr))
    throw InvalidArgument(std::string("so8t::cuda::") + fn + ": null device pointer for " + std::to_string(n) +
                          " blocks");
}

// One thread per rotation block; checks the launch, does not synchronise.
template <class... KernelArgs, class... Args>
void launch_per_block(void (*kernel)(KernelArgs...), std::size_t n, cudaStream_t stream, Args... args) {
  if (n == 0) return;
  require_ieee_float_mode(stream);  // first launch only: the fp:: products must not flush subnormals
  kernel<<<grid_for(n, kBlockExpThreads), kBlockExpThreads, 0, stream>>>(args...);
  SO8T_CUDA_CHECK(cudaGetLastError());
}
}  // namespace detail

/// rotations = exp(hat(params)) for n blocks, on `stream`. Checks the launch; does not synchronise.
template <class S>
void block_exp(const S* params, std::size_t n, S* rotations, cudaStream_t stream = nullptr) {
  detail::check_device_args(params, rotations, n, "block_exp");
  detail::launch_per_block(block_exp_kernel<S>, n, stream, params, n, rotations);
}

/// grads = d loss / d params from dL_dR, for n blocks.
template <class S>
void block_exp_vjp(const S* params, const S* dL_dR, std::size_t n, S* grads, cudaStream_t stream = nullptr) {
  detail::check_device_args(params, grads, n, "block_exp_vjp");
  detail::check_device_args(dL_dR, grads, n, "block_exp_vjp");
  detail::launch_per_block(block_exp_vjp_kernel<S>, n, stream, params, dL_dR, n, grads);
}

/// out = outer * inner per block (the gate `outer` after `inner`).
template <class S>
void block_compose(const S* outer, const S* inner, std::size_t n, S* out, cudaStream_t stream = nullptr) {
  detail::check_device_args(outer, inner, n, "block_compose");
  detail::check_device_args(out, inner, n, "block_compose");
  detail::launch_per_block(block_compose_kernel<S>, n, stream, outer, inner, n, out);
}

}  // namespace so8t::cuda
