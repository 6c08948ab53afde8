// tests/llm/train/train_fixtures.hpp: inputs shared by the CPU training tests and their CUDA twins.
//
//   random_token_batch(B, T, seed)   B x T random tokens and targets, a document boundary inside every row
//   llama_config(dim, layers, heads, kv_heads, ffn, ctx, gate_stack)   a LlamaConfig with those sizes
//   two_layer_config(gate_stack)     a 2-layer, d = 32 model with GQA (2 heads, 1 KV head), ctx 32
//   short_run_options(steps, warmup) batch 4, lr 3e-3, gates started at std 0.05: a few-step training run
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/train/trainer.hpp"

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

inline so8t::llm::LlamaConfig llama_config(int dim, int n_layers, int n_heads, int n_kv_heads, int ffn, int ctx,
                                           int gate_stack) {
  so8t::llm::LlamaConfig c;
  c.dim = dim;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.ffn = ffn;
  c.ctx = ctx;
  c.gate_stack = gate_stack;
  return c;
}

inline so8t::llm::LlamaConfig two_layer_config(int gate_stack) { return llama_config(32, 2, 2, 1, 64, 32, gate_stack); }

inline so8t::llm::TrainOptions short_run_options(int steps, int warmup) {
  so8t::llm::TrainOptions opt;
  opt.batch = 4;
  opt.steps = steps;
  opt.warmup = warmup;
  opt.lr = 3e-3;
  opt.gate_init_std = 0.05;
  return opt;
}

}  // namespace train_test
