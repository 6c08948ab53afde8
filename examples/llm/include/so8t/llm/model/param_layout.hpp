// so8t/llm/model/param_layout.hpp: where each parameter tensor lives in one flat array, its GGUF name and shape,
// and the seeded initialisation.
//
// All parameters are in one contiguous array (llm.c style), in the order of `layout(cfg).tensors`. Matrices
// are [rows = out, cols = in] row-major, which is GGUF's ne = {in, out}. Names: so8t/llm/model/tensor_names.hpp;
// the gates are blk.N.so8_gate_safe / blk.N.so8_gate_cmd of shape [dim/8, 28] (GGUF ne = {28, dim/8}).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/model/tensor_names.hpp"

namespace so8t::llm {

enum class ParamKind : int { embedding, norm, matrix, gate };

struct ParamTensor {
  std::string name;
  std::size_t rows = 0, cols = 0;  ///< row-major [rows, cols]; a vector has rows = 1
  std::size_t offset = 0;          ///< into the flat array
  ParamKind kind = ParamKind::matrix;
  std::size_t size() const { return rows * cols; }
};

struct LayerOffsets {
  std::size_t attn_norm, wq, wk, wv, gate_safe, gate_cmd, wo, ffn_norm, w1, w3, w2;
};

struct ParamLayout {
  std::vector<ParamTensor> tensors;
  std::size_t tok_embd = 0, output_norm = 0, output = 0;
  std::vector<LayerOffsets> layers;
  std::size_t total = 0;

  const ParamTensor* find(const std::string& name) const {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
};

inline ParamLayout llama_layout(const LlamaConfig& c) {
  c.validate();
  ParamLayout p;
  auto add = [&](std::string name, std::size_t rows, std::size_t cols, ParamKind kind) {
    ParamTensor t{std::move(name), rows, cols, p.total, kind};
    p.total += t.size();
    p.tensors.push_back(t);
    return t.offset;
  };
  const std::size_t d = std::size_t(c.dim), kv = std::size_t(c.kv_dim()), f = std::size_t(c.ffn),
                    nb = std::size_t(c.gate_blocks());
  namespace tn = tensor_names;
  p.tok_embd = add(tn::token_embd, std::size_t(c.vocab), d, ParamKind::embedding);
  for (int l = 0; l < c.n_layers; ++l) {
    auto name = [l](const char* t) { return tn::block(l, t); };
    LayerOffsets o{};
    o.attn_norm = add(name(tn::attn_norm), 1, d, ParamKind::norm);
    o.wq = add(name(tn::attn_q), d, d, ParamKind::matrix);
    o.wk = add(name(tn::attn_k), kv, d, ParamKind::matrix);
    o.wv = add(name(tn::attn_v), kv, d, ParamKind::matrix);
    o.gate_safe = c.gate_stack >= 1 ? add(name(tn::gate_safe), nb, 28, ParamKind::gate) : 0;
    o.gate_cmd = c.gate_stack >= 2 ? add(name(tn::gate_cmd), nb, 28, ParamKind::gate) : 0;
    o.wo = add(name(tn::attn_output), d, d, ParamKind::matrix);
    o.ffn_norm = add(name(tn::ffn_norm), 1, d, ParamKind::norm);
    o.w1 = add(name(tn::ffn_gate), f, d, ParamKind::matrix);
    o.w3 = add(name(tn::ffn_up), f, d, ParamKind::matrix);
    o.w2 = add(name(tn::ffn_down), d, f, ParamKind::matrix);
    p.layers.push_back(o);
  }
  p.output_norm = add(tn::output_norm, 1, d, ParamKind::norm);
  p.output = add(tn::output, std::size_t(c.vocab), d, ParamKind::matrix);
  return p;
}

/// Seeded init: N(0, 0.02) for matrices and embeddings, N(0, 0.02 / sqrt(2 n_layers)) for the residual
/// projections (attn_output, ffn_down), ones for the norms, `gate_std` (0 = identity rotation) for the gates.
template <class S>
void llama_init(const LlamaConfig& c, const ParamLayout& p, S* params, std::uint64_t seed, double gate_std = 0.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double resid = 0.02 / std::sqrt(2.0 * c.n_layers);
  for (const auto& t : p.tensors) {
    S* w = params + t.offset;
    const bool is_resid = t.name.find("attn_output") != std::string::npos || t.name.find("ffn_down") != std::string::npos;
    for (std::size_t i = 0; i < t.size(); ++i) {
      switch (t.kind) {
        case ParamKind::norm: w[i] = S(1); break;
        case ParamKind::gate: w[i] = gate_std > 0.0 ? S(gate_std * normal(rng)) : S(0); break;
        default: w[i] = S((is_resid ? resid : 0.02) * normal(rng)); break;
      }
    }
  }
}

}  // namespace so8t::llm
