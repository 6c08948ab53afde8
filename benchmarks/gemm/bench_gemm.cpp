// CPU int8 GEMM (LLM.int8) and quantized-weight matmul against the best fp32 GEMM, measured in one run.
//
// Shapes: Y[M, 4096] = X[M, 4096] . W[4096, 4096]^T, M in {1, 16, 256}. Baselines: Eigen (this TU is
// built with -O3 -mavx2 -mfma, Eigen's fastest setting on the project's Zen 4, see the spec §3.3; X both
// row-major and column-major, the best is kept) and OpenBLAS (cblas_sgemm; cblas_sgemv at M = 1). All
// single-threaded (OpenBLAS is set to 1 thread) so the ratios compare kernels, not thread counts.
// For M <= 16 every candidate cycles through several weight copies totalling >= 64 MiB, so weights come
// from DRAM as in a real decode step (one 16 MiB int8 matrix would otherwise sit in L3).
//
// After the runs, main() prints a ratio table and writes it as JSON (--ratios_out=FILE, default
// bench_gemm_ratios.json); --benchmark_out=FILE still writes Google Benchmark's own JSON.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <Eigen/Core>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "so8t/gemm/llm_int8.hpp"
#include "so8t/gemm/qgemm.hpp"

extern "C" void openblas_set_num_threads(int);

namespace {

constexpr std::int64_t kN = 4096, kK = 4096;
constexpr std::int64_t kCopiesBytes = 64ll << 20;

using so8t::gemm::Int8Kernel;

const std::vector<float>& weight_f32() {
  static const std::vector<float> w = [] {
    std::vector<float> v(static_cast<std::size_t>(kN * kK));
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    for (auto& f : v) f = nd(rng);
    return v;
  }();
  return w;
}

std::vector<float> activations(std::int64_t m) {
  std::vector<float> x(static_cast<std::size_t>(m * kK));
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& f : x) f = nd(rng);
  return x;
}

/// How many weight copies to cycle through so the set does not fit in cache (M <= 16 only).
int copies_for(std::int64_t m, std::size_t bytes_per_copy) {
  if (m > 16) return 1;
  return static_cast<int>(std::max<std::int64_t>(1, (kCopiesBytes + std::int64_t(bytes_per_copy) - 1) / std::int64_t(bytes_per_copy)));
}

const std::vector<so8t::gemm::Int8Linear>& int8_layers(int copies) {
  static std::vector<so8t::gemm::Int8Linear> ls;
  if (ls.empty()) ls.push_back(so8t::gemm::Int8Linear::from_float(weight_f32().data(), kN, kK));
  while (static_cast<int>(ls.size()) < copies) ls.push_back(ls.front());
  return ls;
}

const std::vector<std::vector<float>>& f32_copies(int copies) {
  static std::vector<std::vector<float>> ws;
  while (static_cast<int>(ws.size()) < copies) ws.push_back(weight_f32());
  return ws;
}

/// One benchmark's M, activations, output and a cycle over `copies` weight copies.
struct RunInputs {
  std::int64_t m;
  int copies;
  std::vector<float> x, y;
  int i = 0;
  RunInputs(const benchmark::State& st, std::size_t bytes_per_copy)
      : m(st.range(0)), copies(copies_for(m, bytes_per_copy)), x(activations(m)), y(static_cast<std::size_t>(m * kN)) {}
  std::size_t next() { return static_cast<std::size_t>(i++ % copies); }
};

void set_flops(benchmark::State& st, std::int64_t m) {
  st.counters["GOPS"] = benchmark::Counter(2.0 * double(m) * kN * kK * 1e-9 * double(st.iterations()),
                                           benchmark::Counter::kIsRate);
}

// The whole LLM.int8 layer: outlier scan, row quantization, int8 GEMM, fused epilogue.
void BM_int8_layer(benchmark::State& st, Int8Kernel kern) {
  const std::int64_t m = st.range(0);
  if (!so8t::gemm::cpu_supports(kern)) {
    st.SkipWithError("kernel not supported by this CPU");
    return;
  }
  RunInputs in(st, 2 * kN * kK);
  const auto& ls = int8_layers(in.copies);
  so8t::gemm::Int8Options opt;
  opt.kernel = kern;
  for (auto _ : st) {
    ls[in.next()].forward(in.x.data(), m, in.y.data(), opt);
    benchmark::DoNotOptimize(in.y.data());
  }
  set_flops(st, m);
}

// The int8 GEMM with its fused epilogue only (activations already quantized).
void BM_int8_gemm(benchmark::State& st) {
  RunInputs in(st, 2 * kN * kK);
  const std::int64_t m = in.m;
  const auto& ls = int8_layers(in.copies);
  const auto a = so8t::gemm::quantize_activations_int8(in.x.data(), m, kK, kK, 0.0f);
  std::vector<float>& y = in.y;
  for (auto _ : st) {
    const auto& l = ls[in.next()];
    so8t::gemm::gemm_s8s8_tiles(Int8Kernel::automatic, a.q.data(), kK, m, l.weight().q.data(), kK, l.packed(),
                                [&](std::int64_t m0, int rows, std::int64_t n0, std::int64_t cols,
                                    const std::int32_t* t, std::int64_t ldt) {
                                  for (int r = 0; r < rows; ++r)
                                    for (std::int64_t q = 0; q < cols; ++q)
                                      y[static_cast<std::size_t>((m0 + r) * kN + n0 + q)] = float(t[r * ldt + q]);
                                });
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(st, m);
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void BM_eigen_rowmajor(benchmark::State& st) {
  RunInputs in(st, 4 * kN * kK);
  const auto& ws = f32_copies(in.copies);
  for (auto _ : st) {
    so8t::gemm::gemm_f32(in.x.data(), in.m, kK, ws[in.next()].data(), kN, in.y.data());
    benchmark::DoNotOptimize(in.y.data());
  }
  set_flops(st, in.m);
}

// Column-major X and Y (W row-major [N,K] = column-major K x N): Eigen's fastest form at small M.
void BM_eigen_colmajor(benchmark::State& st) {
  const std::int64_t m = st.range(0);
  const int c = copies_for(m, 4 * kN * kK);
  const auto& ws = f32_copies(c);
  const auto xr = activations(m);
  Eigen::MatrixXf X = Eigen::Map<const RowMat>(xr.data(), m, kK);
  Eigen::MatrixXf Y(m, kN);
  int i = 0;
  for (auto _ : st) {
    Eigen::Map<const Eigen::MatrixXf> Wt(ws[static_cast<std::size_t>(i++ % c)].data(), kK, kN);
    Y.noalias() = X * Wt;
    benchmark::DoNotOptimize(Y.data());
  }
  set_flops(st, m);
}

void BM_openblas(benchmark::State& st) {
  openblas_set_num_threads(1);
  RunInputs in(st, 4 * kN * kK);
  const std::int64_t m = in.m;
  const auto& ws = f32_copies(in.copies);
  const std::vector<float>& x = in.x;
  std::vector<float>& y = in.y;
  for (auto _ : st) {
    const float* w = ws[in.next()].data();
    if (m == 1) cblas_sgemv(CblasRowMajor, CblasNoTrans, kN, kK, 1.0f, w, kK, x.data(), 1, 0.0f, y.data(), 1);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), kN, kK, 1.0f, x.data(), kK, w, kK, 0.0f, y.data(), kN);
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(st, m);
}

// Quantized weights: on the fly (crossover forced high) and dequantize-then-GEMM (crossover 0).
void BM_qgemm(benchmark::State& st, so8t::quant::Type t, bool on_the_fly) {
  const std::int64_t m = st.range(0);
  static std::map<int, std::vector<std::vector<unsigned char>>> cache;
  auto& qs = cache[int(t)];
  const std::size_t bytes = so8t::quant::row_bytes(t, kK) * kN;
  const int c = on_the_fly ? copies_for(m, bytes) : 1;
  if (qs.empty()) {
    qs.emplace_back(bytes);
    so8t::quant::quantize(t, weight_f32().data(), qs[0].data(), kN, kK);
  }
  while (static_cast<int>(qs.size()) < c) qs.push_back(qs.front());
  const auto x = activations(m);
  std::vector<float> y(static_cast<std::size_t>(m * kN));
  so8t::gemm::QgemmOptions opt;
  opt.crossover_m = on_the_fly ? 1 << 30 : 0;
  int i = 0;
  for (auto _ : st) {
    so8t::gemm::qgemm(t, qs[static_cast<std::size_t>(i++ % c)].data(), kN, kK, x.data(), m, y.data(), opt);
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(st, m);
}

void ms(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMillisecond)->MinTime(0.3)->UseRealTime();
}

BENCHMARK_CAPTURE(BM_int8_layer, vnni, Int8Kernel::avx512vnni)->Arg(1)->Arg(16)->Arg(256)->Apply(ms);
BENCHMARK_CAPTURE(BM_int8_layer, avx2, Int8Kernel::avx2)->Arg(1)->Arg(16)->Arg(256)->Apply(ms);
BENCHMARK(BM_int8_gemm)->Arg(1)->Arg(16)->Arg(256)->Apply(ms);
BENCHMARK(BM_eigen_rowmajor)->Arg(1)->Arg(16)->Arg(256)->Apply(ms);
BENCHMARK(BM_eigen_colmajor)->Arg(1)->Arg(16)->Arg(256)->Apply(ms);
BENCHMARK(BM_openblas)->Arg(1)->Arg(16)->Arg(256)->Apply(ms);
BENCHMARK_CAPTURE(BM_qgemm, q8_0_fly, so8t::quant::Type::q8_0, true)->Arg(1)->Arg(4)->Arg(16)->Arg(32)->Apply(ms);
BENCHMARK_CAPTURE(BM_qgemm, q8_0_deq_gemm, so8t::quant::Type::q8_0, false)->Arg(4)->Arg(16)->Arg(32)->Apply(ms);
BENCHMARK_CAPTURE(BM_qgemm, q4_k_fly, so8t::quant::Type::q4_k, true)->Arg(1)->Arg(4)->Arg(16)->Arg(32)->Apply(ms);
BENCHMARK_CAPTURE(BM_qgemm, q4_k_deq_gemm, so8t::quant::Type::q4_k, false)->Arg(4)->Arg(16)->Arg(32)->Apply(ms);

/// Keeps every run's time (ms per iteration) by name, and prints as the console reporter does.
class Collector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> ms_by_name;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs)
      if (!r.error_occurred && r.run_type == Run::RT_Iteration) ms_by_name[r.benchmark_name()] = r.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
};

double get(const std::map<std::string, double>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0.0 : it->second;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ratios_out = "bench_gemm_ratios.json";
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--ratios_out=", 13) == 0) ratios_out = argv[i] + 13;
    else args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  Collector rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  const auto& t = rep.ms_by_name;
  std::printf("\nCPU int8 vs best fp32, N = K = 4096, single thread; automatic int8 kernel = %s\n",
              so8t::gemm::kernel_name(so8t::gemm::best_int8_kernel()));
  std::printf("%5s %12s %12s %12s %12s %10s %10s %10s %10s\n", "M", "fp32 best ms", "int8 layer", "int8 gemm",
              "avx2 layer", "layer x", "gemm x", "avx2 x", "vs sgemv");
  std::string json = "{\n  \"cpu_int8_kernel\": \"" + std::string(so8t::gemm::kernel_name(so8t::gemm::best_int8_kernel())) +
                     "\",\n  \"shapes\": [\n";
  bool first = true;
  for (int m : {1, 16, 256}) {
    const std::string s = "/" + std::to_string(m) + "/min_time:0.300/real_time";
    const double eig_r = get(t, "BM_eigen_rowmajor" + s), eig_c = get(t, "BM_eigen_colmajor" + s),
                 blas = get(t, "BM_openblas" + s);
    double best = 0;
    for (double v : {eig_r, eig_c, blas})
      if (v > 0 && (best == 0 || v < best)) best = v;
    const double layer = get(t, "BM_int8_layer/vnni" + s), gemm = get(t, "BM_int8_gemm" + s),
                 avx2 = get(t, "BM_int8_layer/avx2" + s);
    auto ratio = [](double base, double v) { return v > 0 ? base / v : 0.0; };
    std::printf("%5d %12.3f %12.3f %12.3f %12.3f %10.2f %10.2f %10.2f %10.2f\n", m, best, layer, gemm, avx2,
                ratio(best, layer), ratio(best, gemm), ratio(best, avx2), ratio(blas, layer));
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s    {\"M\": %d, \"N\": %lld, \"K\": %lld, \"eigen_rowmajor_ms\": %.4f, \"eigen_colmajor_ms\": %.4f, "
                  "\"openblas_ms\": %.4f, \"int8_layer_ms\": %.4f, \"int8_gemm_ms\": %.4f, \"avx2_layer_ms\": %.4f, "
                  "\"int8_layer_vs_best_fp32\": %.3f, \"int8_gemm_vs_best_fp32\": %.3f}",
                  first ? "" : ",\n", m, (long long)kN, (long long)kK, eig_r, eig_c, blas, layer, gemm, avx2,
                  ratio(best, layer), ratio(best, gemm));
    json += buf;
    first = false;
  }
  json += "\n  ],\n  \"qgemm\": [\n";
  std::printf("\nQuantized weights (on the fly vs dequantize+GEMM), ms; ratio = best fp32 at the same M / on the fly\n");
  std::printf("%5s %10s %10s %10s %10s\n", "M", "q8_0 fly", "q8_0 deq", "q4_K fly", "q4_K deq");
  first = true;
  for (int m : {1, 4, 16, 32}) {
    const std::string s = "/" + std::to_string(m) + "/min_time:0.300/real_time";
    const double a = get(t, "BM_qgemm/q8_0_fly" + s), b = get(t, "BM_qgemm/q8_0_deq_gemm" + s),
                 c = get(t, "BM_qgemm/q4_k_fly" + s), d = get(t, "BM_qgemm/q4_k_deq_gemm" + s);
    std::printf("%5d %10.3f %10.3f %10.3f %10.3f\n", m, a, b, c, d);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s    {\"M\": %d, \"q8_0_fly_ms\": %.4f, \"q8_0_deq_gemm_ms\": %.4f, \"q4_k_fly_ms\": %.4f, "
                  "\"q4_k_deq_gemm_ms\": %.4f}",
                  first ? "" : ",\n", m, a, b, c, d);
    json += buf;
    first = false;
  }
  json += "\n  ]\n}\n";
  std::ofstream(ratios_out) << json;
  std::printf("\nratios written to %s\n", ratios_out.c_str());
  benchmark::Shutdown();
  return 0;
}
