// so8t/llm/model/gguf_writer.hpp: the baked model as a plain llama.cpp "llama" GGUF, and reading one back.
//
// write_llama_gguf writes what llama.cpp's LLM_ARCH_LLAMA loader needs (docs/ggml-quant-and-gguf.md
// §7; key list and types as tests/data/llama/MANIFEST.md, a file llama.cpp loads): general.*,
// llama.* hyperparameters (u32, the two floats f32), the tensors with llama.cpp's names and ggml shapes
// (ne = {in, out}; norms always f32, matrices f32 or f16), no gate tensors (llama.cpp refuses extra
// tensors), and a SentencePiece ("llama", SPM) tokenizer that reproduces the byte vocabulary:
//
//   id b in 0..255  "<0xXX>" (uppercase hex), type 6 BYTE        - SPM's byte fallback maps byte b to it
//   id 32           "▁" (U+2581), type 1 NORMAL                  - SPM turns every space into ▁, so a space
//                                                                  is this piece, i.e. id 32 again
//   id 256 "<s>", 257 "</s>": type 3 CONTROL (BOS / EOS); ids >= 258 (padding): "[PAD<i>]", type 5 UNUSED
//
// No other piece is a printable character, so SPM's bigram merges never fire and every other byte falls back
// to its "<0xXX>" token: llama.cpp's token ids equal our byte ids. The model was trained on raw bytes
// without a BOS and without a leading space (examples/train + model/data.hpp: windows are consecutive bytes
// of the corpus, tokens[t] = byte), hence add_bos_token = false and add_space_prefix = false.
// tokenizer.ggml.unknown_token_id is not written: no piece of this vocabulary is <unk> (llama.cpp's SPM
// default of id 0 only matters for pieces that are neither in the vocabulary nor bytes, which cannot occur).
//
// read_llama_gguf reads such a file (any tensor type, dequantized to f32) into a LlamaConfig with
// gate_stack = 0 and flat params in llama_layout order, for the QC forward passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gguf/gguf.hpp"
#include "so8t/llm/model/checkpoint.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/model/param_layout.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t::llm {

inline constexpr const char* kSpmSpace = "\xE2\x96\x81";  ///< U+2581 LOWER ONE EIGHTH BLOCK

/// llama.cpp token types (llama_token_type).
enum class TokenType : std::int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

/// The SPM vocabulary of the header comment: pieces and types for `vocab` ids.
inline void byte_vocab_pieces(int vocab, std::vector<std::string>& tokens, std::vector<std::int32_t>& types) {
  tokens.clear();
  types.clear();
  for (int i = 0; i < vocab; ++i) {
    if (i == 32) {
      tokens.emplace_back(kSpmSpace);
      types.push_back(std::int32_t(TokenType::normal));
    } else if (i < kByteVocab) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "<0x%02X>", i);
      tokens.emplace_back(buf);
      types.push_back(std::int32_t(TokenType::byte));
    } else if (i == kBosToken) {
      tokens.emplace_back("<s>");
      types.push_back(std::int32_t(TokenType::control));
    } else if (i == kEosToken) {
      tokens.emplace_back("</s>");
      types.push_back(std::int32_t(TokenType::control));
    } else {
      tokens.push_back("[PAD" + std::to_string(i) + "]");
      types.push_back(std::int32_t(TokenType::unused));
    }
  }
}

/// llama_ftype of a file whose matrices are `matrix_type` (f32 -> 0 ALL_F32, f16 -> 1 MOSTLY_F16).
inline std::uint32_t llama_ftype_for_matrix_type(quant::Type t) {
  switch (t) {
    case quant::Type::f32: return 0;
    case quant::Type::f16: return 1;
    case quant::Type::bf16: return 32;
    default: break;
  }
  throw InvalidArgument(std::string("so8t::llm::write_llama_gguf: matrix type ") + quant::type_name(t) +
                        " (expected f32 or f16; quantize with so8t::llm::quantize_gguf)");
}

/// Writes params (llama_layout(cfg) order, gates already folded; gate tensors are skipped) as a llama.cpp
/// "llama" GGUF. Norm vectors f32, matrices and token_embd `matrix_type` (f32, f16 or bf16). Atomic (temp
/// file + rename in gguf::Writer::finish). `baked_from` (optional) goes to so8t.baked_from, cfg.gate_stack
/// to so8t.gate_stack (how many gates were folded per layer). Throws InvalidArgument / gguf::IoError.
inline void write_llama_gguf(const std::string& path, const LlamaConfig& cfg, const float* params,
                             quant::Type matrix_type, const std::string& name, const std::string& baked_from = "") {
  const ParamLayout layout = llama_layout(cfg);
  const std::uint32_t ftype = llama_ftype_for_matrix_type(matrix_type);
  if (params == nullptr) throw InvalidArgument("so8t::llm::write_llama_gguf: null params");
  gguf::Writer w(path);
  w.add("general.architecture", std::string("llama"));
  w.add("general.name", name);
  w.add("general.file_type", ftype);
  w.add("general.quantization_version", std::uint32_t(2));
  add_llama_hparams(w, "llama", cfg);  // + so8t.rope_theta / so8t.norm_eps (f64)
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  byte_vocab_pieces(cfg.vocab, tokens, types);
  w.add("tokenizer.ggml.model", std::string("llama"));
  w.add_metadata("tokenizer.ggml.tokens", gguf::Value::array(tokens));
  w.add_metadata("tokenizer.ggml.scores", gguf::Value::array(std::vector<float>(std::size_t(cfg.vocab), 0.f)));
  w.add_metadata("tokenizer.ggml.token_type", gguf::Value::array(types));
  w.add("tokenizer.ggml.bos_token_id", std::uint32_t(kBosToken));
  w.add("tokenizer.ggml.eos_token_id", std::uint32_t(kEosToken));
  w.add("tokenizer.ggml.add_bos_token", false);
  w.add("tokenizer.ggml.add_space_prefix", false);
  // provenance (llama.cpp ignores unknown keys)
  w.add("so8t.baked_from", baked_from);
  w.add("so8t.gate_stack", std::uint32_t(cfg.gate_stack));
  w.add("so8t.gates_baked", true);
  w.add("so8t.vocab", std::string("bytes 0..255 (space = U+2581 piece, id 32), 256 = <s>, 257 = </s>"));
  auto type_of = [&](const ParamTensor& t) { return t.kind == ParamKind::norm ? quant::Type::f32 : matrix_type; };
  for (const auto& t : layout.tensors)
    if (t.kind != ParamKind::gate) w.add_tensor(t.name, type_of(t), gguf_shape(t));
  std::vector<std::uint8_t> buf;
  for (const auto& t : layout.tensors) {
    if (t.kind == ParamKind::gate) continue;
    const quant::Type ty = type_of(t);
    buf.resize(t.rows * quant::row_bytes(ty, std::int64_t(t.cols)));
    quant::quantize(ty, params + t.offset, buf.data(), std::int64_t(t.rows), std::int64_t(t.cols));
    w.write_tensor(t.name, buf.data(), buf.size());
  }
  w.finish();
}

/// A llama GGUF read back: config (gate_stack 0) and f32 params in llama_layout(cfg) order.
struct LlamaGguf {
  LlamaConfig cfg;
  std::vector<float> params;
  std::uint32_t file_type = 0;
  std::string name;
};

/// Reads a "llama" GGUF into this model family's flat f32 layout (gate_stack 0; any tensor type so8t::quant
/// decodes, dequantized). The file is opened and validated by LlamaModel::open (gguf_llama.hpp: every
/// model-level check); additionally the RoPE must span the whole head (LlamaConfig has no partial RoPE) and
/// the so8t.rope_theta / so8t.norm_eps f64 copies are used when present. Throws gguf::IoError /
/// gguf::FormatError / ModelError / InvalidArgument.
inline LlamaGguf read_llama_gguf(const std::string& path) {
  const LlamaModel model = LlamaModel::open(path);
  const LlamaConfig& hp = model.hparams();
  const gguf::Metadata& md = model.reader().metadata();
  if (model.arch() != Arch::llama)
    throw InvalidArgument("so8t::llm::read_llama_gguf: '" + path + "' is a " + arch_name(model.arch()) +
                          " model; so8t's own model family is llama (no biases, no q/k norms, normal RoPE)");
  const RopeSpec& rs = model.rope();
  if (rs.freq_factors || rs.freq_scale != 1.0f)
    throw InvalidArgument("so8t::llm::read_llama_gguf: '" + path + "' has RoPE frequency factors or scaling, "
                          "which so8t's own model family does not have");
  for (const LlamaLayerView& l : model.layers())
    if (l.bq.data || l.bk.data || l.bv.data)
      throw InvalidArgument("so8t::llm::read_llama_gguf: '" + path + "' has attention biases, which so8t's own "
                            "model family does not have");
  if (hp.n_rot != hp.head_dim())
    throw InvalidArgument("so8t::llm::read_llama_gguf: '" + path + "' rotates " + std::to_string(hp.n_rot) + " of " +
                          std::to_string(hp.head_dim()) + " head dimensions (partial RoPE is not supported here)");
  LlamaGguf m;
  LlamaConfig& c = m.cfg;
  c = hp;  // gate_stack 0: a llama file has no gates
  c.norm_eps = md.find("so8t.norm_eps") ? md.get<double>("so8t.norm_eps") : hp.norm_eps;
  c.rope_theta = md.find("so8t.rope_theta") ? md.get<double>("so8t.rope_theta") : hp.rope_theta;
  if (md.find("general.file_type")) m.file_type = md.get<std::uint32_t>("general.file_type");
  if (md.find("general.name")) m.name = md.get<std::string>("general.name");
  const ParamLayout layout = llama_layout(c);  // validates the hyperparameters for this model family
  m.params.assign(layout.total, 0.f);
  auto load = [&](const WeightView& w, std::size_t offset) {
    quant::dequantize(w.type, w.data, m.params.data() + offset, w.rows, w.cols);
  };
  load(model.token_embd(), layout.tok_embd);
  for (int l = 0; l < c.n_layers; ++l) {
    const LlamaLayerView& v = model.layers()[std::size_t(l)];
    const LayerOffsets& o = layout.layers[std::size_t(l)];
    load(v.attn_norm, o.attn_norm);
    load(v.wq, o.wq);
    load(v.wk, o.wk);
    load(v.wv, o.wv);
    load(v.wo, o.wo);
    load(v.ffn_norm, o.ffn_norm);
    load(v.w_gate, o.w1);
    load(v.w_up, o.w3);
    load(v.w_down, o.w2);
  }
  load(model.output_norm(), layout.output_norm);
  load(model.output(), layout.output);  // token_embd again when the file ties them
  return m;
}

}  // namespace so8t::llm
