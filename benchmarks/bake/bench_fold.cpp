// CPU fold W [out, D] <- W blockdiag(R) against (a) Eigen dense GEMM with the materialised D x D block-diagonal
// matrix and (b) memcpy of W, all measured in the same run. D = 4096, out in {4096, 14336}.
//
// The GEMM baseline costs 2 out D^2 flops (137 GFLOP at out = 4096), too slow to repeat on this 2-core
// machine, so it is timed on the first kGemmRows rows and scaled by out / kGemmRows (GEMM time is linear in
// the row count at these sizes). Counters:
//   fold_GBps        bytes read + written by the fold (2 out D sizeof(T)) / fold time
//   memcpy_GBps      the same byte count moved by std::memcpy (read W, write a second buffer)
//   frac_of_memcpy   fold_GBps / memcpy_GBps
//   gemm_speedup     (scaled Eigen GEMM time) / fold time
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "so8t/bake/fold.hpp"

namespace {

constexpr std::size_t kD = 4096;
constexpr std::size_t kGemmRows = 256;

template <class F>
double best_seconds(F&& f, int reps) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

std::vector<float> rotations(std::size_t n) {
  // Any orthogonal blocks do: a signed permutation mixed with a Givens turn per plane pair.
  std::vector<float> R(64 * n, 0.0f);
  const float c = 0.8f, s = 0.6f;
  for (std::size_t b = 0; b < n; ++b)
    for (int p = 0; p < 4; ++p) {
      R[64 * b + 8 * (2 * p) + 2 * p] = c;
      R[64 * b + 8 * (2 * p) + 2 * p + 1] = -s;
      R[64 * b + 8 * (2 * p + 1) + 2 * p] = s;
      R[64 * b + 8 * (2 * p + 1) + 2 * p + 1] = c;
    }
  return R;
}

template <class T>
void BM_FoldRight(benchmark::State& state) {
  const std::size_t out = std::size_t(state.range(0)), D = kD, n = D / 8;
  std::vector<T> W(out * D), copy(out * D);
  std::mt19937 rng(1);
  std::normal_distribution<float> n01;
  for (auto& w : W) {
    if constexpr (std::is_same<T, float>::value) w = n01(rng);
    else w = T::from_float(n01(rng));
  }
  const std::vector<float> R = rotations(n);
  const auto view = so8t::matrix_view(W.data(), out, D);
  const auto rot = so8t::block_rotations(R.data(), n);
  for (auto _ : state) {
    so8t::fold_right(view, rot);
    benchmark::ClobberMemory();
  }
  const double bytes = 2.0 * double(out) * double(D) * sizeof(T);
  const double fold_s = best_seconds([&] { so8t::fold_right(view, rot); }, 3);
  const double copy_s = best_seconds([&] { std::memcpy(copy.data(), W.data(), W.size() * sizeof(T)); benchmark::ClobberMemory(); }, 3);
  state.counters["fold_GBps"] = bytes / fold_s * 1e-9;
  state.counters["memcpy_GBps"] = bytes / copy_s * 1e-9;
  state.counters["frac_of_memcpy"] = copy_s / fold_s;
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
  if constexpr (std::is_same<T, float>::value) {
    using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    RowMat B = RowMat::Zero(D, D);
    for (std::size_t b = 0; b < n; ++b)
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) B(8 * b + i, 8 * b + j) = R[64 * b + 8 * i + j];
    Eigen::Map<RowMat> Wm(W.data(), Eigen::Index(kGemmRows), Eigen::Index(D));
    RowMat C(kGemmRows, D);
    const double gemm_s = best_seconds([&] { C.noalias() = Wm * B; benchmark::DoNotOptimize(C.data()); }, 2) *
                          double(out) / double(kGemmRows);
    state.counters["gemm_s_scaled"] = gemm_s;
    state.counters["gemm_speedup"] = gemm_s / fold_s;
  }
}

BENCHMARK_TEMPLATE(BM_FoldRight, float)->Arg(4096)->Arg(14336)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_FoldRight, so8t::bfloat16_t)->Arg(4096)->Arg(14336)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_FoldRight, so8t::half_t)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
