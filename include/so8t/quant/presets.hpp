// so8t/quant/presets.hpp: llama.cpp-style mixing presets - which ggml type each tensor of a llama-family
// model gets for "Q8_0", "Q4_K_M" and "Q5_K_M" (dense model, no importance matrix).
//
// Rules, following llama-quantize's per-tensor choice and fallback (spec §1 "Row-length rules"):
//
// | tensor                         | Q8_0  | Q4_K_M                        | Q5_K_M                        |
// | ------------------------------ | ----- | ----------------------------- | ----------------------------- |
// | 1-D tensors (norms), non-weight| F32   | F32                           | F32                           |
// | output.weight (*)              | Q8_0  | Q6_K                          | Q6_K                          |
// | blk.N.attn_v.weight            | Q8_0  | Q6_K if more_bits(N), else Q4_K | Q6_K if more_bits(N), else Q5_K |
// | blk.N.ffn_down.weight          | Q8_0  | Q6_K if more_bits(N), else Q4_K | Q6_K if more_bits(N), else Q5_K |
// | blk.N.attn_qkv.weight (fused)  | Q8_0  | Q5_K                          | Q6_K                          |
// | every other 2-D weight         | Q8_0  | Q4_K                          | Q5_K                          |
//
// (*) also token_embd.weight when the model has no output.weight (tied embeddings).
// more_bits(N) = N < L/8 || N >= 7L/8 || (N - L/8) % 3 == 2, integer division, L = number of layers:
// the first and last eighth of the layers and every third layer in between get 6 bits.
// Fallback when the row length ne0 is not a multiple of 256: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0
// (output.weight goes straight to Q8_0); then F16 when ne0 is not a multiple of 32 either.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "so8t/base/errors.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::quant {

enum class Preset { q8_0, q4_k_m, q5_k_m };

/// "Q8_0", "Q4_K_M", "Q5_K_M".
inline const char* preset_name(Preset p) {
  switch (p) {
    case Preset::q8_0: return "Q8_0";
    case Preset::q4_k_m: return "Q4_K_M";
    case Preset::q5_k_m: return "Q5_K_M";
  }
  return "?";
}

/// llama.cpp's use_more_bits(i_layer, n_layers).
inline bool preset_more_bits(int layer, int n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

namespace detail {
inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
/// N of "blk.N.<...>", or -1.
inline int block_index(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int n = 0;
  std::size_t i = 4;
  if (i >= name.size() || name[i] < '0' || name[i] > '9') return -1;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) n = n * 10 + (name[i] - '0');
  return (i < name.size() && name[i] == '.') ? n : -1;
}
}  // namespace detail

/// Shape facts the rules need about one tensor.
struct TensorShape {
  int n_dims;         ///< number of dimensions (1 for norms and biases)
  std::int64_t ne0;   ///< row length (contiguous dimension)
};

/// The type `preset` gives tensor `name` of a model with `n_layers` blocks; `has_output` is false for a
/// model whose output projection is tied to token_embd.weight. See the table at the top of this header.
inline Type preset_tensor_type(Preset preset, std::string_view name, TensorShape shape, int n_layers,
                               bool has_output = true) {
  if (n_layers <= 0) throw InvalidArgument("so8t::quant::preset_tensor_type: n_layers = " + std::to_string(n_layers));
  if (shape.ne0 <= 0) throw InvalidArgument("so8t::quant::preset_tensor_type: ne0 = " + std::to_string(shape.ne0));
  if (shape.n_dims < 2 || !detail::ends_with(name, "weight")) return Type::f32;
  const Type base = preset == Preset::q8_0 ? Type::q8_0 : preset == Preset::q4_k_m ? Type::q4_k : Type::q5_k;
  Type t = base;
  const bool is_output = name == "output.weight" || (!has_output && name == "token_embd.weight");
  const int layer = detail::block_index(name);
  if (is_output) {
    if (shape.ne0 % 256 != 0) t = Type::q8_0;
    else if (base != Type::q8_0) t = Type::q6_k;
  } else if (preset != Preset::q8_0 && layer >= 0) {
    if (detail::ends_with(name, ".attn_v.weight") || detail::ends_with(name, ".ffn_down.weight")) {
      if (preset_more_bits(layer, n_layers)) t = Type::q6_k;
    } else if (detail::ends_with(name, ".attn_qkv.weight")) {
      t = preset == Preset::q4_k_m ? Type::q5_k : Type::q6_k;
    }
  }
  if (block_size(t) == 256 && shape.ne0 % 256 != 0) {
    t = t == Type::q4_k ? Type::q5_0 : t == Type::q5_k ? Type::q5_1 : Type::q8_0;
  }
  if (shape.ne0 % block_size(t) != 0) t = Type::f16;
  return t;
}

}  // namespace so8t::quant
