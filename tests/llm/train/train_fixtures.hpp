// tests/llm/train/train_fixtures.hpp: inputs shared by the CPU training tests and their CUDA twins.
//
//   random_token_batch(B, T, seed)   B x T random tokens and targets, a document boundary inside every row
//   two_layer_config(gate_stack)     a 2-layer, d = 32 model with GQA (2 heads, 1 KV head), ctx 32
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "so8t/llm/model/hparams.hpp"

namespace train_test {

struct TokenBatch {
  int B = 2, T = 8;
  std::vector<std::int32_t> tok, tgt, seg;
};

inline TokenBatch random_token_batch(int B, int T, std::uint64_t seed) {
  TokenBatch b;
  b.B = B;
  b.T = T;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < B * T; ++i) {
    b.tok.push_back(std::int32_t(rng() % so8t::llm::kVocab));
    b.tgt.push_back(std::int32_t(rng() % so8t::llm::kVocab));
    b.seg.push_back(i % T < T / 2 + 1 ? 0 : 1);  // a document boundary inside every row
  }
  return b;
}

inline so8t::llm::LlamaConfig two_layer_config(int gate_stack) {
  so8t::llm::LlamaConfig c;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.ffn = 64;
  c.ctx = 32;
  c.gate_stack = gate_stack;
  return c;
}

}  // namespace train_test
