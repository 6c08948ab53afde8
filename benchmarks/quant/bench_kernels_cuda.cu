// The memory-bound CUDA kernels against a device-to-device copy of the bytes each must move, timed with CUDA
// events in the same run (best of the windows, L2 flushed before each): ggml quantize (f32 -> blocks) and
// dequantize (blocks -> f32) for Q8_0 / Q4_K / Q6_K, and the PET value + gradient (reads x, writes grad). A
// ratio of 1.0 is copy speed. Prints RESULT lines (support/cuda_timing.cuh); SO8T_BENCH_QUICK=1 takes smaller
// sizes. Without a GPU it says so and exits 0 (2 under SO8T_BENCH_REQUIRE_GPU).
#include <cuda_runtime.h>

#include <cstdio>
#include <random>
#include <vector>

#include "so8t/base/device_buffer.cuh"
#include "so8t/pet/pet.cuh"
#include "so8t/quant/quantize.cuh"
#include "so8t/quant/type.hpp"
#include "support/cuda_timing.cuh"

namespace {

struct Timer {
  so8t::cuda::DeviceBuffer<> flush{std::size_t(256) << 20, "L2 flush"};
  template <class F>
  double best(F&& f) {
    so8t_bench::CudaTiming t;
    t.windows = so8t_bench::quick() ? 5 : 15;
    t.flush = flush.get();
    t.flush_bytes = flush.bytes();
    return so8t_bench::cuda_best_ms(f, t);
  }
  /// A device-to-device copy of `bytes`: it reads and writes `bytes` each, so a kernel that moves R + W bytes is
  /// compared with a copy of (R + W) / 2.
  double copy_ms(std::size_t bytes) {
    so8t::cuda::DeviceBuffer<> a(bytes, "copy src"), b(bytes, "copy dst");
    return best([&] { SO8T_CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice)); });
  }
};

}  // namespace

int main() {
  if (so8t::cuda::device_count() == 0) {
    std::printf("bench_kernels_cuda: no CUDA device; nothing to measure\n");
    return so8t_bench::no_device_exit_code();
  }
  cudaDeviceProp prop{};
  SO8T_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s\n", prop.name);
  Timer tm;
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const std::int64_t rows = so8t_bench::quick() ? 4096 : 14336, cols = 4096;
  std::vector<float> h(static_cast<std::size_t>(rows * cols));
  for (auto& v : h) v = g(rng);
  so8t::cuda::DeviceBuffer<float> x(h, "bench input"), y(h.size(), "bench output");
  for (auto t : {so8t::quant::Type::q8_0, so8t::quant::Type::q4_k, so8t::quant::Type::q6_k}) {
    const std::size_t qb = so8t::quant::row_bytes(t, cols) * static_cast<std::size_t>(rows), fb = 4 * h.size();
    so8t::cuda::DeviceBuffer<> q(qb, "bench blocks");
    const double tq = tm.best([&] { so8t::cuda::quant::quantize(t, x.get(), q.get(), rows, cols); });
    const double td = tm.best([&] { so8t::cuda::quant::dequantize(t, q.get(), y.get(), rows, cols); });
    // A copy moving the same bytes: half of (read + written) each way.
    const double cq = tm.copy_ms((fb + qb) / 2), cd = cq;
    char what[64];
    std::snprintf(what, sizeof what, "quantize_%s_%lldx%lld", so8t::quant::type_name(t), (long long)rows, (long long)cols);
    std::printf("%-32s %8.3f ms, copy of its bytes %8.3f ms: %.2f of copy speed\n", what, tq, cq, cq / tq);
    so8t_bench::result("bench_kernels_cuda", what, cq / tq, "d2d_copy_of_its_bytes", tq, cq);
    std::snprintf(what, sizeof what, "dequantize_%s_%lldx%lld", so8t::quant::type_name(t), (long long)rows, (long long)cols);
    std::printf("%-32s %8.3f ms, copy of its bytes %8.3f ms: %.2f of copy speed\n", what, td, cd, cd / td);
    so8t_bench::result("bench_kernels_cuda", what, cd / td, "d2d_copy_of_its_bytes", td, cd);
  }
  // PET over [batch, seq, dim] float activations, gradient accumulated in float: reads x, writes grad.
  const std::size_t B = 8, T = so8t_bench::quick() ? 1024 : 2048, D = 4096, n = B * T * D;
  so8t::cuda::DeviceBuffer<float> px(n, "PET input"), pg(n, "PET gradient");
  {
    std::vector<float> hx(n);
    for (auto& v : hx) v = g(rng);
    px.upload(hx);
  }
  so8t::cuda::pet::PetWorkspace ws;
  const double tv = tm.best([&] { (void)so8t::cuda::pet::pet_loss(px.get(), B, T, D, {}, ws); });
  const double tg = tm.best([&] {
    (void)so8t::cuda::pet::pet_loss_and_grad(px.get(), B, T, D, {}, pg.get(), 1.0, so8t::PetGradMode::overwrite, ws);
  });
  const double cv = tm.copy_ms(4 * n / 2), cg = tm.copy_ms(4 * n);  // value: reads x; grad: reads x, writes grad
  std::printf("pet_loss %zux%zux%zu %8.3f ms (copy of x %8.3f ms: %.2f); value+grad %8.3f ms (copy %8.3f ms: %.2f)\n",
              B, T, D, tv, cv, cv / tv, tg, cg, cg / tg);
  char what[64];
  std::snprintf(what, sizeof what, "pet_loss_%zux%zux%zu", B, T, D);
  so8t_bench::result("bench_kernels_cuda", what, cv / tv, "d2d_copy_of_its_bytes", tv, cv);
  std::snprintf(what, sizeof what, "pet_loss_and_grad_%zux%zux%zu", B, T, D);
  so8t_bench::result("bench_kernels_cuda", what, cg / tg, "d2d_copy_of_its_bytes", tg, cg);
  return 0;
}
