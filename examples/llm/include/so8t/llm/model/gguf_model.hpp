// so8t/llm/model/gguf_model.hpp: a GGUF of the llama family opened for inference: general.architecture
// "llama", "qwen2" or "qwen3" (docs/architectures.md: what each adds to llama and how llama.cpp reads it).
//
// Keys and tensor names as in tests/data/llama/MANIFEST.md ("{arch}.*", "tokenizer.ggml.*";
// ggml shape [ne0, ne1] = [in, out]). gguf::Reader validates the container; this adds the model-level
// checks (hyperparameters, every tensor's shape and type, the vocabulary) and throws ModelError naming
// the key or tensor with what was expected and what was found. Weights stay in the mapped file.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/base/finite.hpp"
#include "so8t/gguf/reader.hpp"
#include "so8t/quant/type.hpp"
#include "so8t/llm/model/bpe_pre.hpp"
#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/model/model_error.hpp"
#include "so8t/llm/model/tensor_names.hpp"

namespace so8t::llm {

/// One weight tensor inside the mapped file: rows = ne1 (output features), cols = ne0 (input features).
struct WeightView {
  std::string name;
  quant::Type type = quant::Type::f32;
  std::int64_t rows = 0, cols = 0;
  const void* data = nullptr;
  std::size_t bytes = 0;
};

struct LlamaLayerView {
  WeightView attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
  WeightView bq, bk, bv;      ///< q/k/v biases (qwen2; optional in llama); data null when absent
  WeightView q_norm, k_norm;  ///< per-head RMSNorm weights [head_dim] (qwen3); data null when absent
};

/// The architectures LlamaModel reads (llama.cpp's LLM_ARCH_LLAMA, LLM_ARCH_QWEN2, LLM_ARCH_QWEN3).
enum class Arch { llama, qwen2, qwen3 };

inline const char* arch_name(Arch a) {
  switch (a) {
    case Arch::llama: return "llama";
    case Arch::qwen2: return "qwen2";
    case Arch::qwen3: return "qwen3";
  }
  return "?";
}

/// How positions turn the query and key heads (llama.cpp's rope type and rope scaling hyperparameters).
struct RopeSpec {
  bool neox = false;        ///< pairs (j, j + n_rot/2) (qwen2/qwen3) instead of adjacent (2j, 2j+1) (llama)
  float freq_scale = 1.0f;  ///< 1 / {arch}.rope.scaling.factor for linear scaling; angles are multiplied by it
  const float* freq_factors = nullptr;  ///< rope_freqs.weight [n_rot/2] (llama 3.1): angle j divided by it
};

struct Vocab {
  std::string model;  ///< tokenizer.ggml.model: "llama" (SPM) or "gpt2" (byte-level BPE)
  std::string pre;    ///< BPE: tokenizer.ggml.pre ("" when absent, llama.cpp's "default")
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<std::int32_t> types;  ///< llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user, 6 byte
  std::vector<std::string> merges;  ///< BPE: tokenizer.ggml.merges, "left right", rank = index
  std::int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = true, add_eos = false, add_space_prefix = true;
};

namespace detail {

inline bool is_weight_type_supported(quant::Type t) {
  switch (t) {
    case quant::Type::f32: case quant::Type::f16: case quant::Type::bf16: case quant::Type::q8_0:
    case quant::Type::q4_0: case quant::Type::q4_1: case quant::Type::q5_0: case quant::Type::q5_1:
    case quant::Type::q4_k: case quant::Type::q5_k: case quant::Type::q6_k:
      return true;
    default:
      return false;
  }
}

/// An integer metadata value of any integer GGUF type; `fallback` when absent and not required.
inline std::int64_t meta_int(const gguf::Metadata& md, const std::string& key, bool required, std::int64_t fallback) {
  const gguf::Value* v = md.find(key);
  if (!v) {
    if (required) throw ModelError("so8t::llm: required key '" + key + "' is missing");
    return fallback;
  }
  using gguf::ValueType;
  switch (v->type()) {
    case ValueType::u8: return v->as<std::uint8_t>();
    case ValueType::i8: return v->as<std::int8_t>();
    case ValueType::u16: return v->as<std::uint16_t>();
    case ValueType::i16: return v->as<std::int16_t>();
    case ValueType::u32: return v->as<std::uint32_t>();
    case ValueType::i32: return v->as<std::int32_t>();
    case ValueType::i64: return v->as<std::int64_t>();
    case ValueType::u64: {
      const std::uint64_t u = v->as<std::uint64_t>();
      if (u > std::uint64_t(INT32_MAX)) throw ModelError("so8t::llm: key '" + key + "' = " + std::to_string(u) + " is too large");
      return static_cast<std::int64_t>(u);
    }
    default:
      throw ModelError("so8t::llm: key '" + key + "' must be an integer, found " + std::string(gguf::value_type_name(v->type())));
  }
}

inline float meta_float(const gguf::Metadata& md, const std::string& key, bool required, float fallback) {
  const gguf::Value* v = md.find(key);
  if (!v) {
    if (required) throw ModelError("so8t::llm: required key '" + key + "' is missing");
    return fallback;
  }
  if (v->type() == gguf::ValueType::f32) return v->as<float>();
  if (v->type() == gguf::ValueType::f64) return static_cast<float>(v->as<double>());
  throw ModelError("so8t::llm: key '" + key + "' must be a float, found " + std::string(gguf::value_type_name(v->type())));
}

inline bool meta_bool(const gguf::Metadata& md, const std::string& key, bool fallback) {
  const gguf::Value* v = md.find(key);
  if (!v) return fallback;
  if (v->type() != gguf::ValueType::boolean)
    throw ModelError("so8t::llm: key '" + key + "' must be a bool, found " + std::string(gguf::value_type_name(v->type())));
  return v->as<bool>();
}

/// An int hyperparameter that must be in [1, 2^30].
inline int positive_param(const gguf::Metadata& md, const std::string& key, bool required, std::int64_t fallback) {
  const std::int64_t v = meta_int(md, key, required, fallback);
  if (v <= 0 || v > (std::int64_t(1) << 30))
    throw ModelError("so8t::llm: key '" + key + "' = " + std::to_string(v) + ", expected a positive value");
  return static_cast<int>(v);
}

}  // namespace detail

/// The vocabulary of a GGUF's tokenizer.ggml.* keys (ModelError when a key is missing or malformed,
/// UnknownPreTokenizer for a BPE pre-tokenizer so8t does not know). "llama" = SPM, "gpt2" = byte-level BPE;
/// the defaults for absent keys are llama.cpp's (docs/tokenizers.md "Keys and defaults"). The BPE merges
/// are checked when a tokenizer is built from the vocabulary (BpeTokenizer).
inline Vocab read_vocab(const gguf::Metadata& md) {
  Vocab v;
  const gguf::Value* model = md.find("tokenizer.ggml.model");
  if (!model) throw ModelError("so8t::llm: required key 'tokenizer.ggml.model' is missing");
  if (model->type() != gguf::ValueType::string)
    throw ModelError("so8t::llm: tokenizer.ggml.model must be a string, found " + std::string(gguf::value_type_name(model->type())));
  v.model = model->as_string();
  const bool bpe = v.model == "gpt2";
  if (v.model != "llama" && !bpe)
    throw ModelError("so8t::llm: unsupported tokenizer \"" + v.model +
                     "\" (tokenizer.ggml.model); only \"llama\" (SPM) and \"gpt2\" (byte-level BPE)");
  const gguf::Value* toks = md.find("tokenizer.ggml.tokens");
  if (!toks) throw ModelError("so8t::llm: required key 'tokenizer.ggml.tokens' is missing");
  if (!toks->is_array() || toks->element_type() != gguf::ValueType::string)
    throw ModelError("so8t::llm: tokenizer.ggml.tokens must be an array of strings");
  v.tokens = toks->string_elements();
  const std::size_t n = v.tokens.size();
  if (n == 0 || n > (std::size_t(1) << 30))
    throw ModelError("so8t::llm: tokenizer.ggml.tokens has " + std::to_string(n) + " tokens");
  if (const gguf::Value* s = md.find("tokenizer.ggml.scores")) {
    if (!s->is_array() || s->element_type() != gguf::ValueType::f32 || s->size() != n)
      throw ModelError("so8t::llm: tokenizer.ggml.scores must be " + std::to_string(n) + " f32 values, found " +
                       s->to_display(0));
    v.scores = s->as_array<float>();
  } else {
    v.scores.assign(n, 0.0f);
  }
  if (const gguf::Value* t = md.find("tokenizer.ggml.token_type")) {
    if (!t->is_array() || t->element_type() != gguf::ValueType::i32 || t->size() != n)
      throw ModelError("so8t::llm: tokenizer.ggml.token_type must be " + std::to_string(n) + " i32 values, found " +
                       t->to_display(0));
    v.types = t->as_array<std::int32_t>();
  } else {
    v.types.assign(n, 1);
  }
  if (bpe) {
    const gguf::Value* m = md.find("tokenizer.ggml.merges");
    if (!m) throw ModelError("so8t::llm: required key 'tokenizer.ggml.merges' is missing (a \"gpt2\" vocabulary)");
    if (!m->is_array() || m->element_type() != gguf::ValueType::string)
      throw ModelError("so8t::llm: tokenizer.ggml.merges must be an array of strings");
    v.merges = m->string_elements();
    if (const gguf::Value* p = md.find("tokenizer.ggml.pre")) {
      if (p->type() != gguf::ValueType::string)
        throw ModelError("so8t::llm: tokenizer.ggml.pre must be a string, found " + std::string(gguf::value_type_name(p->type())));
      v.pre = p->as_string();
    }
  } else {
    // SPM must be able to spell a newline: llama.cpp looks up '<0x0A>' (else "\n") when it loads the
    // vocabulary and fails without one. This also refuses vocabularies of empty or placeholder strings,
    // which would otherwise load and turn every text into unknown tokens.
    if (std::find(v.tokens.begin(), v.tokens.end(), "<0x0A>") == v.tokens.end() &&
        std::find(v.tokens.begin(), v.tokens.end(), "\n") == v.tokens.end())
      throw ModelError("so8t::llm: tokenizer.ggml.tokens (" + std::to_string(n) +
                       " tokens) has no newline token ('<0x0A>' or \"\\n\"), which an SPM vocabulary needs");
  }
  // llama.cpp's defaults when the ids are absent: SPM <unk> 0, <s> 1, </s> 2; BPE bos = eos = 11, no unk.
  auto id = [&](const char* key, std::int64_t fallback) -> std::int32_t {
    const std::int64_t x = detail::meta_int(md, key, false, fallback < std::int64_t(n) ? fallback : -1);
    if (x < -1 || x >= std::int64_t(n))
      throw ModelError(std::string("so8t::llm: ") + key + " = " + std::to_string(x) + " is not a token id (n_vocab " +
                       std::to_string(n) + ")");
    return static_cast<std::int32_t>(x);
  };
  v.bos = id("tokenizer.ggml.bos_token_id", bpe ? 11 : 1);
  v.eos = id("tokenizer.ggml.eos_token_id", bpe ? 11 : 2);
  v.unk = id("tokenizer.ggml.unknown_token_id", bpe ? -1 : 0);
  // BPE: no BOS unless the pre-tokenizer's family adds one (llama 3, tekken); never a space prefix.
  const bool bos_default = bpe ? find_pre_tokenizer(v.pre).add_bos : true;
  v.add_bos = detail::meta_bool(md, "tokenizer.ggml.add_bos_token", bos_default);
  v.add_eos = detail::meta_bool(md, "tokenizer.ggml.add_eos_token", false);
  v.add_space_prefix = detail::meta_bool(md, "tokenizer.ggml.add_space_prefix", !bpe);
  if (v.add_bos && v.bos < 0)
    throw ModelError("so8t::llm: tokenizer.ggml.add_bos_token is true but there is no BOS token id");
  if (v.add_eos && v.eos < 0)
    throw ModelError("so8t::llm: tokenizer.ggml.add_eos_token is true but there is no EOS token id");
  return v;
}

/// The vocabulary of the GGUF file at `path`, without loading or checking its tensors (so8t_infer tokenize;
/// vocab-only files as llama.cpp writes them for its tokenizer tests).
inline Vocab open_vocab(const std::string& path) { return read_vocab(gguf::Reader::open(path).metadata()); }

class LlamaModel {
 public:
  /// Maps `path` (gguf::IoError / gguf::FormatError for an unreadable or malformed container) and checks
  /// it is a llama model (ModelError otherwise).
  static LlamaModel open(const std::string& path) {
    LlamaModel m;
    m.reader_.emplace(gguf::Reader::open(path));
    m.load();
    return m;
  }

  /// As open(), over a GGUF image in memory that must outlive the model (tests, the fuzz harness).
  static LlamaModel from_memory(const void* data, std::size_t size) {
    LlamaModel m;
    m.reader_.emplace(gguf::Reader::from_memory(data, size));
    m.load();
    return m;
  }

  const LlamaConfig& hparams() const noexcept { return hp_; }
  const Vocab& vocab() const noexcept { return vocab_; }
  const WeightView& token_embd() const noexcept { return tok_embd_; }
  const WeightView& output_norm() const noexcept { return out_norm_; }
  /// The output matrix; token_embd's view (named "token_embd.weight") when the file has no output.weight.
  const WeightView& output() const noexcept { return output_; }
  bool output_tied() const noexcept { return tied_; }
  Arch arch() const noexcept { return arch_; }
  const RopeSpec& rope() const noexcept { return rope_; }
  const std::vector<LlamaLayerView>& layers() const noexcept { return layers_; }
  const gguf::Reader& reader() const noexcept { return *reader_; }

  /// All 2-D weights in execution order: per layer q, k, v, o, gate, up, down, then output.
  std::vector<const WeightView*> matrices() const {
    std::vector<const WeightView*> out;
    for (const LlamaLayerView& l : layers_)
      for (const WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) out.push_back(w);
    out.push_back(&output_);
    return out;
  }

  /// Tensor count per type over the file's tensors used by the model, e.g. "f32: 5, q8_0: 16".
  std::string type_summary() const {
    std::map<std::string, int> count;
    std::vector<const WeightView*> all = {&tok_embd_, &out_norm_};
    if (!tied_) all.push_back(&output_);
    if (rope_freqs_.data) all.push_back(&rope_freqs_);
    for (const LlamaLayerView& l : layers_)
      for (const WeightView* w : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down,
                                  &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm})
        if (w->data) all.push_back(w);
    for (const WeightView* w : all) ++count[quant::type_name(w->type)];
    std::string s;
    for (const auto& [name, n] : count) s += (s.empty() ? "" : ", ") + name + ": " + std::to_string(n);
    return s;
  }

 private:
  LlamaModel() = default;

  WeightView weight(const std::string& name, std::int64_t cols, std::int64_t rows, bool vector) {
    const gguf::TensorInfo* t = reader_->find_tensor(name);
    if (!t) throw ModelError("so8t::llm: required tensor '" + name + "' is missing");
    const std::string expect = vector ? "[" + std::to_string(cols) + "]"
                                      : "[" + std::to_string(cols) + ", " + std::to_string(rows) + "]";
    const bool shape_ok = vector ? (t->ne[0] == cols && t->ne[1] == 1 && t->ne[2] == 1 && t->ne[3] == 1)
                                 : (t->ne[0] == cols && t->ne[1] == rows && t->ne[2] == 1 && t->ne[3] == 1);
    if (!shape_ok)
      throw ModelError("so8t::llm: tensor '" + name + "' has shape " + t->shape_string() + ", expected " + expect);
    if (vector && t->type != quant::Type::f32)
      throw ModelError("so8t::llm: norm tensor '" + name + "' is " + quant::type_name(t->type) + ", expected f32");
    if (!detail::is_weight_type_supported(t->type))
      throw ModelError("so8t::llm: tensor '" + name + "' has unsupported type " + quant::type_name(t->type));
    const gguf::TensorView v = reader_->tensor(name);
    if (v.size != quant::row_bytes(t->type, cols) * static_cast<std::size_t>(vector ? 1 : rows))
      throw ModelError("so8t::llm: tensor '" + name + "' holds " + std::to_string(v.size) + " bytes, expected " +
                       std::to_string(quant::row_bytes(t->type, cols) * static_cast<std::size_t>(vector ? 1 : rows)));
    if (vector)  // a NaN norm weight would turn finite through q8 activations and go unnoticed
      if (const std::size_t bad = first_non_finite(reinterpret_cast<const float*>(v.data), std::size_t(cols));
          bad < std::size_t(cols))
        throw ModelError("so8t::llm: norm tensor '" + name + "' holds " +
                         std::to_string(reinterpret_cast<const float*>(v.data)[bad]) + " at index " + std::to_string(bad));
    used_.push_back(name);
    return WeightView{name, t->type, vector ? 1 : rows, cols, v.data, v.size};
  }

  /// A vector tensor that may be absent (an empty view then).
  WeightView optional_vector(const std::string& name, std::int64_t cols) {
    return reader_->find_tensor(name) ? weight(name, cols, 1, true) : WeightView{};
  }

  void load() {
    const gguf::Metadata& md = reader_->metadata();
    using detail::positive_param;
    const gguf::Value* arch = md.find("general.architecture");
    if (!arch) throw ModelError("so8t::llm: required key 'general.architecture' is missing");
    const std::string arch_s = arch->type() == gguf::ValueType::string ? arch->as_string() : std::string();
    if (arch_s == "llama") arch_ = Arch::llama;
    else if (arch_s == "qwen2") arch_ = Arch::qwen2;
    else if (arch_s == "qwen3") arch_ = Arch::qwen3;
    else
      throw ModelError("so8t::llm: general.architecture is " + arch->to_display() +
                       ", expected \"llama\", \"qwen2\" or \"qwen3\"");
    const std::string a = arch_s + ".";  // every hyperparameter key is prefixed by the architecture

    hp_.gate_stack = 0;  // a model file has no gates (so8t bakes them into attn_output.weight)
    hp_.dim = positive_param(md, a + "embedding_length", true, 0);
    hp_.n_layers = positive_param(md, a + "block_count", true, 0);
    hp_.ffn = positive_param(md, a + "feed_forward_length", true, 0);
    hp_.n_heads = positive_param(md, a + "attention.head_count", true, 0);
    hp_.n_kv_heads = positive_param(md, a + "attention.head_count_kv", false, hp_.n_heads);
    hp_.ctx = positive_param(md, a + "context_length", true, 0);
    hp_.norm_eps = detail::meta_float(md, a + "attention.layer_norm_rms_epsilon", true, 0.0f);
    hp_.rope_theta = detail::meta_float(md, a + "rope.freq_base", false, 10000.0f);
    if (!(hp_.norm_eps > 0.0f) || !(hp_.norm_eps < 1.0f))
      throw ModelError("so8t::llm: " + a + "attention.layer_norm_rms_epsilon = " + std::to_string(hp_.norm_eps) +
                       ", expected in (0, 1)");
    // >= 1: a tiny (denormal) base overflows theta^(-2/n_rot) and every logit is NaN
    if (!(hp_.rope_theta >= 1.0f) || !(hp_.rope_theta < 1e30f)) {
      char v[32];
      std::snprintf(v, sizeof v, "%g", double(hp_.rope_theta));
      throw ModelError("so8t::llm: " + a + "rope.freq_base = " + std::string(v) + ", expected 1 .. 1e30");
    }
    if (md.contains(a + "attention.key_length")) {  // head width not tied to n_embd (Qwen3: 128 vs 2560 / 32)
      hp_.n_head_dim = positive_param(md, a + "attention.key_length", true, 0);
      const int vl = positive_param(md, a + "attention.value_length", false, hp_.n_head_dim);
      if (vl != hp_.n_head_dim)
        throw ModelError("so8t::llm: " + a + "attention.value_length = " + std::to_string(vl) + " differs from " + a +
                         "attention.key_length = " + std::to_string(hp_.n_head_dim) + " (so8t needs them equal)");
    } else if (hp_.dim % hp_.n_heads != 0) {
      throw ModelError("so8t::llm: " + a + "embedding_length = " + std::to_string(hp_.dim) + " is not a multiple of " +
                       a + "attention.head_count = " + std::to_string(hp_.n_heads) + " (and there is no " + a +
                       "attention.key_length)");
    }
    if (hp_.n_heads % hp_.n_kv_heads != 0)
      throw ModelError("so8t::llm: " + a + "attention.head_count = " + std::to_string(hp_.n_heads) +
                       " is not a multiple of " + a + "attention.head_count_kv = " + std::to_string(hp_.n_kv_heads));
    hp_.n_rot = positive_param(md, a + "rope.dimension_count", false, hp_.head_dim());
    if (hp_.n_rot > hp_.head_dim() || hp_.n_rot % 2 != 0)
      throw ModelError("so8t::llm: " + a + "rope.dimension_count = " + std::to_string(hp_.n_rot) +
                       ", expected an even value <= head dim " + std::to_string(hp_.head_dim()));
    read_rope_scaling(md, a);

    vocab_ = read_vocab(md);
    hp_.vocab = static_cast<int>(vocab_.tokens.size());
    if (md.contains(a + "vocab_size")) {
      const std::int64_t vs = detail::meta_int(md, a + "vocab_size", true, 0);
      if (vs != hp_.vocab)
        throw ModelError("so8t::llm: " + a + "vocab_size = " + std::to_string(vs) + " but tokenizer.ggml.tokens has " +
                         std::to_string(hp_.vocab) + " tokens");
    }

    const std::int64_t E = hp_.dim, hd = hp_.head_dim(), q_width = hp_.n_heads * hd, kv_width = hp_.n_kv_heads * hd;
    namespace tn = tensor_names;
    tok_embd_ = weight(tn::token_embd, E, hp_.vocab, false);
    if (reader_->find_tensor(tn::rope_freqs)) {
      rope_freqs_ = weight(tn::rope_freqs, hp_.n_rot / 2, 1, true);
      const float* ff = static_cast<const float*>(rope_freqs_.data);
      for (int j = 0; j < hp_.n_rot / 2; ++j)
        if (!(ff[j] > 0.0f))
          throw ModelError("so8t::llm: tensor 'rope_freqs.weight' holds " + std::to_string(ff[j]) + " at index " +
                           std::to_string(j) + ", expected > 0 (it divides a RoPE angle)");
      rope_.freq_factors = ff;
    }
    for (int il = 0; il < hp_.n_layers; ++il) {
      auto name = [il](const char* t) { return tn::block(il, t); };
      LlamaLayerView l;
      l.attn_norm = weight(name(tn::attn_norm), E, 1, true);
      l.wq = weight(name(tn::attn_q), E, q_width, false);
      l.wk = weight(name(tn::attn_k), E, kv_width, false);
      l.wv = weight(name(tn::attn_v), E, kv_width, false);
      if (arch_ == Arch::qwen2) {  // llama.cpp: required for qwen2, optional for llama, absent in qwen3
        l.bq = weight(name(tn::attn_q_bias), q_width, 1, true);
        l.bk = weight(name(tn::attn_k_bias), kv_width, 1, true);
        l.bv = weight(name(tn::attn_v_bias), kv_width, 1, true);
      } else if (arch_ == Arch::llama) {
        l.bq = optional_vector(name(tn::attn_q_bias), q_width);
        l.bk = optional_vector(name(tn::attn_k_bias), kv_width);
        l.bv = optional_vector(name(tn::attn_v_bias), kv_width);
      }
      if (arch_ == Arch::qwen3) {
        l.q_norm = weight(name(tn::attn_q_norm), hd, 1, true);
        l.k_norm = weight(name(tn::attn_k_norm), hd, 1, true);
      }
      l.wo = weight(name(tn::attn_output), q_width, E, false);
      l.ffn_norm = weight(name(tn::ffn_norm), E, 1, true);
      l.w_gate = weight(name(tn::ffn_gate), E, hp_.ffn, false);
      l.w_up = weight(name(tn::ffn_up), E, hp_.ffn, false);
      l.w_down = weight(name(tn::ffn_down), hp_.ffn, E, false);
      layers_.push_back(std::move(l));
    }
    out_norm_ = weight(tn::output_norm, E, 1, true);
    tied_ = reader_->find_tensor(tn::output) == nullptr;  // llama.cpp: missing output => tied embeddings
    output_ = tied_ ? tok_embd_ : weight(tn::output, E, hp_.vocab, false);
    // As llama.cpp, a tensor the architecture does not use means the file is not what it claims to be.
    if (reader_->tensors().size() != used_.size())
      for (const gguf::TensorInfo& t : reader_->tensors())
        if (std::find(used_.begin(), used_.end(), t.name) == used_.end())
          throw ModelError("so8t::llm: unexpected tensor '" + t.name + "' (" + std::to_string(reader_->tensors().size()) +
                           " tensors, a " + arch_s + " model of " + std::to_string(hp_.n_layers) + " layers has " +
                           std::to_string(used_.size()) + ")");
  }

  /// RoPE type and scaling as llama.cpp reads them: NEOX pairs for qwen2 / qwen3; {arch}.rope.scaling.type
  /// (default "linear") with {arch}.rope.scaling.factor (or the older {arch}.rope.scale_linear): "none"
  /// ignores the factor, "linear" divides every angle by it; YaRN and LongRoPE are refused by name.
  void read_rope_scaling(const gguf::Metadata& md, const std::string& a) {
    rope_.neox = arch_ == Arch::qwen2 || arch_ == Arch::qwen3;
    std::string type = "linear";
    if (const gguf::Value* v = md.find(a + "rope.scaling.type")) {
      if (v->type() != gguf::ValueType::string)
        throw ModelError("so8t::llm: " + a + "rope.scaling.type must be a string, found " +
                         std::string(gguf::value_type_name(v->type())));
      type = v->as_string();
    }
    if (type != "none" && type != "linear")
      throw ModelError("so8t::llm: " + a + "rope.scaling.type = \"" + type +
                       "\" is not supported (so8t runs \"none\" and \"linear\")");
    const std::string factor_key = md.contains(a + "rope.scaling.factor") ? a + "rope.scaling.factor" : a + "rope.scale_linear";
    const float factor = detail::meta_float(md, factor_key, false, 0.0f);
    if (factor != 0.0f && !(factor >= 1e-3f && factor <= 1e6f)) {
      char v[32];
      std::snprintf(v, sizeof v, "%g", double(factor));
      throw ModelError("so8t::llm: " + factor_key + " = " + v + ", expected 0 (none) or 0.001 .. 1e6");
    }
    rope_.freq_scale = (type == "none" || factor == 0.0f) ? 1.0f : 1.0f / factor;
  }

  std::optional<gguf::Reader> reader_;
  LlamaConfig hp_;
  Vocab vocab_;
  WeightView tok_embd_, out_norm_, output_, rope_freqs_;
  Arch arch_ = Arch::llama;
  RopeSpec rope_;
  std::vector<std::string> used_;  ///< names of the tensors load() took
  bool tied_ = false;
  std::vector<LlamaLayerView> layers_;
};

}  // namespace so8t::llm
