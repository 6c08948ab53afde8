// so8t/kernels/cuda_check.cuh: checking every CUDA runtime call on the host.
//
// SO8T_CUDA_CHECK(expr) throws so8t::CudaError naming the call, file, line and CUDA's own message.
// Launch wrappers call SO8T_CUDA_CHECK(cudaGetLastError()) right after a launch.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "so8t/base/errors.hpp"

namespace so8t::cuda {

inline void check(cudaError_t err, const char* expr, const char* file, int line) {
  if (err != cudaSuccess) {
    throw CudaError(static_cast<int>(err), std::string("so8t: CUDA call failed: ") + expr + " at " + file + ":" +
                                               std::to_string(line) + ": " + cudaGetErrorName(err) + " (" +
                                               cudaGetErrorString(err) + ")");
  }
}

/// Number of usable CUDA devices; 0 (not an error) when there is no driver or no GPU.
inline int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

/// Blocks of `threads` threads that cover n items (at least 1).
inline unsigned grid_for(std::size_t n, unsigned threads) {
  const std::size_t g = (n + threads - 1) / threads;
  return static_cast<unsigned>(g == 0 ? 1 : g);
}

}  // namespace so8t::cuda

#define SO8T_CUDA_CHECK(expr) ::so8t::cuda::check((expr), #expr, __FILE__, __LINE__)
