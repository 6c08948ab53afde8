// so8t/llm/model/hparams.hpp: the hyperparameters of a llama model, one struct for every part of the
// application: the trainer's presets, checkpoints, and GGUF files loaded for inference (LlamaModel::hparams()).
// The GGUF keys they map to are in docs/llama-gguf.md (llama.embedding_length = dim, block_count = n_layers, ...).
//
// Architecture as llama.cpp's "llama" (LLM_ARCH_LLAMA) expects it: RMSNorm (eps 1e-5), RoPE on adjacent pairs
// (2i, 2i+1) with theta 10000 (LLAMA_ROPE_TYPE_NORM), SwiGLU feed-forward w2(silu(w1 x) * w3 x), optional
// grouped-query attention, no biases. The models so8t trains have a byte-level vocabulary (ids 0..255 are the
// bytes, 256 = <s> (BOS), 257 = </s> (EOS)) and an untied output matrix; a loaded GGUF has its own tokenizer.
//
// The SO(8) gate sits on the attention output (width n_heads * head_dim = dim) before o_proj: dim/8 blocks of
// 28 so(8) coordinates each, R = exp(hat(a)). With gate_stack = 2 the block is R_cmd * R_safe (R_cmd after
// R_safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "so8t/base/errors.hpp"

namespace so8t::llm {

inline constexpr int kByteVocab = 256;
inline constexpr int kBosToken = 256;
inline constexpr int kEosToken = 257;
inline constexpr int kVocab = 258;

struct LlamaConfig {
  int vocab = kVocab;
  int dim = 128;         ///< d_model
  int n_layers = 4;
  int n_heads = 4;
  int n_kv_heads = 4;    ///< < n_heads: grouped-query attention
  int ffn = 512;         ///< SwiGLU hidden width
  int ctx = 128;         ///< context length (training sequence length)
  int gate_stack = 1;    ///< 1: R_safe only, 2: R_cmd after R_safe, 0: no gate
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  int n_rot = 0;         ///< RoPE dimensions per head (llama.rope.dimension_count); 0: the whole head
  int n_head_dim = 0;    ///< per-head width ({arch}.attention.key_length, Qwen3: 128 with dim 2560 / 32 heads);
                         ///< 0: dim / n_heads

  int head_dim() const { return n_head_dim > 0 ? n_head_dim : (n_heads > 0 ? dim / n_heads : 0); }
  int rope_dims() const { return n_rot > 0 ? n_rot : head_dim(); }
  int kv_dim() const { return n_kv_heads * head_dim(); }
  int gate_blocks() const { return dim / 8; }

  bool operator==(const LlamaConfig& o) const {
    return vocab == o.vocab && dim == o.dim && n_layers == o.n_layers && n_heads == o.n_heads &&
           n_kv_heads == o.n_kv_heads && ffn == o.ffn && ctx == o.ctx && gate_stack == o.gate_stack &&
           rope_theta == o.rope_theta && norm_eps == o.norm_eps && rope_dims() == o.rope_dims() &&
           head_dim() == o.head_dim();
  }
  bool operator!=(const LlamaConfig& o) const { return !(*this == o); }

  /// The checks of the model family so8t trains (byte vocabulary, gate blocks, full RoPE). Throws
  /// InvalidArgument naming the offending value. (A GGUF loaded for inference is checked by LlamaModel::open.)
  void validate() const {
    auto bad = [](const std::string& what) { throw InvalidArgument("so8t::llm::LlamaConfig: " + what); };
    if (vocab < kVocab) bad("vocab = " + std::to_string(vocab) + " < " + std::to_string(kVocab));
    if (dim <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv_heads <= 0 || ffn <= 0 || ctx <= 0)
      bad("dim, n_layers, n_heads, n_kv_heads, ffn, ctx must be > 0 (dim = " + std::to_string(dim) +
          ", n_layers = " + std::to_string(n_layers) + ", n_heads = " + std::to_string(n_heads) +
          ", n_kv_heads = " + std::to_string(n_kv_heads) + ", ffn = " + std::to_string(ffn) +
          ", ctx = " + std::to_string(ctx) + ")");
    if (dim % 8 != 0) bad("dim = " + std::to_string(dim) + " is not a multiple of 8 (SO(8) gate blocks)");
    if (dim % n_heads != 0) bad("dim = " + std::to_string(dim) + " is not a multiple of n_heads = " + std::to_string(n_heads));
    if (n_heads * head_dim() != dim)
      bad("n_heads * head_dim = " + std::to_string(n_heads) + " * " + std::to_string(head_dim()) + " != dim = " +
          std::to_string(dim) + " (the gate covers the attention output, which is dim wide here)");
    if (head_dim() % 2 != 0) bad("head_dim = " + std::to_string(head_dim()) + " is odd (RoPE pairs)");
    if (n_heads % n_kv_heads != 0)
      bad("n_heads = " + std::to_string(n_heads) + " is not a multiple of n_kv_heads = " + std::to_string(n_kv_heads));
    if (gate_stack < 0 || gate_stack > 2) bad("gate_stack = " + std::to_string(gate_stack) + " (must be 0, 1 or 2)");
    // rope_theta >= 1: a tiny (denormal) base overflows theta^(-2/n_rot) into NaN logits
    if (!(rope_theta >= 1.0 && rope_theta < 1e30) || !(norm_eps > 0.0 && norm_eps < 1.0))
      bad("rope_theta = " + std::to_string(rope_theta) + " (need 1 .. 1e30) or norm_eps = " + std::to_string(norm_eps) +
          " (need 0 .. 1) out of range");
    if (rope_dims() != head_dim())
      bad("n_rot = " + std::to_string(n_rot) + " != head_dim = " + std::to_string(head_dim()) + " (partial RoPE)");
  }
};

/// `tiny` (CPU), `tiny256` (CPU, the README's pipeline: about tiny's cost per token, but every matrix row is 256
/// or 512 long so that Q4_K / Q6_K apply instead of llama.cpp's ne0 % 256 fallbacks; the shape of the
/// llama.cpp reference model in tests/data/llama), `small` (GPU; every matrix row length a multiple of
/// 256), `ci` (the CI
/// pipeline run: rows a multiple of 32 so that Q8_0 applies, a gate stack, grouped-query attention), `micro`
/// (gradient checks).
inline LlamaConfig llama_preset(const std::string& name) {
  LlamaConfig c;
  if (name == "tiny") {
    c.dim = 128; c.n_layers = 4; c.n_heads = 4; c.n_kv_heads = 4; c.ffn = 512; c.ctx = 128;
  } else if (name == "small") {
    c.dim = 256; c.n_layers = 4; c.n_heads = 4; c.n_kv_heads = 4; c.ffn = 768; c.ctx = 256;
  } else if (name == "tiny256") {
    c.dim = 256; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.ffn = 512; c.ctx = 128;
  } else if (name == "ci") {
    c.dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.ffn = 128; c.ctx = 64; c.gate_stack = 2;
  } else if (name == "micro") {
    c.dim = 16; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.ffn = 24; c.ctx = 8; c.gate_stack = 2;
  } else {
    throw InvalidArgument("so8t::llm::llama_preset: unknown config '" + name + "' (tiny, tiny256, small, ci, micro)");
  }
  return c;
}

}  // namespace so8t::llm
