// so8t/base/float_mode.cuh: so8t::cuda::require_ieee_float_mode(), the run-time guard against device code
// compiled with --use_fast_math or -ftz=true (namespace so8t::cuda).
//
// Why at run time: nvcc 13 defines no macro for these flags (checked: neither __USE_FAST_MATH__ nor
// __FAST_MATH__, in the host or the device pass; so8t/base/config.hpp still refuses both where a compiler
// defines them), yet -ftz=true turns the IEEE intrinsics the bit-exact kernels rely on (__fmul_rn, __fadd_rn,
// __fdiv_rn) into their .ftz forms, which flush subnormal inputs and results to zero: a quant block whose
// scale or values are subnormal then gets other bytes than the CPU's. This header is compiled into the
// including translation unit with that unit's flags, so the probe kernel below is built exactly as the
// library kernels next to it. The quantizers, the fold and the block exp call the guard on their first launch
// (one probe launch and one synchronisation per translation unit, then a flag).
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <string>

#include "so8t/base/cuda_check.cuh"
#include "so8t/base/errors.hpp"

namespace so8t::cuda {
namespace detail {

/// Three IEEE operations on a subnormal input; under -ftz they give 0.
static __global__ void float_mode_probe_kernel(float tiny, float* out) {
  out[0] = __fmul_rn(tiny, 1.0f);
  out[1] = __fadd_rn(tiny, 0.0f);
  out[2] = __fdiv_rn(tiny, 2.0f);
}

/// One flag per translation unit (internal linkage): its kernels share that unit's flags.
static std::atomic<bool>& float_mode_checked() {
  static std::atomic<bool> checked{false};
  return checked;
}

}  // namespace detail

/// Throws so8t::InvalidArgument when this translation unit's device code flushes subnormals to zero
/// (--use_fast_math, -ftz=true), CudaError when the probe cannot run. Checked once per translation unit; while
/// `stream` is being captured into a graph nothing runs (a capture forbids the probe's allocation and copy) and
/// the check waits for the next call outside a capture.
static inline void require_ieee_float_mode(cudaStream_t stream = nullptr) {
  if (detail::float_mode_checked().load(std::memory_order_acquire)) return;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  if (capture != cudaStreamCaptureStatusNone) return;
  const float tiny = 1.0e-40f;  // subnormal in binary32 (smallest normal 1.18e-38)
  float* d = nullptr;
  SO8T_CUDA_CHECK(cudaMalloc(&d, 3 * sizeof(float)));
  float h[3] = {0.0f, 0.0f, 0.0f};
  detail::float_mode_probe_kernel<<<1, 1>>>(tiny, d);
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  (void)cudaFree(d);
  SO8T_CUDA_CHECK(e);
  const volatile float half = tiny / 2.0f;  // host SSE arithmetic keeps subnormals (-ffast-math is refused)
  if (h[0] != tiny || h[1] != tiny || h[2] != half)
    throw InvalidArgument(
        "so8t: this translation unit's CUDA code flushes subnormal floats to zero (compiled with --use_fast_math or "
        "-ftz=true): the quantizers, the fold and the SO(8) exp would no longer give the CPU's bits. Build so8t "
        "kernels without those flags (probe: " + std::to_string(h[0]) + ", " + std::to_string(h[1]) + ", " +
        std::to_string(h[2]) + " for a subnormal input)");
  detail::float_mode_checked().store(true, std::memory_order_release);
}

}  // namespace so8t::cuda
