// so8t/base/cuda_check.cuh: checking every CUDA runtime call on the host (namespace so8t::cuda).
//
// SO8T_CUDA_CHECK(expr) throws so8t::CudaError naming the call, file, line and CUDA's own message.
// Launch wrappers call SO8T_CUDA_CHECK(cudaGetLastError()) right after a launch.
// The rest of the common CUDA layer, one concept per header (all in so8t::cuda):
//   cublas_check.cuh   SO8T_CUBLAS_CHECK for cuBLAS / cuBLASLt statuses (only headers that call cuBLAS include it)
//   device_buffer.cuh  DeviceBuffer<T>, the owning device allocation, and device_alloc
//   launch.cuh         grid_for / grid_for_capped
//   reduce.cuh         warp and block reductions (shuffles + 32 floats of shared memory)
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

}  // namespace so8t::cuda

#define SO8T_CUDA_CHECK(expr) ::so8t::cuda::check((expr), #expr, __FILE__, __LINE__)
