// so8t/base/reduce.cuh: warp and block reductions for kernels (namespace so8t::cuda, device code).
//
//   warp_reduce_sum(v), warp_reduce_max(v)         butterfly over the 32 lanes (__shfl_xor_sync, offsets
//                                                  16, 8, 4, 2, 1): every lane gets the result, and every
//                                                  lane adds in the same order, so the bits are fixed
//   block_reduce_sum(v, sh), block_reduce_max(v, sh)
//                                                  every thread of the block gets the result: warp results
//                                                  in sh (32 elements of shared memory), then summed / maxed
//                                                  in warp order by each thread. blockDim.x a multiple of 32,
//                                                  all threads of the block call it; sh may be reused by the
//                                                  next call (it synchronises before writing)
// Max uses fmaxf (a NaN lane is ignored). The multi-block and cub-based reductions stay with their kernels.
#pragma once

#include <cuda_runtime.h>

namespace so8t::cuda {

template <class T>
__device__ __forceinline__ T warp_reduce_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_reduce_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Block-wide sum; every thread gets the result. sh: 32 elements of shared memory.
template <class T>
__device__ T block_reduce_sum(T v, T* sh) {
  v = warp_reduce_sum(v);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  __syncthreads();  // sh may still be read by a previous call
  if (lane == 0) sh[w] = v;
  __syncthreads();
  T r = T(0);
  for (int i = 0; i < nw; ++i) r += sh[i];
  return r;
}

/// Block-wide max (fmaxf); every thread gets the result. sh: 32 floats of shared memory.
__device__ inline float block_reduce_max(float v, float* sh) {
  v = warp_reduce_max(v);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  float r = sh[0];
  for (int i = 1; i < nw; ++i) r = fmaxf(r, sh[i]);
  return r;
}

}  // namespace so8t::cuda
