// so8t_train_cuda: so8t_train (the same options, loop, log and checkpoints: train_main.hpp) with the model on
// the GPU (so8t::llm::LlamaCuda, kernels/so8t/kernels/llama_cuda.cuh), plus a benchmark mode.
//
//   so8t_train_cuda [--device cuda|cpu] [so8t_train options]
//   so8t_train_cuda --bench [--config small] [--batch 16] [--bench-steps 50] [--tf32] [--peak-tflops X]
//
// --device defaults to cuda when a GPU is present, else cpu (then it is so8t_train). The CUDA trainer
// follows so8t::llm::Trainer step by step (same init, batches, lambda and learning-rate schedules, clipping
// and AdamW), so its checkpoints resume on either device. --bench times forward + backward + clip + AdamW on
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

#include "so8t/llm/train/llama_cuda.cuh"
#include "train_main.hpp"

namespace so8t_train {

/// so8t::llm::Trainer with the model on the GPU.
class CudaTrainer {
 public:
  CudaTrainer(const LlamaConfig& cfg, const TrainOptions& opt) : opt_(opt), model_(cfg), rng_(opt.seed) {
    std::vector<float> p(model_.num_params());
    llama_init(cfg, model_.layout(), p.data(), opt.seed, opt.gate_init_std);
    model_.upload_params(p.data(), p.size());
  }

  LlamaCuda& model() { return model_; }
  const LlamaConfig& config() const { return model_.config(); }
  std::size_t step() const { return step_; }

  double lambda_at(std::size_t step) const {
    if (!opt_.pet) return 0.0;
    return pet_schedule(std::min(step, opt_.steps), std::max<std::size_t>(opt_.steps, 1), opt_.pet_schedule);
  }

  StepReport train_step(const Corpus& train) {
    const Batch b = random_batch(train, opt_.batch, config().ctx, rng_);
    StepReport r;
    r.loss = model_.forward(b.tokens.data(), b.targets.data(), b.segments.data(), b.B, b.T, lambda_at(step_));
    model_.backward();
    r.grad_norm = model_.clip_grad_norm(opt_.clip);
    LrSchedule s{opt_.lr, opt_.min_lr, opt_.warmup, opt_.steps};
    r.lr = s.at(step_);
    model_.adamw_step(r.lr, opt_.adamw);
    r.step = ++step_;
    return r;
  }

  double evaluate(const Corpus& c, std::size_t max_windows) {
    double sum = 0.0;
    std::size_t n = 0;
    for (const Batch& b : eval_batches(c, opt_.batch, config().ctx, max_windows)) {
      const LossParts l = model_.forward(b.tokens.data(), b.targets.data(), b.segments.data(), b.B, b.T, 0.0);
      sum += l.ce * double(b.B) * b.T;
      n += std::size_t(b.B) * b.T;
    }
    return n ? sum / double(n) : 0.0;
  }

  void save(const std::string& path) {
    std::vector<float> p(model_.num_params());
    model_.download_params(p.data(), p.size());
    AdamW<float> adam(model_.layout(), opt_.adamw);
    model_.download_adam_state(adam.m, adam.v);
    adam.t = model_.adam_steps();
    TrainState st;
    st.step = step_;
    st.rng_state = rng_.state;
    st.seed = opt_.seed;
    st.adam_t = adam.t;
    st.run = opt_.json();
    save_checkpoint(path, config(), p.data(), &st, &adam);
  }

  void resume(const std::string& path) {
    Checkpoint ck = load_checkpoint(path);
    const LlamaConfig& a = ck.cfg;
    const LlamaConfig& b = config();
    if (a.dim != b.dim || a.n_layers != b.n_layers || a.n_heads != b.n_heads || a.n_kv_heads != b.n_kv_heads ||
        a.ffn != b.ffn || a.ctx != b.ctx || a.vocab != b.vocab || a.gate_stack != b.gate_stack)
      throw so8t::InvalidArgument("so8t_train_cuda: '" + path + "' holds a different model config");
    if (!ck.has_train_state)
      throw so8t::InvalidArgument("so8t_train_cuda: '" + path + "' has no training state (model-only file)");
    model_.upload_params(ck.params.data(), ck.params.size());
    model_.set_adam_state(ck.adam_m, ck.adam_v, std::size_t(ck.state.adam_t), opt_.adamw);
    step_ = std::size_t(ck.state.step);
    rng_.state = ck.state.rng_state;
  }

 private:
  TrainOptions opt_;
  LlamaCuda model_;
  Rng rng_;
  std::size_t step_ = 0;
};

inline std::size_t param_count(CudaTrainer& tr) { return tr.model().num_params(); }

int run_bench(const Args& a, const LlamaConfig& cfg) {
  CudaTrainer tr(cfg, a.opt);
  LlamaCuda& m = tr.model();
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
    m.forward(tok.data(), tgt.data(), seg.data(), B, T, 0.05);
    m.backward();
    m.clip_grad_norm(1.0);
    m.adamw_step(1e-4, a.opt.adamw);
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
