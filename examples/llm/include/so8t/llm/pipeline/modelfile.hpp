// so8t/llm/pipeline/modelfile.hpp: an Ollama Modelfile for a GGUF (namespace so8t::llm), written by
// so8t_quantize --modelfile.
//
//   FROM <the GGUF, relative to the Modelfile's folder>
//   TEMPLATE """..."""           Ollama templates are Go templates, not the GGUF's Jinja chat template, so the
//                                two chat formats so8t recognises in tokenizer.chat_template are written as
//                                their Go equivalents: ChatML (<|im_start|> / <|im_end|>: Qwen, SmolLM) and
//                                Llama 3 (<|start_header_id|> ... <|eot_id|>). Any other template is left to
//                                Ollama, which reads tokenizer.chat_template from the GGUF itself; a comment
//                                says so.
//   PARAMETER temperature T      so8t.calibration.temperature when the file has it (sampling at T divides the
//                                logits by T, which is what the fit calibrated)
//   PARAMETER stop "..."         the turn-end token of the recognised format, then the EOS token's text
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "so8t/gguf/metadata.hpp"

namespace so8t::llm {

enum class ChatFormat { none, chatml, llama3 };

/// The chat format of a Jinja chat template, by the markers it writes.
inline ChatFormat detect_chat_format(const std::string& jinja) {
  if (jinja.find("<|im_start|>") != std::string::npos && jinja.find("<|im_end|>") != std::string::npos) return ChatFormat::chatml;
  if (jinja.find("<|start_header_id|>") != std::string::npos && jinja.find("<|eot_id|>") != std::string::npos)
    return ChatFormat::llama3;
  return ChatFormat::none;
}

/// A Modelfile text string: the content is quoted with \ and " escaped.
inline std::string modelfile_quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

/// The Modelfile for the GGUF whose metadata is `md`, referring to it as `from` (a path Ollama resolves
/// relative to the Modelfile).
inline std::string ollama_modelfile(const gguf::Metadata& md, const std::string& from) {
  std::string out = "# written by so8t_quantize --modelfile\nFROM " + from + "\n";
  std::string jinja;
  if (const gguf::Value* t = md.find("tokenizer.chat_template"); t && t->type() == gguf::ValueType::string) jinja = t->as_string();
  const ChatFormat f = detect_chat_format(jinja);
  std::vector<std::string> stops;
  if (f == ChatFormat::chatml) {
    out += "TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n\"\"\"\n";
    stops.push_back("<|im_end|>");
  } else if (f == ChatFormat::llama3) {
    out += "TEMPLATE \"\"\"{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>"
           "{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n\"\"\"\n";
    stops.push_back("<|eot_id|>");
  } else if (!jinja.empty()) {
    out += "# the GGUF's chat template is not ChatML or Llama 3: Ollama uses tokenizer.chat_template from the file\n";
  } else {
    out += "# the GGUF has no chat template: plain completion\n";
  }
  if (const gguf::Value* t = md.find("so8t.calibration.temperature"); t && t->type() == gguf::ValueType::f32) {
    char b[48];
    std::snprintf(b, sizeof b, "PARAMETER temperature %.6g\n", double(t->as<float>()));
    out += b;
  }
  const gguf::Value* eos = md.find("tokenizer.ggml.eos_token_id");
  const gguf::Value* toks = md.find("tokenizer.ggml.tokens");
  if (eos && eos->type() == gguf::ValueType::u32 && toks && toks->is_array() && toks->element_type() == gguf::ValueType::string) {
    const std::vector<std::string> all = toks->string_elements();
    const std::uint32_t id = eos->as<std::uint32_t>();
    if (id < all.size() && !all[id].empty() && (stops.empty() || stops.front() != all[id])) stops.push_back(all[id]);
  }
  for (const std::string& s : stops) out += "PARAMETER stop " + modelfile_quote(s) + "\n";
  return out;
}

/// The Modelfile written beside `gguf_path` when --modelfile names no path: "q4.gguf" -> "q4.Modelfile".
inline std::string default_modelfile_path(const std::string& gguf_path) {
  std::filesystem::path p(gguf_path);
  if (p.extension() == ".gguf") p.replace_extension();
  return p.string() + ".Modelfile";
}

/// `gguf_path` as seen from the folder of `modelfile_path` ("./name.gguf" when they share a folder).
inline std::string modelfile_from(const std::string& modelfile_path, const std::string& gguf_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::path(modelfile_path).parent_path().empty() ? fs::path(".") : fs::path(modelfile_path).parent_path(), ec);
  const fs::path target = fs::weakly_canonical(gguf_path, ec);
  fs::path rel = target.lexically_relative(base);
  if (rel.empty()) return target.string();
  const std::string r = rel.string();
  return r.compare(0, 3, "../") == 0 ? r : "./" + r;
}

}  // namespace so8t::llm
