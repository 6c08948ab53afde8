// so8t/llm/model/tensor_names.hpp: the GGUF tensor names of a llama model, one list for the trainer's
// parameter layout, the checkpoint, the GGUF loader and writer, and the bake / quantize rules.
//
// Names as llama.cpp's LLM_ARCH_LLAMA / QWEN2 / QWEN3 loaders expect them (docs/llama-gguf.md): token_embd.weight,
// blk.N.<tensor>, output_norm.weight, output.weight. The SO(8) gates are so8t's own tensors
// blk.N.so8_gate_safe / blk.N.so8_gate_cmd, present only in unbaked checkpoints.
#pragma once

#include <string>

namespace so8t::llm::tensor_names {

inline constexpr const char* token_embd = "token_embd.weight";
inline constexpr const char* output_norm = "output_norm.weight";
inline constexpr const char* output = "output.weight";
inline constexpr const char* rope_freqs = "rope_freqs.weight";  ///< llama 3.1 style per-pair frequency divisors

// Per block, in execution order.
inline constexpr const char* attn_norm = "attn_norm.weight";
inline constexpr const char* attn_q = "attn_q.weight";
inline constexpr const char* attn_k = "attn_k.weight";
inline constexpr const char* attn_v = "attn_v.weight";
inline constexpr const char* attn_q_bias = "attn_q.bias";  ///< qwen2 (llama: optional)
inline constexpr const char* attn_k_bias = "attn_k.bias";
inline constexpr const char* attn_v_bias = "attn_v.bias";
inline constexpr const char* attn_q_norm = "attn_q_norm.weight";  ///< qwen3: RMSNorm over each head, before RoPE
inline constexpr const char* attn_k_norm = "attn_k_norm.weight";
inline constexpr const char* gate_safe = "so8_gate_safe";
inline constexpr const char* gate_cmd = "so8_gate_cmd";
inline constexpr const char* attn_output = "attn_output.weight";
inline constexpr const char* ffn_norm = "ffn_norm.weight";
inline constexpr const char* ffn_gate = "ffn_gate.weight";
inline constexpr const char* ffn_up = "ffn_up.weight";
inline constexpr const char* ffn_down = "ffn_down.weight";

/// "blk.<layer>.<tensor>".
inline std::string block(int layer, const char* tensor) { return "blk." + std::to_string(layer) + "." + tensor; }

}  // namespace so8t::llm::tensor_names
