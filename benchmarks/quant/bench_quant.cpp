// Quantize and dequantize throughput (float32 bytes per second) against memcpy of the same float32 buffer,
// measured in the same run. Counter "vs_memcpy" = our bytes/s divided by memcpy's bytes/s.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "so8t/quant/quantize.hpp"

namespace {

using so8t::quant::Type;

constexpr std::int64_t kRows = 64, kCols = 4096;  // 1 MiB of float32: cache-resident on most CPUs

const std::vector<float>& input() {
  static const std::vector<float> x = [] {
    std::vector<float> v(kRows * kCols);
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& f : v) f = nd(rng);
    return v;
  }();
  return x;
}

// memcpy's float32 bytes per second, measured by the first benchmark of this run (BM_memcpy).
double& memcpy_bytes_per_s() {
  static double v = 0.0;
  return v;
}

using Clock = std::chrono::steady_clock;

/// Sets bytes/s and, once memcpy has run, the ratio to memcpy's bandwidth.
void report(benchmark::State& state, Clock::time_point t0, Clock::time_point t1, double bytes_per_iter) {
  const double s = std::chrono::duration<double>(t1 - t0).count();
  const double rate = s > 0.0 ? double(state.iterations()) * bytes_per_iter / s : 0.0;
  state.SetBytesProcessed(std::int64_t(double(state.iterations()) * bytes_per_iter));
  if (memcpy_bytes_per_s() > 0.0) state.counters["vs_memcpy"] = rate / memcpy_bytes_per_s();
}

void BM_memcpy(benchmark::State& state) {
  const auto& x = input();
  std::vector<float> y(x.size());
  const auto t0 = Clock::now();
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), x.size() * 4);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const auto t1 = Clock::now();
  const double s = std::chrono::duration<double>(t1 - t0).count();
  if (s > 0.0) memcpy_bytes_per_s() = double(state.iterations()) * double(x.size()) * 4.0 / s;
  report(state, t0, t1, double(x.size()) * 4.0);
}

template <bool Dequantize>
void BM_quant(benchmark::State& state, Type t) {
  const auto& x = input();
  std::vector<std::uint8_t> q(so8t::quant::row_bytes(t, kCols) * kRows);
  std::vector<float> y(x.size());
  so8t::quant::quantize(t, x.data(), q.data(), kRows, kCols);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    if (Dequantize) so8t::quant::dequantize(t, q.data(), y.data(), kRows, kCols);
    else so8t::quant::quantize(t, x.data(), q.data(), kRows, kCols);
    benchmark::ClobberMemory();
  }
  report(state, t0, Clock::now(), double(x.size()) * 4.0);
}

// Reference path (no xsimd) for the two types that have a fast one, to show the speed-up.
template <bool Dequantize>
void BM_ref(benchmark::State& state, Type t) {
  const auto& x = input();
  const std::int64_t n = kRows * kCols;
  std::vector<std::uint8_t> q(so8t::quant::row_bytes(t, kCols) * kRows);
  std::vector<float> y(x.size());
  so8t::quant::quantize(t, x.data(), q.data(), kRows, kCols);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    if (t == Type::q8_0) {
      auto* b = reinterpret_cast<so8t::quant::BlockQ8_0*>(q.data());
      if (Dequantize) so8t::quant::dequantize_row_q8_0_ref(b, y.data(), n / 32);
      else so8t::quant::quantize_row_q8_0_ref(x.data(), b, n / 32);
    } else {
      auto* b = reinterpret_cast<so8t::quant::BlockQ4K*>(q.data());
      if (Dequantize) so8t::quant::dequantize_row_q4_k_ref(b, y.data(), n / 256);
      else so8t::quant::quantize_row_q4_k_ref(x.data(), b, n / 256);
    }
    benchmark::ClobberMemory();
  }
  report(state, t0, Clock::now(), double(x.size()) * 4.0);
}

void register_all() {
  benchmark::RegisterBenchmark("memcpy_f32", BM_memcpy);
  const Type types[] = {Type::q8_0, Type::q4_0, Type::q4_1, Type::q5_0, Type::q5_1, Type::q4_k,
                        Type::q5_k, Type::q6_k, Type::q8_k, Type::f16, Type::bf16};
  for (Type t : types) {
    benchmark::RegisterBenchmark((std::string("quantize/") + so8t::quant::type_name(t)).c_str(), BM_quant<false>, t);
    benchmark::RegisterBenchmark((std::string("dequantize/") + so8t::quant::type_name(t)).c_str(), BM_quant<true>, t);
  }
  for (Type t : {Type::q8_0, Type::q4_k}) {
    benchmark::RegisterBenchmark((std::string("quantize_ref/") + so8t::quant::type_name(t)).c_str(), BM_ref<false>, t);
    benchmark::RegisterBenchmark((std::string("dequantize_ref/") + so8t::quant::type_name(t)).c_str(), BM_ref<true>, t);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
