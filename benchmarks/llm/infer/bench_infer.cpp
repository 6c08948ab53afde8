// bench_infer: single-thread decode speed of so8t_infer's CPU path on the llama.cpp reference models
// (tests/data/llama: the same 1.3 M-parameter llama as f32, q8_0, q6_K, q4_K, q4_0), for comparison
// with llama.cpp on the same files (llama-bench -t 1 -n 128 -p 0).
//
// decode/<type>: 128 tokens evaluated one at a time from an empty KV cache (f16 cache, activations quantized
// like llama.cpp), tokens/s. prompt/<type>: the 256-token text in one eval. Baseline, same run: eigen_f32/<type>:
// the same weights dequantized to fp32 and multiplied with Eigen matrix-vector products (-O3 -mavx2 -mfma),
// all 15 matrices per token and nothing else (no attention, norms or activation quantization): a floor for a
// decode step that streams fp32 weights. The ratio table at the end is so8t decode tokens/s over that floor.
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/quant/quantize.hpp"

namespace {

const std::string kDir = std::string(SO8T_TEST_DATA_DIR) + "/llama/";
const char* kTypes[] = {"f32", "q8_0", "q6_k", "q4_k", "q4_0"};
std::map<std::string, double> g_tps;  // name -> tokens/s of the last run

std::vector<std::int32_t> reference_tokens() {
  std::vector<std::int32_t> t(256);
  std::ifstream f(kDir + "tiny-llama-spm-f32.tokens.i32", std::ios::binary);
  f.read(reinterpret_cast<char*>(t.data()), 1024);
  if (!f) throw std::runtime_error("cannot read " + kDir + "tiny-llama-spm-f32.tokens.i32");
  return t;
}

void record(benchmark::State& st, const std::string& name, double tokens, double seconds) {
  st.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  g_tps[name] = tokens / seconds;
}

void BM_decode(benchmark::State& st, const std::string& type) {
  const auto m = so8t::llm::LlamaModel::open(kDir + "tiny-llama-spm-" + type + ".gguf");
  const auto tokens = reference_tokens();
  so8t::llm::LlamaInfer inf(m);
  std::vector<float> logits(std::size_t(m.hparams().vocab));
  double n = 0, secs = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    inf.reset();
    for (int i = 0; i < 128; ++i) inf.eval(&tokens[std::size_t(i)], 1, logits.data());
    benchmark::DoNotOptimize(logits.data());
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n += 128;
  }
  record(st, "decode/" + type, n, secs);
}

void BM_prompt(benchmark::State& st, const std::string& type) {
  const auto m = so8t::llm::LlamaModel::open(kDir + "tiny-llama-spm-" + type + ".gguf");
  const auto tokens = reference_tokens();
  so8t::llm::LlamaInfer inf(m);
  std::vector<float> logits(tokens.size() * std::size_t(m.hparams().vocab));
  double n = 0, secs = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    inf.reset();
    inf.eval(tokens.data(), int(tokens.size()), logits.data());
    benchmark::DoNotOptimize(logits.data());
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n += double(tokens.size());
  }
  record(st, "prompt/" + type, n, secs);
}

void BM_eigen_f32(benchmark::State& st, const std::string& type) {
  using RM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto m = so8t::llm::LlamaModel::open(kDir + "tiny-llama-spm-" + type + ".gguf");
  std::vector<RM> w;
  for (const auto* v : m.matrices()) {
    RM a(v->rows, v->cols);
    so8t::quant::dequantize(v->type, v->data, a.data(), v->rows, v->cols);
    w.push_back(std::move(a));
  }
  Eigen::VectorXf x = Eigen::VectorXf::Random(512), y(512);
  double n = 0, secs = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 128; ++i)
      for (const RM& a : w) {
        y.head(a.rows()).noalias() = a * x.head(a.cols());
        benchmark::DoNotOptimize(y.data());
      }
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n += 128;
  }
  record(st, "eigen_f32/" + type, n, secs);
}

}  // namespace

int main(int argc, char** argv) {
  {
    std::ifstream probe(kDir + "tiny-llama-spm-f32.gguf");
    if (!probe) {
      std::fprintf(stderr, "bench_infer: %s not found\n", kDir.c_str());
      return 1;
    }
  }
  for (const char* t : kTypes) {
    benchmark::RegisterBenchmark((std::string("decode/") + t).c_str(), BM_decode, std::string(t))->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("eigen_f32/") + t).c_str(), BM_eigen_f32, std::string(t))->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("prompt/") + t).c_str(), BM_prompt, std::string(t))->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  std::printf("\n%-6s %14s %16s %18s %14s\n", "type", "decode tok/s", "prompt tok/s", "eigen f32 GEMVs/s", "decode/floor");
  for (const char* t : kTypes) {
    const std::string s(t);
    if (!g_tps.count("decode/" + s) || !g_tps.count("eigen_f32/" + s)) continue;
    std::printf("%-6s %14.0f %16.0f %18.0f %14.2f\n", t, g_tps["decode/" + s], g_tps["prompt/" + s], g_tps["eigen_f32/" + s],
                g_tps["decode/" + s] / g_tps["eigen_f32/" + s]);
  }
  benchmark::Shutdown();
  return 0;
}
