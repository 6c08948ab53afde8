// CUDA quality-control reductions against a device-to-device copy of the same bytes, timed with CUDA
// events in the same run. Prints, per reduction: ms, GB/s of logits read, and the ratio to the copy's
// read bandwidth (goal >= 0.7). The wrappers make one device allocation per call (per-token results, sums
// and bins together); that is included in the timing.
#include <cuda_runtime.h>

#include <cstdio>
#include <random>
#include <vector>

#include "so8t/calib/calib.cuh"
#include "support/cuda_timing.cuh"

namespace {
template <class F>
float time_ms(F&& f, int reps) {
  so8t_bench::CudaTiming t;
  t.windows = 1;
  t.reps = reps;
  return float(so8t_bench::cuda_best_ms(f, t));
}
}  // namespace

int main() {
  if (so8t::cuda::device_count() == 0) {
    std::printf("no CUDA device: nothing to measure\n");
    return so8t_bench::no_device_exit_code();
  }
  const std::size_t tokens = 1024, vocab = 151936, n = tokens * vocab, bytes = n * sizeof(float);
  std::vector<float> h(n);
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 2.0f);
  for (auto& v : h) v = g(rng);
  std::vector<int> y(tokens);
  for (std::size_t t = 0; t < tokens; ++t) y[t] = static_cast<int>((t * 7919) % vocab);
  float *a = nullptr, *b = nullptr, *c = nullptr;
  int* dy = nullptr;
  SO8T_CUDA_CHECK(cudaMalloc(&a, bytes));
  SO8T_CUDA_CHECK(cudaMalloc(&b, bytes));
  SO8T_CUDA_CHECK(cudaMalloc(&c, bytes));
  SO8T_CUDA_CHECK(cudaMalloc(&dy, tokens * sizeof(int)));
  SO8T_CUDA_CHECK(cudaMemcpy(a, h.data(), bytes, cudaMemcpyHostToDevice));
  SO8T_CUDA_CHECK(cudaMemcpy(b, h.data(), bytes, cudaMemcpyHostToDevice));
  SO8T_CUDA_CHECK(cudaMemcpy(dy, y.data(), tokens * sizeof(int), cudaMemcpyHostToDevice));
  const int reps = 10;
  const float copy_ms = time_ms([&] { SO8T_CUDA_CHECK(cudaMemcpyAsync(c, a, bytes, cudaMemcpyDeviceToDevice)); }, reps);
  const double copy_gbps = double(bytes) / (copy_ms * 1e-3) / 1e9;
  std::printf("tokens %zu vocab %zu (%.1f MB of float logits)\n", tokens, vocab, double(bytes) / 1e6);
  std::printf("%-28s %9.3f ms %8.1f GB/s read\n", "d2d copy", copy_ms, copy_gbps);
  auto line = [&](const char* name, float ms, std::size_t read) {
    const double gbps = double(read) / (ms * 1e-3) / 1e9;
    std::printf("%-28s %9.3f ms %8.1f GB/s read  ratio %.2f\n", name, ms, gbps, gbps / copy_gbps);
    so8t_bench::result("bench_calib_cuda", name, gbps / copy_gbps, "d2d_copy_read_bandwidth", ms, copy_ms);
  };
  line("compare_logits_cuda", time_ms([&] { (void)so8t::cuda::calib::compare_logits_cuda(a, b, tokens, vocab); }, reps),
       2 * bytes);
  line("calibration_summary_cuda",
       time_ms([&] { (void)so8t::cuda::calib::calibration_summary_cuda(a, dy, tokens, vocab); }, reps), bytes);
  std::vector<double> ent, mx;
  line("entropy_series_cuda", time_ms([&] { so8t::cuda::calib::entropy_series_cuda(a, tokens, vocab, ent, mx); }, reps),
       bytes);
  SO8T_CUDA_CHECK(cudaFree(a));
  SO8T_CUDA_CHECK(cudaFree(b));
  SO8T_CUDA_CHECK(cudaFree(c));
  SO8T_CUDA_CHECK(cudaFree(dy));
  return 0;
}
