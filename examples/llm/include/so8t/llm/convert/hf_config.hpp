// so8t/llm/convert/hf_config.hpp: a Hugging Face model folder's config.json, read for conversion to GGUF
// (namespace so8t::llm).
//
// LlamaForCausalLM and MistralForCausalLM become GGUF architecture "llama" (Q/K rows permuted, see
// hf_to_gguf.hpp), Qwen2ForCausalLM "qwen2", Qwen3ForCausalLM "qwen3" (docs/hf-checkpoints.md). Both spellings
// of the RoPE base are read: transformers 5's "rope_parameters": {"rope_theta", "rope_type"} and the older
// top-level "rope_theta" / "rope_scaling". A missing required field, a value of the wrong JSON type or out of
// range, or a feature so8t cannot run (YaRN, llama3 frequency factors, a sliding window) is an
// HfCheckpointError naming the field and the value.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "so8t/llm/model/gguf_model.hpp"

namespace so8t::llm {

/// A model folder that is not a checkpoint so8t converts, or whose files disagree with each other.
class HfCheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A JSON file of the folder, parsed (HfCheckpointError when it is missing or not JSON).
inline nlohmann::json read_json_file(const std::string& path, bool required = true) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (!required) return nlohmann::json();
    throw HfCheckpointError("so8t::llm: cannot open '" + path + "'");
  }
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw HfCheckpointError("so8t::llm: '" + path + "' is not valid JSON: " + e.what());
  }
}

struct HfConfig {
  std::string hf_architecture;  ///< "Qwen3ForCausalLM", ...
  Arch arch = Arch::llama;
  bool permute_qk = false;      ///< llama / mistral: HF's rotate-half rows -> GGUF's adjacent pairs
  int dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, ffn = 0, ctx = 0, vocab = 0;
  int head_dim = 0;             ///< config's head_dim, or dim / n_heads
  bool head_dim_given = false;  ///< llama.cpp writes {arch}.attention.key_length only then
  double norm_eps = 1e-6, rope_theta = 10000.0;
  double rope_linear_factor = 0.0;  ///< rope_type "linear": its factor
  bool tied = false;            ///< tie_word_embeddings: no lm_head / output.weight
  bool attention_bias = false;  ///< llama: q/k/v biases present (qwen2 always has them)
  nlohmann::json raw;           ///< the whole file (special token ids for the vocabulary)
};

namespace detail {

inline int hf_positive(const nlohmann::json& j, const std::string& file, const char* key, bool required, int fallback) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw HfCheckpointError("so8t::llm: " + file + ": required field \"" + key + "\" is missing");
    return fallback;
  }
  const nlohmann::json& v = j[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() <= 0 || v.get<std::int64_t>() > (std::int64_t(1) << 30))
    throw HfCheckpointError("so8t::llm: " + file + ": \"" + key + "\" = " + v.dump() + ", expected a positive integer");
  return static_cast<int>(v.get<std::int64_t>());
}

inline double hf_number(const nlohmann::json& j, const std::string& file, const char* key, double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) throw HfCheckpointError("so8t::llm: " + file + ": \"" + key + "\" = " + j[key].dump() + ", expected a number");
  return j[key].get<double>();
}

inline bool hf_bool(const nlohmann::json& j, const std::string& file, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw HfCheckpointError("so8t::llm: " + file + ": \"" + key + "\" = " + j[key].dump() + ", expected true or false");
  return j[key].get<bool>();
}

}  // namespace detail

/// Reads `folder`/config.json. Throws HfCheckpointError.
inline HfConfig read_hf_config(const std::string& folder) {
  const std::string file = folder + "/config.json";
  const nlohmann::json j = read_json_file(file);
  if (!j.is_object()) throw HfCheckpointError("so8t::llm: " + file + " is not a JSON object");
  HfConfig c;
  c.raw = j;
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].size() != 1 ||
      !j["architectures"][0].is_string())
    throw HfCheckpointError("so8t::llm: " + file + ": \"architectures\" must list one model class");
  c.hf_architecture = j["architectures"][0].get<std::string>();
  if (c.hf_architecture == "LlamaForCausalLM" || c.hf_architecture == "MistralForCausalLM") {
    c.arch = Arch::llama;
    c.permute_qk = true;
  } else if (c.hf_architecture == "Qwen2ForCausalLM") {
    c.arch = Arch::qwen2;
  } else if (c.hf_architecture == "Qwen3ForCausalLM") {
    c.arch = Arch::qwen3;
  } else {
    throw HfCheckpointError("so8t::llm: " + file + ": architecture \"" + c.hf_architecture +
                            "\" is not one so8t converts (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
                            "Qwen3ForCausalLM)");
  }
  using detail::hf_positive;
  c.dim = hf_positive(j, file, "hidden_size", true, 0);
  c.n_layers = hf_positive(j, file, "num_hidden_layers", true, 0);
  c.n_heads = hf_positive(j, file, "num_attention_heads", true, 0);
  c.n_kv_heads = hf_positive(j, file, "num_key_value_heads", false, c.n_heads);
  c.ffn = hf_positive(j, file, "intermediate_size", true, 0);
  c.ctx = hf_positive(j, file, "max_position_embeddings", true, 0);
  c.vocab = hf_positive(j, file, "vocab_size", true, 0);
  c.head_dim_given = j.contains("head_dim") && !j["head_dim"].is_null();
  if (!c.head_dim_given && c.dim % c.n_heads != 0)
    throw HfCheckpointError("so8t::llm: " + file + ": hidden_size " + std::to_string(c.dim) +
                            " is not a multiple of num_attention_heads " + std::to_string(c.n_heads) + " and there is no head_dim");
  c.head_dim = hf_positive(j, file, "head_dim", false, c.dim / c.n_heads);
  if (c.head_dim % 2 != 0) throw HfCheckpointError("so8t::llm: " + file + ": head_dim " + std::to_string(c.head_dim) + " is odd");
  if (c.n_heads % c.n_kv_heads != 0)
    throw HfCheckpointError("so8t::llm: " + file + ": num_attention_heads " + std::to_string(c.n_heads) +
                            " is not a multiple of num_key_value_heads " + std::to_string(c.n_kv_heads));
  c.norm_eps = detail::hf_number(j, file, "rms_norm_eps", 1e-6);
  if (!(c.norm_eps > 0 && c.norm_eps < 1))
    throw HfCheckpointError("so8t::llm: " + file + ": rms_norm_eps = " + j["rms_norm_eps"].dump() + ", expected in (0, 1)");
  c.tied = detail::hf_bool(j, file, "tie_word_embeddings", false);
  c.attention_bias = detail::hf_bool(j, file, "attention_bias", false);

  // RoPE: transformers 5 "rope_parameters", else the older top-level fields.
  nlohmann::json rope = nlohmann::json::object();
  if (j.contains("rope_parameters") && !j["rope_parameters"].is_null()) {
    if (!j["rope_parameters"].is_object()) throw HfCheckpointError("so8t::llm: " + file + ": \"rope_parameters\" is not an object");
    rope = j["rope_parameters"];
  } else {
    if (j.contains("rope_theta")) rope["rope_theta"] = j["rope_theta"];
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
      for (auto it = j["rope_scaling"].begin(); it != j["rope_scaling"].end(); ++it) rope[it.key()] = it.value();
      if (!rope.contains("rope_type") && rope.contains("type")) rope["rope_type"] = rope["type"];
    }
  }
  c.rope_theta = detail::hf_number(rope, file, "rope_theta", 10000.0);
  if (!(c.rope_theta >= 1.0 && c.rope_theta < 1e30))
    throw HfCheckpointError("so8t::llm: " + file + ": rope_theta = " + rope["rope_theta"].dump() + ", expected 1 .. 1e30");
  const std::string rope_type = rope.contains("rope_type") && rope["rope_type"].is_string() ? rope["rope_type"].get<std::string>() : "default";
  if (rope_type == "linear") {
    c.rope_linear_factor = detail::hf_number(rope, file, "factor", 0.0);
    if (!(c.rope_linear_factor >= 1e-3 && c.rope_linear_factor <= 1e6))
      throw HfCheckpointError("so8t::llm: " + file + ": linear RoPE scaling factor " + rope.value("factor", nlohmann::json()).dump() +
                              " is outside 0.001 .. 1e6");
  } else if (rope_type != "default") {
    throw HfCheckpointError("so8t::llm: " + file + ": rope_type \"" + rope_type +
                            "\" is not supported (so8t converts \"default\" and \"linear\")");
  }
  // A sliding window changes which positions attend; llama.cpp's llama / qwen2 / qwen3 graphs do not run it.
  const bool use_sw = detail::hf_bool(j, file, "use_sliding_window", c.arch == Arch::llama);
  if (use_sw && j.contains("sliding_window") && !j["sliding_window"].is_null() &&
      (!j["sliding_window"].is_number_integer() || j["sliding_window"].get<std::int64_t>() < c.ctx))
    throw HfCheckpointError("so8t::llm: " + file + ": sliding_window " + j["sliding_window"].dump() +
                            " is shorter than max_position_embeddings " + std::to_string(c.ctx) + " (not supported)");
  return c;
}

}  // namespace so8t::llm
