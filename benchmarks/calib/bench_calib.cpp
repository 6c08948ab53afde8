// CPU quality-control reductions against memory bandwidth measured in the same run.
//
// Each benchmark streams [tokens, vocab] float logits (vocab 151,936, Qwen-sized) once. Counters:
//   GB/s            logit bytes read per second of wall time
//   memcpy_GB/s     bytes read per second by std::memcpy of a buffer of the same size (measured once, here)
//   ratio_vs_memcpy GB/s / memcpy_GB/s (1.0 = as fast as copying the input; the reductions evaluate one
//                   double exp per element (two for the pair comparison), so they are compute-bound on CPUs)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "so8t/calib/compare.hpp"
#include "so8t/calib/stability.hpp"
#include "so8t/calib/summary.hpp"

namespace {

constexpr std::size_t kVocab = 151936;

std::vector<float> logits(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 2.0f);
  std::vector<float> z(n * kVocab);
  for (auto& v : z) v = g(rng);
  return z;
}

/// Bytes read per second by memcpy of `bytes`: total bytes over total wall time of ~0.3 s of copies
/// (an average, like the benchmarks' own figures).
double memcpy_gbps(std::size_t bytes) {
  static double cached = 0.0;
  static std::size_t cached_bytes = 0;
  if (cached_bytes == bytes) return cached;
  std::vector<char> a(bytes, 1), b(bytes, 0);
  std::memcpy(b.data(), a.data(), bytes);  // fault the pages in
  std::size_t copies = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double s = 0.0;
  while (s < 0.3) {
    std::memcpy(b.data(), a.data(), bytes);
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
    ++copies;
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  cached = double(copies) * double(bytes) / s / 1e9;
  cached_bytes = bytes;
  return cached;
}

using Clock = std::chrono::steady_clock;

void report(benchmark::State& state, std::size_t bytes_per_iter, Clock::time_point t0) {
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double gbps = double(state.iterations()) * double(bytes_per_iter) / secs / 1e9;
  const double gbps_copy = memcpy_gbps(bytes_per_iter);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iter));
  state.counters["GB/s"] = gbps;
  state.counters["memcpy_GB/s"] = gbps_copy;
  state.counters["ratio_vs_memcpy"] = gbps / gbps_copy;
}

void BM_Memcpy(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  std::vector<float> a(n * kVocab, 1.0f), b(n * kVocab);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), a.size() * sizeof(float));
    benchmark::DoNotOptimize(b.data());
    benchmark::ClobberMemory();
  }
  report(state, a.size() * sizeof(float), t0);
}

void BM_CompareLogits(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto a = logits(n, 1), b = logits(n, 2);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    auto r = so8t::calib::compare_logits(so8t::calib::LogitsView<float>(a, n, kVocab),
                                         so8t::calib::LogitsView<float>(b, n, kVocab));
    benchmark::DoNotOptimize(r);
  }
  report(state, 2 * a.size() * sizeof(float), t0);
}

void BM_CalibrationSummary(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto z = logits(n, 3);
  std::vector<int> y(n);
  for (std::size_t t = 0; t < n; ++t) y[t] = static_cast<int>((t * 7919) % kVocab);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    auto r = so8t::calib::calibration_summary(so8t::calib::LogitsView<float>(z, n, kVocab),
                                              so8t::calib::LabelsView<int>(y));
    benchmark::DoNotOptimize(r);
  }
  report(state, z.size() * sizeof(float), t0);
}

void BM_EntropySeries(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto z = logits(n, 4);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    auto r = so8t::calib::long_text_stability(so8t::calib::LogitsView<float>(z, n, kVocab));
    benchmark::DoNotOptimize(r);
  }
  report(state, z.size() * sizeof(float), t0);
}

}  // namespace

BENCHMARK(BM_Memcpy)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompareLogits)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CalibrationSummary)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EntropySeries)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
