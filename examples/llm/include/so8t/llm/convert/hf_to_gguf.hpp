// so8t/llm/convert/hf_to_gguf.hpp: a Hugging Face model folder (config.json, model.safetensors or sharded
// model-*.safetensors with model.safetensors.index.json, tokenizer.json, tokenizer_config.json) written as the
// GGUF llama.cpp's own converter writes for it (namespace so8t::llm; docs/hf-checkpoints.md).
//
//   HfShards::open(folder)        the safetensors files, each checked (safetensors.hpp); with an index,
//                                 every listed shard must exist and hold the tensors it is listed for
//   plan_hf_tensors(cfg, shards)  HF name -> GGUF name, expected shape from config.json, Q/K row permutation
//                                 (llama / mistral), output type; any mismatch or unknown tensor throws
//   convert_hf_to_gguf(folder, out, options)  plans everything, then streams the tensors into out (written
//                                 under a temporary name, renamed when complete: no half-written file)
//
// Tensor types as llama.cpp's converter: 1-D tensors (norms, biases) f32, matrices in the requested type
// (f32, f16 or bf16, rounded to nearest even). Memory: one row at a time besides the mapped shards.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "so8t/base/half.hpp"
#include "so8t/gguf/writer.hpp"
#include "so8t/llm/convert/hf_config.hpp"
#include "so8t/llm/convert/hf_tokenizer.hpp"
#include "so8t/llm/convert/safetensors.hpp"
#include "so8t/llm/model/tensor_names.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::llm {

/// The safetensors files of a checkpoint and where each tensor lives.
class HfShards {
 public:
  static HfShards open(const std::string& folder) {
    HfShards s;
    const std::string index_path = folder + "/model.safetensors.index.json";
    if (std::filesystem::exists(index_path)) {
      const nlohmann::json idx = read_json_file(index_path);
      if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
        throw HfCheckpointError("so8t::llm: " + index_path + " has no \"weight_map\" object");
      std::map<std::string, std::string> listed;  // tensor -> shard file
      for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
        if (!it->is_string()) throw HfCheckpointError("so8t::llm: " + index_path + ": tensor '" + it.key() + "' maps to " + it->dump());
        const std::string shard = it->get<std::string>();
        if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
          throw HfCheckpointError("so8t::llm: " + index_path + ": shard name '" + shard + "' is not a file in the folder");
        listed[it.key()] = shard;
      }
      std::set<std::string> files;
      for (const auto& [t, f] : listed) files.insert(f);
      for (const std::string& f : files) {
        const std::string p = folder + "/" + f;
        if (!std::filesystem::exists(p))
          throw HfCheckpointError("so8t::llm: shard '" + f + "' listed in " + index_path + " is missing");
        s.add(SafetensorsFile::open(p));
      }
      for (const auto& [t, f] : listed) {
        const auto it = s.where_.find(t);
        if (it == s.where_.end() || s.files_[it->second]->path() != folder + "/" + f)
          throw HfCheckpointError("so8t::llm: " + index_path + " lists tensor '" + t + "' in '" + f + "', which does not hold it");
      }
      if (s.where_.size() != listed.size())
        for (const auto& [t, i] : s.where_)
          if (!listed.count(t))
            throw HfCheckpointError("so8t::llm: tensor '" + t + "' of '" + s.files_[i]->path() + "' is not in " + index_path);
    } else {
      const std::string p = folder + "/model.safetensors";
      if (!std::filesystem::exists(p))
        throw HfCheckpointError("so8t::llm: '" + folder + "' has neither model.safetensors nor model.safetensors.index.json");
      s.add(SafetensorsFile::open(p));
    }
    return s;
  }

  const StTensor* find(const std::string& name) const {
    const auto it = where_.find(name);
    return it == where_.end() ? nullptr : files_[it->second]->find(name);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (const auto& [k, v] : where_) n.push_back(k);
    return n;
  }
  std::size_t shard_count() const noexcept { return files_.size(); }

 private:
  void add(SafetensorsFile f) {
    const std::size_t i = files_.size();
    files_.push_back(std::make_unique<SafetensorsFile>(std::move(f)));
    for (const StTensor& t : files_.back()->tensors()) {
      if (where_.count(t.name))
        throw HfCheckpointError("so8t::llm: tensor '" + t.name + "' is in both '" + files_[where_[t.name]]->path() + "' and '" +
                                files_.back()->path() + "'");
      where_[t.name] = i;
    }
  }
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::size_t> where_;
};

/// One tensor of the output: where it comes from and how.
struct PlannedTensor {
  std::string gguf_name;
  const StTensor* src = nullptr;
  quant::Type type = quant::Type::f32;
  std::int64_t rows = 1, cols = 0;  ///< PyTorch [rows, cols] = GGUF ne [cols, rows]; 1-D: rows = 1
  bool vector = false;
  int permute_heads = 0;            ///< > 0: rows reordered as llama.cpp's converter does (heads of rows / n)
};

/// Maps every tensor of the checkpoint (HfCheckpointError for a missing, misshapen or unknown one).
inline std::vector<PlannedTensor> plan_hf_tensors(const HfConfig& c, const HfShards& shards, quant::Type matrix_type) {
  std::vector<PlannedTensor> plan;
  std::set<std::string> used;
  const std::int64_t E = c.dim, hd = c.head_dim, qw = std::int64_t(c.n_heads) * hd, kvw = std::int64_t(c.n_kv_heads) * hd;
  auto take = [&](const std::string& hf, const std::string& gg, std::int64_t rows, std::int64_t cols, bool vector,
                  int permute, bool required) {
    const StTensor* t = shards.find(hf);
    if (!t) {
      if (required) throw HfCheckpointError("so8t::llm: the checkpoint has no tensor '" + hf + "' (" + c.hf_architecture + ")");
      return;
    }
    const std::vector<std::int64_t> want = vector ? std::vector<std::int64_t>{cols} : std::vector<std::int64_t>{rows, cols};
    if (t->shape != want) {
      std::string w = "[";
      for (std::size_t i = 0; i < want.size(); ++i) w += (i ? ", " : "") + std::to_string(want[i]);
      throw HfCheckpointError("so8t::llm: tensor '" + hf + "' has shape " + t->shape_string() + " but config.json implies " + w + "]");
    }
    used.insert(hf);
    plan.push_back(PlannedTensor{gg, t, vector ? quant::Type::f32 : matrix_type, vector ? 1 : rows, cols, vector, permute});
  };
  namespace tn = tensor_names;
  take("model.embed_tokens.weight", tn::token_embd, c.vocab, E, false, 0, true);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto g = [l](const char* t) { return tn::block(l, t); };
    const int pq = c.permute_qk ? c.n_heads : 0, pk = c.permute_qk ? c.n_kv_heads : 0;
    take(p + "input_layernorm.weight", g(tn::attn_norm), 1, E, true, 0, true);
    take(p + "self_attn.q_proj.weight", g(tn::attn_q), qw, E, false, pq, true);
    take(p + "self_attn.k_proj.weight", g(tn::attn_k), kvw, E, false, pk, true);
    take(p + "self_attn.v_proj.weight", g(tn::attn_v), kvw, E, false, 0, true);
    const bool bias = c.arch == Arch::qwen2 || (c.arch == Arch::llama && c.attention_bias);
    if (bias) {
      take(p + "self_attn.q_proj.bias", g(tn::attn_q_bias), 1, qw, true, pq, true);
      take(p + "self_attn.k_proj.bias", g(tn::attn_k_bias), 1, kvw, true, pk, true);
      take(p + "self_attn.v_proj.bias", g(tn::attn_v_bias), 1, kvw, true, 0, true);
    }
    if (c.arch == Arch::qwen3) {
      take(p + "self_attn.q_norm.weight", g(tn::attn_q_norm), 1, hd, true, 0, true);
      take(p + "self_attn.k_norm.weight", g(tn::attn_k_norm), 1, hd, true, 0, true);
    }
    take(p + "self_attn.o_proj.weight", g(tn::attn_output), E, qw, false, 0, true);
    take(p + "post_attention_layernorm.weight", g(tn::ffn_norm), 1, E, true, 0, true);
    take(p + "mlp.gate_proj.weight", g(tn::ffn_gate), c.ffn, E, false, 0, true);
    take(p + "mlp.up_proj.weight", g(tn::ffn_up), c.ffn, E, false, 0, true);
    take(p + "mlp.down_proj.weight", g(tn::ffn_down), E, c.ffn, false, 0, true);
  }
  take("model.norm.weight", tn::output_norm, 1, E, true, 0, true);
  if (c.tied) {
    if (shards.find("lm_head.weight")) used.insert("lm_head.weight");  // the embedding again: not written
  } else {
    take("lm_head.weight", tn::output, c.vocab, E, false, 0, true);
  }
  for (const std::string& n : shards.names()) {
    if (used.count(n)) continue;
    if (n.size() > 21 && n.compare(n.size() - 21, 21, ".rotary_emb.inv_freq") == 0) continue;  // recomputed, as llama.cpp does
    throw HfCheckpointError("so8t::llm: tensor '" + n + "' is not part of a " + c.hf_architecture + " of this config" +
                            (n.find(".bias") != std::string::npos ? " (config.json says no attention biases)" : ""));
  }
  return plan;
}

struct ConvertOptions {
  quant::Type type = quant::Type::f16;  ///< matrices: f32, f16 or bf16
  std::string pre;                      ///< the BPE pre-tokenizer family; empty: detected from tokenizer.json
  std::string name;                     ///< general.name; empty: the folder's name
};

struct ConvertReport {
  HfConfig config;
  std::string pre;
  std::size_t tensors = 0, shards = 0, vocab = 0, merges = 0;
  std::uint64_t tensor_bytes = 0;
  bool chat_template = false;
};

namespace detail {

/// Source row `r` of t (PyTorch row-major) widened to float.
inline void st_row_to_float(const StTensor& t, std::int64_t r, std::int64_t cols, float* out) {
  const std::uint8_t* p = t.data + static_cast<std::size_t>(r * cols) * st_dtype_size(t.dtype);
  for (std::int64_t i = 0; i < cols; ++i) {
    if (t.dtype == StDtype::f32) {
      std::memcpy(out + i, p + 4 * i, 4);
    } else {
      std::uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = t.dtype == StDtype::f16 ? fp16_bits_to_fp32(h) : bf16_bits_to_fp32(h);
    }
  }
}

/// llama.cpp's Q/K permutation: HF keeps each head's rotated halves apart (rotate_half: row i pairs with
/// i + hd/2), GGUF's "normal" RoPE pairs adjacent rows, so GGUF row h*hd + 2i + j is HF row h*hd + j*hd/2 + i.
inline std::int64_t permuted_source_row(std::int64_t r, std::int64_t rows, int heads) {
  const std::int64_t hd = rows / heads, h = r / hd, k = r % hd, i = k / 2, j = k % 2;
  return h * hd + j * (hd / 2) + i;
}

}  // namespace detail

/// See the file comment. Throws HfCheckpointError, SafetensorsError, UnknownPreTokenizer, gguf::IoError.
inline ConvertReport convert_hf_to_gguf(const std::string& folder, const std::string& out, const ConvertOptions& o = {}) {
  if (o.type != quant::Type::f32 && o.type != quant::Type::f16 && o.type != quant::Type::bf16)
    throw InvalidArgument(std::string("so8t::llm::convert_hf_to_gguf: type ") + quant::type_name(o.type) +
                          " (f32, f16 or bf16; quantize the result with so8t_quantize)");
  ConvertReport rep;
  rep.config = read_hf_config(folder);
  const HfConfig& c = rep.config;
  const GgufVocab vocab = read_hf_tokenizer(folder, c, o.pre);
  const HfShards shards = HfShards::open(folder);
  const std::vector<PlannedTensor> plan = plan_hf_tensors(c, shards, o.type);
  for (const PlannedTensor& t : plan)
    if (t.permute_heads > 0 && t.rows % (2 * t.permute_heads) != 0)
      throw HfCheckpointError("so8t::llm: tensor '" + t.src->name + "' has " + std::to_string(t.rows) + " rows, not " +
                              std::to_string(t.permute_heads) + " heads of an even width");

  // Metadata in llama.cpp's converter's order and spelling (docs/hf-checkpoints.md "Keys").
  gguf::Writer w(out);
  const std::string a = std::string(arch_name(c.arch)) + ".";
  const std::uint32_t ftype = o.type == quant::Type::f32 ? 0 : o.type == quant::Type::f16 ? 1 : 32;
  w.add("general.architecture", std::string(arch_name(c.arch)));
  w.add("general.type", std::string("model"));
  w.add("general.name", o.name.empty() ? std::filesystem::path(folder).lexically_normal().filename().string() : o.name);
  w.add(a + "block_count", std::uint32_t(c.n_layers));
  w.add(a + "context_length", std::uint32_t(c.ctx));
  w.add(a + "embedding_length", std::uint32_t(c.dim));
  w.add(a + "feed_forward_length", std::uint32_t(c.ffn));
  w.add(a + "attention.head_count", std::uint32_t(c.n_heads));
  w.add(a + "attention.head_count_kv", std::uint32_t(c.n_kv_heads));
  w.add(a + "rope.freq_base", float(c.rope_theta));
  w.add(a + "attention.layer_norm_rms_epsilon", float(c.norm_eps));
  if (c.head_dim_given) {
    w.add(a + "attention.key_length", std::uint32_t(c.head_dim));
    w.add(a + "attention.value_length", std::uint32_t(c.head_dim));
  }
  if (c.rope_linear_factor > 0) {
    w.add(a + "rope.scaling.type", std::string("linear"));
    w.add(a + "rope.scaling.factor", float(c.rope_linear_factor));
  }
  w.add("general.file_type", ftype);
  if (c.arch == Arch::llama) {
    w.add(a + "vocab_size", std::uint32_t(c.vocab));
    w.add(a + "rope.dimension_count", std::uint32_t(c.head_dim));
  }
  w.add("general.quantization_version", std::uint32_t(2));
  w.add("tokenizer.ggml.model", std::string("gpt2"));
  w.add("tokenizer.ggml.pre", vocab.pre);
  w.add_metadata("tokenizer.ggml.tokens", gguf::Value::array(vocab.tokens));
  w.add_metadata("tokenizer.ggml.token_type", gguf::Value::array(vocab.types));
  w.add_metadata("tokenizer.ggml.merges", gguf::Value::array(vocab.merges));
  for (const auto& [k, id] : vocab.ids) w.add("tokenizer.ggml." + k + "_token_id", id);
  for (const auto& [k, on] : vocab.add) w.add("tokenizer.ggml.add_" + k + "_token", on);
  if (vocab.chat_template) w.add("tokenizer.chat_template", *vocab.chat_template);

  for (const PlannedTensor& t : plan)
    w.add_tensor(t.gguf_name, t.type, t.vector ? std::vector<std::int64_t>{t.cols} : std::vector<std::int64_t>{t.cols, t.rows});
  std::vector<float> row;
  std::vector<std::uint16_t> half;
  for (const PlannedTensor& t : plan) {
    row.resize(static_cast<std::size_t>(t.cols));
    for (std::int64_t r = 0; r < t.rows; ++r) {
      if (t.vector) {  // a bias of a permuted projection is permuted like its rows
        for (std::int64_t i = 0; i < t.cols; ++i) {
          const std::int64_t s = t.permute_heads > 0 ? detail::permuted_source_row(i, t.cols, t.permute_heads) : i;
          float f[1];
          detail::st_row_to_float(*t.src, s, 1, f);
          row[std::size_t(i)] = f[0];
        }
      } else {
        const std::int64_t s = t.permute_heads > 0 ? detail::permuted_source_row(r, t.rows, t.permute_heads) : r;
        detail::st_row_to_float(*t.src, s, t.cols, row.data());
      }
      for (std::size_t i = 0; i < row.size(); ++i) {
        const bool narrowed_inf = t.type == quant::Type::f16 && std::fabs(row[i]) > 65504.0f;
        if (!std::isfinite(row[i]) || narrowed_inf)
          throw HfCheckpointError("so8t::llm: tensor '" + t.src->name + "' holds " + std::to_string(row[i]) + " at row " +
                                  std::to_string(r) + ", column " + std::to_string(i) +
                                  (narrowed_inf ? ", beyond f16's range (convert to bf16 or f32)" : " (a non-finite weight)"));
      }
      if (t.type == quant::Type::f32) {
        w.write_tensor_data(row.data(), row.size() * 4);
      } else {
        half.resize(row.size());
        for (std::size_t i = 0; i < row.size(); ++i)
          half[i] = t.type == quant::Type::f16 ? fp32_to_fp16_bits(row[i]) : fp32_to_bf16_bits(row[i]);
        w.write_tensor_data(half.data(), half.size() * 2);
      }
    }
    rep.tensor_bytes += quant::row_bytes(t.type, t.cols) * static_cast<std::uint64_t>(t.rows);
  }
  w.finish();
  rep.pre = vocab.pre;
  rep.tensors = plan.size();
  rep.shards = shards.shard_count();
  rep.vocab = vocab.tokens.size();
  rep.merges = vocab.merges.size();
  rep.chat_template = vocab.chat_template.has_value();
  return rep;
}

}  // namespace so8t::llm
