// so8t_quantize: llama-quantize for the f32 / f16 llama GGUF files so8t_bake writes.
//
//   so8t_quantize --in F.gguf --out Q.gguf --type q8_0|q4_k_m|q5_k_m|q6_k|q4_0|q4_1|q5_0|q5_1|f16|bf16
//                 [--temperature T | --calibrate kjv|FILE [--calibrate-tokens N]] [--modelfile [PATH]]
//
// Copies every metadata pair (tokenizer included), sets general.file_type to llama.cpp's llama_ftype of the
// target and general.quantization_version = 2, picks each tensor's type like llama-quantize (norms stay f32;
// see so8t/llm/pipeline/quantize.hpp), streams one tensor at a time, and with --temperature T stores
// so8t.calibration.temperature (f32). --calibrate fits T on held-out text instead (model/data.hpp
// load_held_out_text; the LAST N tokens of it, default 8192, so that qc, which reads from the start, evaluates
// on other text): the quantized model is written to a unique working file (OUT.tmp.XXXXXX), run with so8t's CPU inference over
// context-sized windows, T minimises the NLL of softmax(z / T) (calib/temperature.hpp), and the output is
// written again with T stored; the intermediate file is removed. Prints a per-tensor table and the totals. The output appears only when
// complete (temp file + rename); every error is one line on stderr ("so8t_quantize: ...", so8t/llm/io/cli.hpp)
// and a non-zero exit status (2: usage, 1: anything else). --modelfile also writes an Ollama Modelfile for the
// output (so8t/llm/pipeline/modelfile.hpp).
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "so8t/llm/io/cli.hpp"
#include "so8t/llm/io/file_guard.hpp"
#include "so8t/llm/io/held_out_tokens.hpp"
#include "so8t/llm/io/text_data.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/pipeline/qc.hpp"
#include "so8t/llm/pipeline/modelfile.hpp"
#include "so8t/llm/pipeline/quantize.hpp"
#include "so8t/report/json.hpp"
#include "so8t/llm/model/tokenizer.hpp"

namespace {

namespace cli = so8t::llm::cli;
using cli::UsageError;

std::string shape(const so8t::llm::QuantizedTensor& t) {
  std::string s = "[";
  for (std::uint32_t i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
  return s + "]";
}

/// Quantizes in to out (after fitting the temperature on held-out text when calibrate names one); prints the
/// per-tensor table and the totals.
int quantize(const std::string& in, const std::string& out, const std::string& type, std::optional<float> temperature,
             const std::string& calibrate, std::size_t calibrate_tokens) {
  std::string fit_line;
  if (!calibrate.empty()) {
    // The text's tokens before any file is written (the tokenizer is the input's: quantizing keeps it).
    const std::vector<std::int32_t> tokens = [&] {
      const so8t::llm::LlamaModel src = so8t::llm::LlamaModel::open(in);
      return so8t::llm::held_out_tail_tokens(so8t::llm::Tokenizer(src.vocab()), calibrate, calibrate_tokens, true);
    }();
    const so8t::llm::io::TempPath uncalibrated(out);  // unique name, removed on return, error or signal
    const std::string& tmp = uncalibrated.path();
    so8t::llm::quantize_gguf(in, tmp, type, std::nullopt);
    const so8t::llm::LlamaModel m = so8t::llm::LlamaModel::open(tmp);
    so8t::llm::LlamaInfer inf(m);
    const int n_ctx = inf.n_ctx();
    const so8t::calib::TemperatureFit fit =
        so8t::llm::fit_model_temperature(inf, tokens, n_ctx, calibrate_tokens);
    temperature = float(fit.temperature);
    fit_line = "  temperature fitted on " + std::to_string(fit.count) + " held-out tokens of '" + calibrate +
               "': T = " + std::to_string(fit.temperature) + " (NLL " + std::to_string(fit.nll_at_one) + " -> " +
               std::to_string(fit.nll) + (fit.converged ? "" : ", not converged") +
               (fit.at_lower_bound || fit.at_upper_bound ? ", at a bound" : "") + ")\n";
  }
  const so8t::llm::QuantizeReport r = so8t::llm::quantize_gguf(in, out, type, temperature);
  std::printf("so8t_quantize: %s -> %s (%s, general.file_type %u)\n", in.c_str(), out.c_str(), r.target.name.c_str(),
              r.target.ftype);
  std::printf("  %-28s %-14s %-6s %-6s %12s %12s\n", "tensor", "shape", "in", "out", "bytes in", "bytes out");
  for (const auto& t : r.tensors)
    std::printf("  %-28s %-14s %-6s %-6s %12llu %12llu\n", t.name.c_str(), shape(t).c_str(),
                so8t::quant::type_name(t.type_in), so8t::quant::type_name(t.type_out),
                static_cast<unsigned long long>(t.bytes_in), static_cast<unsigned long long>(t.bytes_out));
  std::printf("  %zu tensors: %llu -> %llu tensor bytes (%.2fx); file %llu -> %llu bytes; %zu metadata pairs%s\n",
              r.tensors.size(), static_cast<unsigned long long>(r.tensor_bytes_in),
              static_cast<unsigned long long>(r.tensor_bytes_out),
              r.tensor_bytes_out ? double(r.tensor_bytes_in) / double(r.tensor_bytes_out) : 0.0,
              static_cast<unsigned long long>(r.file_bytes_in), static_cast<unsigned long long>(r.file_bytes_out),
              r.metadata_pairs, temperature ? (", temperature " + std::to_string(*temperature)).c_str() : "");
  std::printf("%s", fit_line.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string in, out, type, calibrate, modelfile;
  double temperature_arg = 0;
  std::size_t calibrate_tokens = 8192;
  CLI::App app("llama-quantize for the f32 / f16 llama GGUF files so8t_bake writes.", "so8t_quantize");
  cli::setup(app);
  app.add_option("--in", in, "input model (f32 / f16 llama GGUF)")->type_name("F.gguf")->required();
  app.add_option("--out", out, "output model, written only when complete")->type_name("Q.gguf")->required();
  app.add_option("--type", type,
                 "q8_0, q4_k_m, q5_k_m (llama.cpp mixing presets), q6_k, q4_0, q4_1, q5_0, q5_1, f16, bf16, f32")
      ->required();
  CLI::Option* temperature_opt = app.add_option("--temperature", temperature_arg, "store so8t.calibration.temperature = T (f32)")
      ->type_name("T")->transform(cli::above(0.0, 1e30));
  app.add_option("--calibrate", calibrate,
                 "fit T on held-out text (kjv = so8t_train's validation split, or a file) and store it")
      ->type_name("SRC");
  app.add_option("--calibrate-tokens", calibrate_tokens, "tokens from the end of the held-out text used for the fit")
      ->transform(cli::in_range<std::size_t>(64, 1000000000))->capture_default_str();
  CLI::Option* modelfile_opt =
      app.add_option("--modelfile", modelfile,
                     "also write an Ollama Modelfile beside the output (OUT without .gguf + .Modelfile, or PATH): FROM "
                     "the output, its chat template (ChatML / Llama 3) as TEMPLATE, the temperature, stop tokens")
          ->type_name("[PATH]")->expected(0, 1);
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  return cli::run("so8t_quantize", [&] {
    std::optional<float> temperature;
    if (temperature_opt->count() > 0) temperature = float(temperature_arg);
    namespace io = so8t::llm::io;
    if (modelfile_opt->count() > 0 && modelfile.empty()) modelfile = so8t::llm::default_modelfile_path(out);
    io::check_distinct({{"--in", in}, {"--calibrate", calibrate == "kjv" ? "" : calibrate}},
                       {{"--out", out}, {"--modelfile", modelfile}});
    io::check_writable("--out", out);
    io::check_writable("--modelfile", modelfile);
    io::report_stale_temps("so8t_quantize", out);
    try {
      so8t::llm::parse_quant_target(type);
    } catch (const std::exception& e) {
      throw UsageError(e.what());
    }
    if (temperature && !calibrate.empty()) throw UsageError("--temperature and --calibrate exclude each other");
    int rc = 0;
    try {
      rc = quantize(in, out, type, temperature, calibrate, calibrate_tokens);
    } catch (const so8t::gguf::FormatError& e) {  // only the input is parsed
      throw std::runtime_error("input '" + in + "' is not a valid GGUF file: " + e.what());
    }
    if (!modelfile.empty()) {
      const so8t::gguf::Reader q = so8t::gguf::Reader::open(out);
      so8t::report::write_text_file(modelfile, so8t::llm::ollama_modelfile(q.metadata(), so8t::llm::modelfile_from(modelfile, out)));
      std::printf("  Ollama Modelfile: %s (ollama create NAME -f %s)\n", modelfile.c_str(), modelfile.c_str());
    }
    return rc;
  });
}
