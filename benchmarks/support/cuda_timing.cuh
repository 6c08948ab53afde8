// benchmarks/support/cuda_timing.cuh: timing GPU work with CUDA events, the one way every CUDA benchmark
// here measures (llm.c dev/cuda method): one untimed warm-up call, then `windows` timed windows of `reps`
// back-to-back calls each, optionally with the L2 cache evicted (a memset of `flush_bytes`) before each
// window. Returns the milliseconds per call of every window, sorted; take front() (best) or the median.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "so8t/base/cuda_check.cuh"

namespace so8t_bench {

struct CudaTiming {
  int windows = 10;           ///< timed windows
  int reps = 1;               ///< calls per window
  void* flush = nullptr;      ///< device buffer overwritten before each window (nullptr: no flush)
  std::size_t flush_bytes = 0;
};

/// Milliseconds per call of each window, sorted ascending.
template <class F>
std::vector<double> cuda_window_ms(F&& f, const CudaTiming& t = {}) {
  cudaEvent_t a = nullptr, b = nullptr;
  SO8T_CUDA_CHECK(cudaEventCreate(&a));
  SO8T_CUDA_CHECK(cudaEventCreate(&b));
  std::vector<double> ms;
  f();  // warm-up
  SO8T_CUDA_CHECK(cudaDeviceSynchronize());
  for (int w = 0; w < t.windows; ++w) {
    if (t.flush != nullptr) SO8T_CUDA_CHECK(cudaMemset(t.flush, w & 0xff, t.flush_bytes));
    SO8T_CUDA_CHECK(cudaEventRecord(a));
    for (int r = 0; r < t.reps; ++r) f();
    SO8T_CUDA_CHECK(cudaEventRecord(b));
    SO8T_CUDA_CHECK(cudaEventSynchronize(b));
    float e = 0.0f;
    SO8T_CUDA_CHECK(cudaEventElapsedTime(&e, a, b));
    ms.push_back(double(e) / t.reps);
  }
  (void)cudaEventDestroy(a);
  (void)cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms;
}

/// Best window (ms per call).
template <class F>
double cuda_best_ms(F&& f, const CudaTiming& t = {}) {
  return cuda_window_ms(f, t).front();
}

/// Median window (ms per call).
template <class F>
double cuda_median_ms(F&& f, const CudaTiming& t = {}) {
  const auto ms = cuda_window_ms(f, t);
  return ms[ms.size() / 2];
}

/// One machine-readable result line, collected by tests/cuda/device_check.sh into its summary:
///   RESULT <benchmark> <case> ratio=<x> baseline=<what the ratio is against> ms=<so8t> baseline_ms=<baseline>
/// ratio > 1 means so8t is faster (baseline_ms / ms) unless the case says otherwise (bandwidth ratios).
inline void result(const char* bench, const char* what, double ratio, const char* baseline, double ms,
                   double baseline_ms) {
  std::printf("RESULT %s %s ratio=%.3f baseline=%s ms=%.5f baseline_ms=%.5f\n", bench, what, ratio, baseline, ms,
              baseline_ms);
  std::fflush(stdout);
}

/// True when SO8T_BENCH_QUICK is set (non-empty, not "0"): fewer sizes and windows, for the device check.
inline bool quick() {
  const char* q = std::getenv("SO8T_BENCH_QUICK");
  return q != nullptr && *q != '\0' && std::strcmp(q, "0") != 0;
}

/// The exit code of a CUDA benchmark that found no device: 0 unless SO8T_BENCH_REQUIRE_GPU is set (the device
/// check sets it, so a machine without a usable GPU cannot pass as "nothing to measure").
inline int no_device_exit_code() {
  const char* r = std::getenv("SO8T_BENCH_REQUIRE_GPU");
  return (r != nullptr && *r != '\0' && std::strcmp(r, "0") != 0) ? 2 : 0;
}

}  // namespace so8t_bench
