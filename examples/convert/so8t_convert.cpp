// so8t_convert: a Hugging Face model folder to a GGUF that llama.cpp and so8t_infer load.
//
//   so8t_convert --in FOLDER --out M.gguf [--type f32|f16|bf16] [--pre NAME] [--name NAME]
//
// FOLDER holds config.json (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM),
// model.safetensors or model-*.safetensors with model.safetensors.index.json, tokenizer.json (byte-level BPE)
// and optionally tokenizer_config.json / chat_template.jinja. The GGUF has the tensor names, Q/K layout and
// tokenizer keys llama.cpp's convert_hf_to_gguf.py writes (so8t/llm/convert/hf_to_gguf.hpp;
// docs/hf-checkpoints.md). Every file is checked before a byte is written; the output appears only when
// complete. Errors: one line on stderr and exit status 2 (usage) or 1 (anything else).
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "so8t/llm/convert/hf_to_gguf.hpp"
#include "so8t/llm/io/cli.hpp"
#include "so8t/llm/io/file_guard.hpp"

namespace {
namespace cli = so8t::llm::cli;
}

int main(int argc, char** argv) {
  std::string in, out, type = "f16", pre, name;
  CLI::App app("Converts a Hugging Face llama / mistral / qwen2 / qwen3 folder to GGUF.", "so8t_convert");
  cli::setup(app);
  app.add_option("--in", in, "the model folder (config.json, *.safetensors, tokenizer.json)")->type_name("FOLDER")->required();
  app.add_option("--out", out, "the GGUF to write, only when complete")->type_name("M.gguf")->required();
  app.add_option("--type", type, "matrix type (1-D tensors stay f32)")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))->capture_default_str();
  app.add_option("--pre", pre, "BPE pre-tokenizer family (default: recognised from tokenizer.json)")->type_name("NAME");
  app.add_option("--name", name, "general.name (default: the folder's name)");
  if (const int rc = cli::parse(app, argc, argv); rc >= 0) return rc;
  return cli::run("so8t_convert", [&] {
    namespace io = so8t::llm::io;
    std::error_code ec;
    if (!std::filesystem::is_directory(in, ec)) throw cli::UsageError("--in '" + in + "' is not a folder");
    {  // the output never replaces one of the files the conversion reads
      const std::filesystem::path po(out);
      const std::string ext = po.extension().string();
      if (std::filesystem::exists(po, ec) &&
          std::filesystem::equivalent(std::filesystem::canonical(po, ec).parent_path(), std::filesystem::canonical(in, ec), ec) &&
          (ext == ".json" || ext == ".jinja" || ext == ".safetensors"))
        throw cli::UsageError("--out '" + out + "' is an input file of the model folder '" + in + "'; it would be overwritten");
    }
    io::check_writable("--out", out);
    io::report_stale_temps("so8t_convert", out);
    so8t::llm::ConvertOptions o;
    o.type = type == "f32" ? so8t::quant::Type::f32 : type == "f16" ? so8t::quant::Type::f16 : so8t::quant::Type::bf16;
    o.pre = pre;
    o.name = name;
    const so8t::llm::ConvertReport r = so8t::llm::convert_hf_to_gguf(in, out, o);
    const so8t::llm::HfConfig& c = r.config;
    std::printf("so8t_convert: %s (%s) -> %s (%s, %s)\n", in.c_str(), c.hf_architecture.c_str(), out.c_str(),
                so8t::llm::arch_name(c.arch), type.c_str());
    std::printf("  %d layers, n_embd %d, heads %d/%d x %d, ffn %d, context %d, vocab %zu (pre %s, %zu merges)%s%s\n",
                c.n_layers, c.dim, c.n_heads, c.n_kv_heads, c.head_dim, c.ffn, c.ctx, r.vocab, r.pre.c_str(), r.merges,
                c.tied ? ", tied embeddings" : "", r.chat_template ? ", chat template" : "");
    std::printf("  %zu tensors from %zu safetensors file%s, %llu tensor bytes\n", r.tensors, r.shards, r.shards == 1 ? "" : "s",
                static_cast<unsigned long long>(r.tensor_bytes));
    return 0;
  });
}
