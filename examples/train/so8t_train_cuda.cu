// so8t_train_cuda: so8t_train (the same options, loop, log and checkpoints: train_main.hpp) with the model on
// the GPU (so8t::llm::LlamaCuda, so8t/llm/train/llama_cuda.cuh), plus a benchmark mode.
//
//   so8t_train_cuda [--device cuda|cpu] [so8t_train options]
//   so8t_train_cuda --bench [--config small] [--batch 16] [--bench-steps 50] [--tf32] [--peak-tflops X]
//
// --device defaults to cuda when a GPU is present, else cpu (then it is so8t_train). The CUDA trainer is
// so8t::llm::CudaTrainer = BasicTrainer<CudaEngine> (so8t/llm/train/cuda_engine.cuh): the CPU trainer's loop
// (same init, batches, lambda and learning-rate schedules, clipping and AdamW) over LlamaCuda, so its
// checkpoints resume on either device. --bench times forward + backward + clip + AdamW on
// random tokens and prints tokens/s and the model FLOPs utilisation: model FLOPs per token
// = 6 * (parameters - token embedding) + 6 * n_layers * T * dim (causal attention scores and values, forward
// and backward), divided by the peak (--peak-tflops; default 67 TFLOP/s FP32 or 495 TF32, H100 SXM dense).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "so8t/llm/train/cuda_engine.cuh"
#include "train_main.hpp"

// run_training (train_main.hpp) calls param_count(tr) unqualified from a template; for BasicTrainer<CudaEngine>
// argument-dependent lookup searches so8t::llm, so the overload lives there.
namespace so8t::llm {
inline std::size_t param_count(CudaTrainer& tr) { return tr.num_params(); }
}  // namespace so8t::llm

namespace so8t_train {

int run_bench(const Args& a, const LlamaConfig& cfg) {
  // The engine (and init) of a training run, so the bench times the same forward, backward, clip and AdamW calls.
  CudaTrainer tr(cfg, a.opt);
  CudaEngine& e = tr.engine();
  LlamaCuda& m = e.model();
  m.set_tf32(a.tf32);
  const int B = a.opt.batch, T = cfg.ctx;
  std::mt19937_64 rng(a.opt.seed);
  std::vector<std::int32_t> tok(std::size_t(B) * T), tgt(tok.size()), seg(tok.size());
  for (std::size_t i = 0; i < tok.size(); ++i) {
    tok[i] = std::int32_t(rng() % kByteVocab);
    tgt[i] = std::int32_t(rng() % kByteVocab);
    seg[i] = std::int32_t((i % std::size_t(T)) / 64);  // a document boundary every 64 tokens
  }
  auto step = [&] {
    e.forward(tok.data(), tgt.data(), seg.data(), B, T, 0.05);
    e.backward();
    e.clip_grad_norm(1.0);
    e.adamw_step(1e-4);
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up (allocation, cuBLAS heuristics)
  m.synchronize();
  const std::size_t steps = std::max<std::size_t>(a.bench_steps, 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < steps; ++i) step();
  m.synchronize();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tokens = double(steps) * B * T;
  const double tps = tokens / s;
  const double n_matmul = double(m.num_params()) - double(cfg.vocab) * cfg.dim;
  const double flops_per_token = 6.0 * n_matmul + 6.0 * cfg.n_layers * double(T) * cfg.dim;
  const double peak = (a.peak_tflops > 0 ? a.peak_tflops : (a.tf32 ? 495.0 : 67.0)) * 1e12;
  int dev = 0;
  cudaDeviceProp prop{};
  SO8T_CUDA_CHECK(cudaGetDevice(&dev));
  SO8T_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  std::printf("bench: %s, config %s (d %d, layers %d, heads %d/%d, ffn %d, ctx %d, gates %d), %zu params, batch %d,"
              " %s\n", prop.name, a.config.c_str(), cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.ffn,
              cfg.ctx, cfg.gate_stack, m.num_params(), B, a.tf32 ? "TF32" : "FP32");
  std::printf("bench: %zu steps in %.3f s: %.1f ms/step, %.0f tokens/s, %.2f model GFLOP/token, "
              "%.1f TFLOP/s, MFU %.2f%% of %.0f TFLOP/s\n", steps, s, 1e3 * s / double(steps), tps,
              flops_per_token * 1e-9, tps * flops_per_token * 1e-12, 100.0 * tps * flops_per_token / peak,
              peak * 1e-12);
  return 0;
}

}  // namespace so8t_train

int main(int argc, char** argv) try {
  using namespace so8t_train;
  Args a;
  const int rc = parse_args(argc, argv, a, true);
  if (rc >= 0) return rc;
  const bool has_gpu = so8t::cuda::device_count() > 0;
  const std::string device = a.device.empty() ? (has_gpu ? "cuda" : "cpu") : a.device;
  if (device != "cuda" && device != "cpu") {
    std::fprintf(stderr, "so8t_train_cuda: --device %s (cuda or cpu)\n", device.c_str());
    return 2;
  }
  if (!a.bench) check_files(a);  // before any work
  const LlamaConfig cfg = make_config(a);
  if (a.bench) {
    if (device != "cuda" || !has_gpu) {
      std::fprintf(stderr, "so8t_train_cuda: --bench needs a CUDA device\n");
      return 1;
    }
    return run_bench(a, cfg);
  }
  const SplitCorpus split = load_split(a, "so8t_train_cuda");
  if (device == "cpu") {
    Trainer tr(cfg, a.opt);
    return run_training(tr, a, cfg, split, "so8t_train_cuda");
  }
  CudaTrainer tr(cfg, a.opt);
  return run_training(tr, a, cfg, split, "so8t_train_cuda");
} catch (const std::exception& e) {
  std::fprintf(stderr, "\nso8t_train_cuda: error: %s\n", e.what());
  return 1;
}
