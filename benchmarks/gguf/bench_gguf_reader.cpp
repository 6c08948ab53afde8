// GGUF reader cost: the time to open and validate a file against the time to read it.
//
// A 38 MiB model-like file (a 32000-token vocabulary in the metadata, 193 tensors of F32 / Q8_0 / Q4_K) is
// written once to the temp dir. Each benchmark reports, measured in the same run:
//   open_ms  : Reader::open (mmap + full header validation; the data is not touched)
//   read_ms  : read(2) of the whole file into a buffer (page cache warm): the cost of "just reading it"
//   ratio    : open_ms / read_ms
// BM_OpenValidateScales also scans every block scale (ReadOptions::check_scales), which touches the data.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "so8t/gguf/reader.hpp"
#include "so8t/gguf/writer.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchFile {
  std::string path;
  BenchFile() {
    path = (fs::temp_directory_path() / ("so8t_bench_gguf_" + std::to_string(::getpid()) + ".gguf")).string();
    using so8t::quant::Type;
    so8t::gguf::Writer w(path);
    w.add("general.architecture", std::string("llama"));
    std::vector<std::string> tokens;
    for (int i = 0; i < 32000; ++i) tokens.push_back("tok" + std::to_string(i));
    w.add_metadata("tokenizer.ggml.tokens", so8t::gguf::Value::array(tokens));
    w.add_metadata("tokenizer.ggml.scores", so8t::gguf::Value::array(std::vector<float>(32000, -1.0f)));
    struct T {
      std::string name;
      Type type;
      std::vector<std::int64_t> ne;
    };
    std::vector<T> ts;
    ts.push_back({"token_embd.weight", Type::q8_0, {1024, 4096}});
    for (int l = 0; l < 24; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      ts.push_back({p + "attn_norm.weight", Type::f32, {1024}});
      for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output"}) ts.push_back({p + n + ".weight", Type::q4_k, {1024, 256}});
      ts.push_back({p + "ffn_norm.weight", Type::f32, {1024}});
      ts.push_back({p + "ffn_up.weight", Type::q4_k, {1024, 512}});
      ts.push_back({p + "ffn_down.weight", Type::q8_0, {512, 1024}});
    }
    for (const auto& t : ts) w.add_tensor(t.name, t.type, t.ne);
    std::mt19937 rng(1);
    for (const auto& t : ts) {
      std::int64_t rows = 1;
      for (std::size_t i = 1; i < t.ne.size(); ++i) rows *= t.ne[i];
      std::vector<std::uint8_t> bytes(so8t::quant::row_bytes(t.type, t.ne[0]) * static_cast<std::size_t>(rows));
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng() & 0x3B);  // keeps fp16 scales finite
      w.write_tensor(t.name, bytes.data(), bytes.size());
    }
    w.finish();
  }
  ~BenchFile() { std::remove(path.c_str()); }
};

const BenchFile& bench_file() {
  static const BenchFile f;
  return f;
}

double seconds_to_read(const std::string& path, std::vector<char>& buf) {
  const auto t0 = Clock::now();
  const int fd = ::open(path.c_str(), O_RDONLY);
  std::size_t got = 0;
  for (::ssize_t k; (k = ::read(fd, buf.data() + got, buf.size() - got)) > 0;) got += static_cast<std::size_t>(k);
  ::close(fd);
  benchmark::DoNotOptimize(buf.data());
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void run(benchmark::State& state, bool check_scales) {
  const std::string& path = bench_file().path;
  const auto size = static_cast<std::size_t>(fs::file_size(path));
  std::vector<char> buf(size);
  std::vector<double> reads;
  for (int i = 0; i < 7; ++i) reads.push_back(seconds_to_read(path, buf));
  std::sort(reads.begin(), reads.end());
  so8t::gguf::ReadOptions options;
  options.check_scales = check_scales;
  double open_total = 0;
  std::int64_t n = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const auto r = so8t::gguf::Reader::open(path, options);
    benchmark::DoNotOptimize(r.tensors().data());
    open_total += std::chrono::duration<double>(Clock::now() - t0).count();
    ++n;
  }
  const double open_s = open_total / static_cast<double>(n), read_s = reads[reads.size() / 2];
  state.counters["file_MiB"] = static_cast<double>(size) / (1 << 20);
  state.counters["open_ms"] = open_s * 1e3;
  state.counters["read_ms"] = read_s * 1e3;
  state.counters["ratio"] = open_s / read_s;
}

void BM_OpenValidate(benchmark::State& state) { run(state, false); }
void BM_OpenValidateScales(benchmark::State& state) { run(state, true); }

}  // namespace

BENCHMARK(BM_OpenValidate)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OpenValidateScales)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
