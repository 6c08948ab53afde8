// Batched exp and exp-VJP on the GPU: blocks per second against the memory-bandwidth floor measured in the
// same run (a device-to-device copy of the same number of bytes as the kernel reads plus writes).
// Timed with CUDA events after a warm-up, the L2 flushed between repeats (llm.c dev/cuda method).
#include <cuda_runtime.h>

#include <cstdio>
#include <random>
#include <vector>

#include "so8t/so8/block_rotation.cuh"
#include "support/cuda_timing.cuh"

namespace {

template <class F>
double time_ms(F f, void* flush, std::size_t flush_bytes, int reps = 20) {
  so8t_bench::CudaTiming t;
  t.windows = reps;
  t.flush = flush;
  t.flush_bytes = flush_bytes;
  return so8t_bench::cuda_best_ms(f, t);
}

template <class S>
void run(const char* name, std::size_t n) {
  std::vector<S> hp(28 * n), hg(64 * n);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> nd(0, 0.05);
  for (auto& v : hp) v = S(nd(rng));
  for (auto& v : hg) v = S(nd(rng));
  S *p, *R, *G, *g;
  void *flush, *copy_src, *copy_dst;
  const std::size_t flush_bytes = 256u << 20;
  SO8T_CUDA_CHECK(cudaMalloc(&p, hp.size() * sizeof(S)));
  SO8T_CUDA_CHECK(cudaMalloc(&R, 64 * n * sizeof(S)));
  SO8T_CUDA_CHECK(cudaMalloc(&G, 64 * n * sizeof(S)));
  SO8T_CUDA_CHECK(cudaMalloc(&g, 28 * n * sizeof(S)));
  SO8T_CUDA_CHECK(cudaMalloc(&flush, flush_bytes));
  const std::size_t exp_bytes = (28 + 64) * n * sizeof(S), vjp_bytes = (28 + 64 + 28) * n * sizeof(S);
  SO8T_CUDA_CHECK(cudaMalloc(&copy_src, vjp_bytes));
  SO8T_CUDA_CHECK(cudaMalloc(&copy_dst, vjp_bytes));
  SO8T_CUDA_CHECK(cudaMemcpy(p, hp.data(), hp.size() * sizeof(S), cudaMemcpyHostToDevice));
  SO8T_CUDA_CHECK(cudaMemcpy(G, hg.data(), hg.size() * sizeof(S), cudaMemcpyHostToDevice));

  const double t_exp = time_ms([&] { so8t::cuda::block_exp(p, n, R); }, flush, flush_bytes);
  const double t_vjp = time_ms([&] { so8t::cuda::block_exp_vjp(p, G, n, g); }, flush, flush_bytes);
  // The floor: copying the bytes the kernel must move (half read, half written) at device bandwidth.
  const double t_copy_exp = time_ms([&] { SO8T_CUDA_CHECK(cudaMemcpyAsync(copy_dst, copy_src, exp_bytes / 2, cudaMemcpyDeviceToDevice)); }, flush, flush_bytes);
  const double t_copy_vjp = time_ms([&] { SO8T_CUDA_CHECK(cudaMemcpyAsync(copy_dst, copy_src, vjp_bytes / 2, cudaMemcpyDeviceToDevice)); }, flush, flush_bytes);
  std::printf("%-7s n=%9zu  exp %8.3f ms (%7.2f Gblocks/s, %5.1f%% of copy floor)  exp_vjp %8.3f ms (%7.2f Gblocks/s, %5.1f%% of floor)\n",
              name, n, t_exp, n / t_exp / 1e6, 100 * t_copy_exp / t_exp, t_vjp, n / t_vjp / 1e6, 100 * t_copy_vjp / t_vjp);
  char what[64];
  std::snprintf(what, sizeof what, "block_exp_%s_n%zu", name, n);
  so8t_bench::result("bench_so8_exp_cuda", what, t_copy_exp / t_exp, "d2d_copy_of_its_bytes", t_exp, t_copy_exp);
  std::snprintf(what, sizeof what, "block_exp_vjp_%s_n%zu", name, n);
  so8t_bench::result("bench_so8_exp_cuda", what, t_copy_vjp / t_vjp, "d2d_copy_of_its_bytes", t_vjp, t_copy_vjp);
  cudaFree(p);
  cudaFree(R);
  cudaFree(G);
  cudaFree(g);
  cudaFree(flush);
  cudaFree(copy_src);
  cudaFree(copy_dst);
}

}  // namespace

int main() {
  if (so8t::cuda::device_count() == 0) {
    std::printf("bench_so8_exp_cuda: no CUDA device, nothing to measure\n");
    return so8t_bench::no_device_exit_code();
  }
  cudaDeviceProp prop{};
  SO8T_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s\n", prop.name);
  const std::vector<std::size_t> sizes = so8t_bench::quick()
                                             ? std::vector<std::size_t>{std::size_t(1) << 16, std::size_t(1) << 20}
                                             : std::vector<std::size_t>{std::size_t(1) << 16, std::size_t(1) << 20,
                                                                        std::size_t(1) << 22};
  for (std::size_t n : sizes) {
    run<float>("float", n);
    run<double>("double", n);
  }
  return 0;
}
