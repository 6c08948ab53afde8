// For emulate_llama_cuda.py: LlamaCpu<double> loss, parameters and gradients of one batch, written to dump.txt.
#include <cstdio>
#include <random>
#include <vector>
#include "so8t/llm/train/llama_cpu.hpp"
using namespace so8t::llm;
int main(int argc, char** argv) {
  LlamaConfig cfg = llama_preset("micro");
  cfg.gate_stack = atoi(argv[1]);
  int B = atoi(argv[2]), T = atoi(argv[3]);
  bool segs = atoi(argv[4]);
  if (argc > 5) { cfg.dim = 136; cfg.n_layers = 1; cfg.n_heads = 4; cfg.n_kv_heads = 2; cfg.ffn = 72; cfg.ctx = 160; }
  LlamaCpu<double> m(cfg);
  llama_init(cfg, m.layout(), m.params.data(), 7, 0.3);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (const auto& t : m.layout().tensors)
    for (std::size_t i = 0; i < t.size(); ++i) {
      double& w = m.params[t.offset + i];
      if (t.kind == ParamKind::norm) w = 1.0 + 0.2 * nd(rng);
      else if (t.kind != ParamKind::gate) w *= 10.0;
    }
  std::vector<std::int32_t> tok, tgt, seg;
  std::mt19937_64 r2(11);
  for (int i = 0; i < B * T; ++i) { tok.push_back(r2() % kVocab); tgt.push_back(r2() % kVocab); seg.push_back(i % T < T / 2 + 1 ? 0 : 1); }
  LossParts l = m.forward(tok.data(), tgt.data(), segs ? seg.data() : nullptr, B, T, 0.7);
  m.backward();
  FILE* f = fopen("dump.txt", "w");
  fprintf(f, "%d %d %d %d %d %d %d %d %d\n", cfg.dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.ffn, cfg.ctx, cfg.gate_stack, B, T);
  fprintf(f, "%.17g %.17g %.17g\n", l.ce, l.pet, l.loss);
  for (int i = 0; i < B * T; ++i) fprintf(f, "%d %d %d\n", tok[i], tgt[i], segs ? seg[i] : -1);
  fprintf(f, "%zu\n", m.params.size());
  for (std::size_t i = 0; i < m.params.size(); ++i) fprintf(f, "%.17g %.17g\n", m.params[i], m.grads[i]);
  // layout
  for (const auto& t : m.layout().tensors) fprintf(f, "T %s %zu %zu\n", t.name.c_str(), t.offset, t.size());
  // rotations of the gates for checking
  fclose(f);
}
