// train_main.hpp: the option parsing and the training loop of so8t_train (CPU, so8t_train.cpp) and
// so8t_train_cuda (so8t_train_cuda.cu), shared so that both binaries behave the same. The loop is a template
// over the trainer: so8t::llm::Trainer (CPU) or CudaTrainer (so8t_train_cuda.cu), which offer step(),
// train_step(), evaluate(), save(), resume() and param_count(trainer).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <iostream>
#include <string>

#include "so8t/llm/io/cli.hpp"
#include "so8t/llm/io/file_guard.hpp"
#include "so8t/llm/train/trainer.hpp"

namespace so8t_train {

using namespace so8t::llm;

struct Args {
  std::string config = "tiny", data = "kjv", docs = "line", out = "so8t_tiny.gguf", resume, log = "so8t_train.jsonl";
  TrainOptions opt;
  int gates = 1, kv_heads = 0;
  std::size_t eval_every = 200, eval_windows = 256;
  // so8t_train_cuda only
  std::string device;             ///< "", "cuda" or "cpu"
  bool bench = false;             ///< --bench: timed steps on random tokens, no data, no checkpoint
  std::size_t bench_steps = 50;
  bool tf32 = false;
  double peak_tflops = 0.0;       ///< 0: the default for the math mode
};

/// Parses argv into a; returns -1 to go on, otherwise the exit code (0 after --help, 2 for a usage error).
inline int parse_args(int argc, char** argv, Args& a, bool cuda) {
  const char* prog = cuda ? "so8t_train_cuda" : "so8t_train";
  TrainOptions& opt = a.opt;
  CLI::App app(cuda ? "Trains the tiny gated llama (SO(8) gates) on the GPU or the CPU."
                    : "Trains the tiny gated llama (SO(8) gates) on the CPU.",
               prog);
  cli::setup(app);
  app.add_option("--config", a.config, "model preset")
      ->check(CLI::IsMember({"tiny", "tiny256", "small", "ci", "micro"}))->capture_default_str();
  app.add_option("--data", a.data, "kjv (the bible-kjv package via `bible`) or a text file")->capture_default_str();
  app.add_option("--docs", a.docs, "document split for PET masking")
      ->check(CLI::IsMember({"line", "blank", "none"}))->capture_default_str();
  app.add_option("--steps", opt.steps, "optimizer steps")->transform(cli::at_least<std::size_t>(0))->capture_default_str();
  app.add_option("--batch", opt.batch, "sequences per step")->transform(cli::at_least(1))->capture_default_str();
  app.add_option("--lr", opt.lr, "peak learning rate")->transform(cli::above(0.0, 1e6))->capture_default_str();
  CLI::Option* min_lr = app.add_option("--min-lr", opt.min_lr, "final learning rate (default lr/10)")
      ->transform(cli::in_range(0.0, 1e6));
  app.add_option("--warmup", opt.warmup, "warm-up steps")->transform(cli::at_least<std::size_t>(0))->capture_default_str();
  app.add_option("--clip", opt.clip, "gradient-norm clip (0: off)")->transform(cli::in_range(0.0, 1e30))->capture_default_str();
  app.add_option("--weight-decay", opt.adamw.weight_decay, "AdamW weight decay")
      ->transform(cli::in_range(0.0, 1e6))->capture_default_str();
  app.add_option("--gates", a.gates, "0, 1 (R_safe) or 2 (R_cmd after R_safe)")
      ->transform(cli::in_range(0, 2))->capture_default_str();
  app.add_option("--kv-heads", a.kv_heads, "grouped-query attention heads (0: the config's)")
      ->transform(cli::at_least(0))->capture_default_str();
  bool no_pet = false;
  app.add_flag("--no-pet", no_pet, "lambda = 0 (plain cross-entropy)");
  std::string lambda;
  app.add_option("--lambda", lambda, "PET weights of the explore/transition/stabilize phases (default 0.01,0.05,0.1)")
      ->type_name("A,B,C")
      ->check([](const std::string& v) -> std::string {  // three numbers, nothing else
        const auto parts = CLI::detail::split(v, ',');
        double x = 0;
        if (parts.size() != 3) return "'" + v + "' is not three numbers A,B,C";
        for (const auto& p : parts)
          if (!cli::detail::parse_number(p, x).empty()) return "'" + v + "' is not three numbers A,B,C";
        return "";
      });
  app.add_option("--seed", opt.seed, "random seed")->transform(cli::at_least<std::uint64_t>(0))->capture_default_str();
  app.add_option("--eval-every", a.eval_every, "validation every N steps (0: only at the end)")
      ->transform(cli::at_least<std::size_t>(0))->capture_default_str();
  app.add_option("--eval-windows", a.eval_windows, "validation windows per evaluation")
      ->transform(cli::at_least<std::size_t>(1))->capture_default_str();
  app.add_option("--out", a.out, "checkpoint, written at every eval and at the end")->capture_default_str();
  app.add_option("--resume", a.resume, "continue from a checkpoint");
  app.add_option("--log", a.log, "JSON-lines log")->capture_default_str();
  if (cuda) {
    app.add_option("--device", a.device, "cuda (default when a GPU is present) or cpu")
        ->check(CLI::IsMember({"cuda", "cpu"}));
    app.add_flag("--bench", a.bench, "time --bench-steps steps on random tokens; prints tokens/s and model FLOPs "
                                     "utilisation (no data, no checkpoint)");
    app.add_option("--bench-steps", a.bench_steps, "steps of --bench")
        ->transform(cli::at_least<std::size_t>(0))->capture_default_str();
    app.add_flag("--tf32", a.tf32, "allow TF32 tensor cores in the cuBLAS products (default: FP32)");
    app.add_option("--peak-tflops", a.peak_tflops, "peak for the MFU figure (default 67 FP32, 495 TF32: H100 SXM dense)")
        ->transform(cli::at_least(0.0));
  }
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  if (no_pet) opt.pet = false;
  if (!lambda.empty()) {
    const auto parts = CLI::detail::split(lambda, ',');
    cli::detail::parse_number(parts[0], opt.pet_schedule.lambda_explore);
    cli::detail::parse_number(parts[1], opt.pet_schedule.lambda_transition);
    cli::detail::parse_number(parts[2], opt.pet_schedule.lambda_stabilize);
  }
  if (min_lr->count() == 0) opt.min_lr = opt.lr / 10;
  if (opt.min_lr > opt.lr) {
    std::fprintf(stderr, "%s: --min-lr %g is above --lr %g (see %s --help)\n", prog, opt.min_lr, opt.lr, prog);
    return cli::kExitUsage;
  }
  return -1;
}

/// Before any work: --out and --log never replace --data or each other (--out may be the --resume
/// checkpoint: a resumed run continues it), both can be written, and the --resume checkpoint reads (its
/// header checked against the file) before the text is loaded.
inline void check_files(const Args& a) {
  const std::string data = a.data == "kjv" ? "" : a.data;
  io::check_distinct({{"--data", data}}, {{"--out", a.out}, {"--log", a.log}});
  io::check_distinct({{"--resume", a.resume}}, {{"--log", a.log}});
  io::check_writable("--out", a.out);
  io::check_writable("--log", a.log);
  if (!a.resume.empty()) (void)load_checkpoint(a.resume);
}

/// Opens the JSON-lines log: truncated for a new run; for --resume, appended to after cutting a last line
/// that a killed run left unfinished (everything after the last newline).
inline std::ofstream open_log(const Args& a) {
  if (!a.resume.empty()) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(a.log, ec);
    if (!ec && size > 0) {
      std::ifstream in(a.log, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const std::size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
      if (keep < text.size()) std::filesystem::resize_file(a.log, keep, ec);
      if (ec) throw so8t::gguf::IoError("--log '" + a.log + "': cannot cut its unfinished last line: " + ec.message(),
                                  ec.value());
    }
  }
  errno = 0;
  std::ofstream jl(a.log, a.resume.empty() ? std::ios::trunc : std::ios::app);
  if (!jl) {
    const int e = errno;
    throw so8t::gguf::IoError("--log '" + a.log + "': cannot open for writing: " + std::strerror(e ? e : EIO), e);
  }
  return jl;
}

/// Writes one whole JSON line (built first, written and flushed in one piece) and checks the stream.
inline void log_line(std::ofstream& jl, const std::string& log, const std::ostringstream& line) {
  const std::string s = line.str() + "\n";
  jl.write(s.data(), std::streamsize(s.size()));
  jl.flush();
  if (!jl) {
    const int e = errno;
    throw so8t::gguf::IoError("--log '" + log + "': write failed: " + std::strerror(e ? e : EIO), e);
  }
}

inline LlamaConfig make_config(const Args& a) {
  LlamaConfig cfg = llama_preset(a.config);
  cfg.gate_stack = a.gates;
  if (a.kv_heads > 0) cfg.n_kv_heads = a.kv_heads;
  cfg.validate();
  return cfg;
}

inline std::string fmt_time(double s) {
  char b[32];
  const int t = int(s + 0.5);
  std::snprintf(b, sizeof b, "%d:%02d", t / 60, t % 60);
  return b;
}

inline std::size_t param_count(Trainer& tr) { return tr.model().params.size(); }

/// Loads the data and runs the training loop (progress bar, JSON log, evaluations, checkpoints).
template <class Tr>
int run_training(Tr& tr, const Args& a, const LlamaConfig& cfg, const SplitCorpus& split, const char* prog) {
  const TrainOptions& opt = a.opt;
  std::size_t nparams = param_count(tr);
  if (!a.resume.empty()) {
    tr.resume(a.resume);
    std::fprintf(stderr, "%s: resumed from %s at step %zu\n", prog, a.resume.c_str(), tr.step());
  }
  std::fprintf(stderr, "%s: config %s (d %d, layers %d, heads %d/%d, ffn %d, ctx %d, gates %d), %zu params, "
               "%zu steps x %d x %d tokens\n", prog, a.config.c_str(), cfg.dim, cfg.n_layers, cfg.n_heads,
               cfg.n_kv_heads, cfg.ffn, cfg.ctx, cfg.gate_stack, nparams, opt.steps, opt.batch, cfg.ctx);
  std::ofstream jl = open_log(a);
  {
    std::ostringstream l;
    l << "{\"event\":\"start\",\"config\":\"" << a.config << "\",\"params\":" << nparams << ",\"step\":" << tr.step()
      << ",\"train_bytes\":" << split.train.size() << ",\"val_bytes\":" << split.val.size() << ",\"run\":" << opt.json()
      << "}";
    log_line(jl, a.log, l);
  }

  const double tokens_per_step = double(opt.batch) * cfg.ctx;
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t first = tr.step();
  double ema = -1.0, last_val = -1.0;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  auto do_eval = [&](std::size_t step) {
    const auto te = std::chrono::steady_clock::now();
    last_val = tr.evaluate(split.val, a.eval_windows);
    const double es = std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
    std::fprintf(stderr, "\nstep %zu: val loss %.4f nats/byte (%.2f bits/byte), eval %.1f s, elapsed %s\n", step,
                 last_val, last_val / std::log(2.0), es, fmt_time(elapsed()).c_str());
    if (!std::isfinite(last_val))
      throw so8t::NumericError("validation loss is " + std::to_string(last_val) + " at step " + std::to_string(step) +
                               "; checkpoint not written");
    std::ostringstream l;
    l << "{\"event\":\"eval\",\"step\":" << step << ",\"val_loss\":" << last_val << ",\"elapsed_s\":" << elapsed()
      << "}";
    log_line(jl, a.log, l);
    tr.save(a.out);
  };
  if (tr.step() == 0) do_eval(0);
  while (tr.step() < opt.steps) {
    const StepReport r = tr.train_step(split.train);
    if (!std::isfinite(r.loss.loss) || !std::isfinite(r.grad_norm))
      throw so8t::NumericError("training loss " + std::to_string(r.loss.loss) + ", gradient norm " +
                               std::to_string(r.grad_norm) + " at step " + std::to_string(r.step) +
                               "; stopped (the last checkpoint is the previous evaluation's)");
    ema = ema < 0 ? r.loss.ce : 0.95 * ema + 0.05 * r.loss.ce;
    const double el = elapsed();
    const double done = double(r.step - first);
    const double tps = done * tokens_per_step / std::max(el, 1e-9);
    const double eta = el / done * double(opt.steps - r.step);
    const int width = 30, filled = int(width * double(r.step) / double(opt.steps));
    std::fprintf(stderr, "\r[%s%s] %zu/%zu loss %.4f (ce %.4f pet %.3f x %.3f) %.0f tok/s ETA %s   ",
                 std::string(std::size_t(filled), '#').c_str(), std::string(std::size_t(width - filled), '.').c_str(),
                 r.step, opt.steps, ema, r.loss.ce, r.loss.pet, r.loss.lambda, tps, fmt_time(eta).c_str());
    std::ostringstream l;
    l << "{\"event\":\"step\",\"step\":" << r.step << ",\"loss\":" << r.loss.loss << ",\"ce\":" << r.loss.ce
      << ",\"pet\":" << r.loss.pet << ",\"lambda\":" << r.loss.lambda << ",\"lr\":" << r.lr
      << ",\"grad_norm\":" << r.grad_norm << ",\"tok_per_s\":" << tps << ",\"elapsed_s\":" << el << "}";
    log_line(jl, a.log, l);
    if (a.eval_every > 0 && r.step % a.eval_every == 0 && r.step < opt.steps) do_eval(r.step);
  }
  do_eval(tr.step());
  const double el = elapsed();
  std::printf("final: step %zu, val loss %.4f nats/byte, %.1f s, %.0f tokens/s, checkpoint %s\n", tr.step(), last_val,
              el, double(tr.step() - first) * tokens_per_step / std::max(el, 1e-9), a.out.c_str());
  std::ostringstream l;
  l << "{\"event\":\"end\",\"step\":" << tr.step() << ",\"val_loss\":" << last_val << ",\"elapsed_s\":" << el << "}";
  log_line(jl, a.log, l);
  return 0;
}

inline SplitCorpus load_split(const Args& a, const char* prog) {
  const auto t_load = std::chrono::steady_clock::now();
  const std::string text = load_text(a.data);
  SplitCorpus split = split_train_val(text, parse_doc_split(a.docs));
  std::fprintf(stderr, "%s: %s: %zu bytes -> train %zu bytes (%zu docs), val %zu bytes (%zu docs), %.1f s\n", prog,
               a.data.c_str(), text.size(), split.train.size(), split.train.documents, split.val.size(),
               split.val.documents,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count());
  return split;
}

}  // namespace so8t_train
