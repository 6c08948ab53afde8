// Seed inputs for fuzz_model.cpp: tiny llama models (byte vocabulary, one layer, d 8) in f32 and f16, written
// by so8t's own writer, small enough for the fuzzer's -max_len. Usage: make_model_corpus DIR
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "so8t/llm/model/gguf_writer.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_model_corpus DIR\n");
    return 2;
  }
  so8t::llm::LlamaConfig c;
  c.dim = 8;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.ffn = 16;
  c.ctx = 8;
  c.gate_stack = 0;
  std::vector<float> params(so8t::llm::llama_layout(c).total);
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 0.5f);
  for (float& p : params) p = n(rng);
  const std::string dir = argv[1];
  so8t::llm::write_llama_gguf(dir + "/tiny-f32.gguf", c, params.data(), so8t::quant::Type::f32, "fuzz seed");
  so8t::llm::write_llama_gguf(dir + "/tiny-f16.gguf", c, params.data(), so8t::quant::Type::f16, "fuzz seed");
  return 0;
}
