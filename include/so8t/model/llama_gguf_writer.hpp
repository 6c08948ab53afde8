// so8t/model/llama_gguf_writer.hpp: the baked model as a plain llama.cpp "llama" GGUF, and reading one back.
//
// write_llama_gguf writes what llama.cpp's LLM_ARCH_LLAMA loader needs (../shared/specs/ggml-quant-and-gguf.md
// §7; key list and types as ../shared/testdata/llama/MANIFEST.md, a file llama.cpp loads): general.*,
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

#include "so8t/errors.hpp"
#include "so8t/gguf/gguf.hpp"
#include "so8t/model/llama_config.hpp"
#include "so8t/model/llama_params.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t::model {

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
  throw InvalidArgument(std::string("so8t::model::write_llama_gguf: matrix type ") + quant::type_name(t) +
                        " (expected f32 or f16; quantize with so8t::model::quantize_gguf)");
}

/// Writes params (llama_layout(cfg) order, gates already folded; gate tensors are skipped) as a llama.cpp
/// "llama" GGUF. Norm vectors f32, matrices and token_embd `matrix_type` (f32, f16 or bf16). Atomic (temp
/// file + rename in gguf::Writer::finish). `baked_from` (optional) goes to so8t.baked_from, cfg.gate_stack
/// to so8t.gate_stack (how many gates were folded per layer). Throws InvalidArgument / gguf::IoError.
inline void write_llama_gguf(const std::string& path, const LlamaConfig& cfg, const float* params,
                             quant::Type matrix_type, const std::string& name, const std::string& baked_from = "") {
  const ParamLayout layout = llama_layout(cfg);
  const std::uint32_t ftype = llama_ftype_for_matrix_type(matrix_type);
  if (params == nullptr) throw InvalidArgument("so8t::model::write_llama_gguf: null params");
  gguf::Writer w(path);
  const std::string a = "llama.";
  w.add("general.architecture", std::string("llama"));
  w.add("general.name", name);
  w.add("general.file_type", ftype);
  w.add("general.quantization_version", std::uint32_t(2));
  w.add(a + "context_length", std::uint32_t(cfg.ctx));
  w.add(a + "embedding_length", std::uint32_t(cfg.dim));
  w.add(a + "block_count", std::uint32_t(cfg.n_layers));
  w.add(a + "feed_forward_length", std::uint32_t(cfg.ffn));
  w.add(a + "attention.head_count", std::uint32_t(cfg.n_heads));
  w.add(a + "attention.head_count_kv", std::uint32_t(cfg.n_kv_heads));
  w.add(a + "attention.layer_norm_rms_epsilon", float(cfg.norm_eps));
  w.add(a + "rope.freq_base", float(cfg.rope_theta));
  w.add(a + "rope.dimension_count", std::uint32_t(cfg.head_dim()));
  w.add(a + "vocab_size", std::uint32_t(cfg.vocab));
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
  w.add("so8t.rope_theta", cfg.rope_theta);  // f64 copies of the two f32 keys
  w.add("so8t.norm_eps", cfg.norm_eps);
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

/// Reads a "llama" GGUF with this model family's tensors (any tensor type so8t::quant decodes, converted to
/// f32). Throws gguf::IoError / gguf::FormatError (unreadable, truncated, missing / mistyped key) or
/// InvalidArgument (wrong architecture, missing tensor, wrong shape).
inline LlamaGguf read_llama_gguf(const std::string& path) {
  const gguf::Reader r = gguf::Reader::open(path);
  const gguf::Metadata& md = r.metadata();
  const std::string arch = md.get<std::string>("general.architecture");
  if (arch != "llama")
    throw InvalidArgument("so8t::model::read_llama_gguf: '" + path + "' has architecture '" + arch +
                          "', expected 'llama'");
  LlamaGguf m;
  LlamaConfig& c = m.cfg;
  c.gate_stack = 0;
  c.ctx = int(md.get<std::uint32_t>("llama.context_length"));
  c.dim = int(md.get<std::uint32_t>("llama.embedding_length"));
  c.n_layers = int(md.get<std::uint32_t>("llama.block_count"));
  c.ffn = int(md.get<std::uint32_t>("llama.feed_forward_length"));
  c.n_heads = int(md.get<std::uint32_t>("llama.attention.head_count"));
  c.n_kv_heads = md.find("llama.attention.head_count_kv") ? int(md.get<std::uint32_t>("llama.attention.head_count_kv"))
                                                          : c.n_heads;
  if (md.find("llama.vocab_size")) {
    c.vocab = int(md.get<std::uint32_t>("llama.vocab_size"));
  } else {
    const gguf::Value* toks = md.find("tokenizer.ggml.tokens");
    if (!toks) throw InvalidArgument("so8t::model::read_llama_gguf: '" + path + "' has neither llama.vocab_size nor tokenizer.ggml.tokens");
    c.vocab = int(toks->size());
  }
  c.norm_eps = md.find("so8t.norm_eps") ? md.get<double>("so8t.norm_eps")
                                        : double(md.get<float>("llama.attention.layer_norm_rms_epsilon"));
  c.rope_theta = md.find("so8t.rope_theta") ? md.get<double>("so8t.rope_theta")
                 : md.find("llama.rope.freq_base") ? double(md.get<float>("llama.rope.freq_base"))
                                                   : 10000.0;
  if (md.find("general.file_type")) m.file_type = md.get<std::uint32_t>("general.file_type");
  if (md.find("general.name")) m.name = md.get<std::string>("general.name");
  const ParamLayout layout = llama_layout(c);  // validates the hyperparameters
  m.params.assign(layout.total, 0.f);
  for (const auto& t : layout.tensors) {
    const gguf::TensorInfo* info = r.find_tensor(t.name);
    if (!info) throw InvalidArgument("so8t::model::read_llama_gguf: '" + path + "' has no tensor '" + t.name + "'");
    const auto want = gguf_shape(t);
    bool ok = info->n_dims == want.size();
    for (std::size_t i = 0; ok && i < want.size(); ++i) ok = info->ne[i] == want[i];
    if (!ok) {
      std::string ws = "[";
      for (std::size_t i = 0; i < want.size(); ++i) ws += (i ? ", " : "") + std::to_string(want[i]);
      throw InvalidArgument("so8t::model::read_llama_gguf: tensor '" + t.name + "' has shape " + info->shape_string() +
                            ", expected " + ws + "]");
    }
    const gguf::TensorView v = r.tensor(t.name);
    quant::dequantize(info->type, v.data, m.params.data() + t.offset, std::int64_t(t.rows), std::int64_t(t.cols));
  }
  return m;
}

}  // namespace so8t::model
