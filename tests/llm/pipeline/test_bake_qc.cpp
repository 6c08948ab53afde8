// so8t::llm pipeline/bake_qc.hpp and the shared QC pieces it uses from pipeline/qc.hpp: so8t_bake's targets
// (defaults, overrides, the miss message), its reports (JSON keys, Markdown, the printed summary), and the QC
// run itself on a random gated checkpoint: a correct bake passes, a bake with transposed gates misses.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "so8t/llm/model/gguf_writer.hpp"
#include "so8t/llm/pipeline/bake.hpp"
#include "so8t/llm/pipeline/bake_qc.hpp"
#include "so8t/llm/pipeline/qc.hpp"

namespace {

namespace fs = std::filesystem;
using namespace so8t::llm;
namespace quant = so8t::quant;

TEST(BakeQcTargets, DefaultsPerTypeAndOverrides) {
  so8t::calib::LogitComparison c;
  c.max_abs_diff = 2e-6;
  c.kl_max = 5e-7;
  c.top1_agreement = 0.995;
  const auto f32 = bake_targets(quant::Type::f32, c);
  ASSERT_EQ(f32.size(), 2u);
  EXPECT_EQ(f32[0].what, "max |dz|");
  EXPECT_EQ(f32[0].bound, 1e-5);
  EXPECT_EQ(f32[1].what, "max KL");
  EXPECT_EQ(f32[1].bound, 1e-6);
  EXPECT_TRUE(all_ok(f32));
  EXPECT_EQ(missed_targets(f32), "");

  const auto f16 = bake_targets(quant::Type::f16, c);
  ASSERT_EQ(f16.size(), 3u);
  EXPECT_EQ(f16[0].bound, 1e-2);
  EXPECT_EQ(f16[1].bound, 1e-5);
  EXPECT_EQ(f16[2].what, "top-1 agreement");
  EXPECT_EQ(f16[2].bound, 0.99);
  EXPECT_FALSE(f16[2].upper);
  EXPECT_TRUE(all_ok(f16));

  // --max-dz / --max-kl replace the two bounds (0 is a bound, only < 0 means "the default")
  const auto tight = bake_targets(quant::Type::f16, c, 1e-6, 0.0);
  EXPECT_EQ(tight[0].bound, 1e-6);
  EXPECT_EQ(tight[1].bound, 0.0);
  EXPECT_EQ(tight[2].bound, 0.99);
  EXPECT_FALSE(all_ok(tight));
  EXPECT_EQ(missed_targets(tight),
            "max |dz| <= 1.0e-06 (measured 2.000e-06); max KL <= 0.0e+00 (measured 5.000e-07)");

  c.top1_agreement = 0.5;  // a lower bound misses from below
  const auto low = bake_targets(quant::Type::f16, c);
  EXPECT_FALSE(low[2].ok());
  EXPECT_EQ(missed_targets(low), "top-1 agreement >= 9.9e-01 (measured 5.000e-01)");
}

BakeQcReport synthetic_report(int gate_stack) {
  BakeQcReport r;
  r.in = "ck.gguf";
  r.out = "m.gguf";
  r.type = "f32";
  r.data = "kjv";
  r.cfg.ctx = 16;
  r.cfg.gate_stack = gate_stack;
  r.file.tokens = 64;
  r.file.max_abs_diff = 3e-6;
  r.file.kl_max = 2e-6;  // misses the f32 KL bound
  r.file.top1_agreement = 1.0;
  r.in_memory = r.file;
  r.file_float = r.file;
  r.drift.max_error = 1e-7;
  r.targets = bake_targets(quant::Type::f32, r.file);
  return r;
}

TEST(BakeQcReport, JsonKeysInOrder) {
  const std::string j = to_json(synthetic_report(2)).dump();
  std::size_t at = 0;
  for (const char* key : {"\"in\"", "\"out\"", "\"type\"", "\"gate_stack\"", "\"qc_data\"", "\"qc_tokens\"", "\"qc_forward\"",
                          "\"baked_in_memory\"", "\"baked_file\"", "\"baked_file_float_forward\"", "\"gate_drift\"",
                          "\"targets\"", "\"pass\""}) {
    const std::size_t k = j.find(key, at);
    ASSERT_NE(k, std::string::npos) << key << " missing or out of order in " << j;
    at = k;
  }
  EXPECT_NE(j.find("\"min_det\""), std::string::npos);
  EXPECT_NE(j.find("\"kl_max\""), std::string::npos);
  EXPECT_NE(j.find("false", j.find("\"pass\"")), std::string::npos);
  EXPECT_EQ(to_json(synthetic_report(0)).dump().find("gate_drift"), std::string::npos);  // no gates, no drift
}

TEST(BakeQcReport, MarkdownAndSummary) {
  const BakeQcReport r = synthetic_report(1);
  const std::string md = to_markdown(r);
  EXPECT_NE(md.find("# so8t_bake QC: ck.gguf -> m.gguf (f32)"), std::string::npos);
  EXPECT_NE(md.find("| baked file (f32) | 3.0000e-06 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1.0000 |"), std::string::npos);
  EXPECT_NE(md.find("| max \\|dz\\| | <= 1.0000e-05 | 3.0000e-06 | yes |"), std::string::npos) << md;
  EXPECT_NE(md.find("| max KL | <= 1.0000e-06 | 2.0000e-06 | **no** |"), std::string::npos) << md;
  EXPECT_NE(md.find("Gate drift max 1.0000e-07"), std::string::npos);
  EXPECT_NE(md.find("Result: FAIL (no output file written)"), std::string::npos);

  // user text stays text: no HTML, no extra table cells
  BakeQcReport evil = r;
  evil.in = "<script>alert(1)</script>|x";
  evil.data = "a_b*c`d\nnew row";
  const std::string emd = to_markdown(evil);
  EXPECT_EQ(emd.find("<script>"), std::string::npos) << emd;
  EXPECT_NE(emd.find("# so8t_bake QC: &lt;script&gt;alert(1)&lt;/script&gt;\\|x -> m.gguf (f32)"), std::string::npos) << emd;
  EXPECT_NE(emd.find("held-out tokens of a\\_b\\*c\\`d new row."), std::string::npos) << emd;

  const std::string s = summary_text(r);
  EXPECT_NE(s.find("QC on 64 held-out tokens of 'kjv' (4 windows of 16)"), std::string::npos) << s;
  EXPECT_NE(s.find("  target max KL           <= 1.0e-06: measured 2.000e-06  MISS\n"), std::string::npos) << s;
  EXPECT_NE(s.find("gate drift ||R^T R - I||_F: max 1.000e-07"), std::string::npos) << s;
}

TEST(QcRowsCompare, RefusesRowsThatPredictDifferentTokens) {
  BasicRowLogits<double> a, b;
  a.vocab = b.vocab = 2;
  a.logits = {0.0, 1.0};
  b.logits = {0.0, 1.5};
  a.labels = {1};
  b.labels = {0};
  EXPECT_THROW(compare_rows(a, b), so8t::InvalidArgument);
  b.labels = {1};
  const auto c = compare_rows(a, b);
  EXPECT_EQ(c.tokens, 1u);
  EXPECT_DOUBLE_EQ(c.max_abs_diff, 0.5);
}

// ---- the QC run on a random gated checkpoint

Checkpoint random_checkpoint(int gate_stack, std::uint64_t seed) {
  Checkpoint ck;
  ck.cfg.dim = 64;
  ck.cfg.n_layers = 2;
  ck.cfg.n_heads = 4;
  ck.cfg.n_kv_heads = 2;
  ck.cfg.ffn = 128;
  ck.cfg.ctx = 16;
  ck.cfg.gate_stack = gate_stack;
  const ParamLayout p = llama_layout(ck.cfg);
  ck.params.assign(p.total, 0.f);
  llama_init(ck.cfg, p, ck.params.data(), seed, 0.3);
  for (const auto& t : p.tensors)  // logits O(1), so that the gates move them visibly
    if (t.kind == ParamKind::matrix || t.kind == ParamKind::embedding)
      for (std::size_t i = 0; i < t.size(); ++i) ck.params[t.offset + i] *= 10.f;
  return ck;
}

std::vector<Batch> random_batches(int ctx, std::size_t windows) {
  Corpus c;
  std::mt19937_64 rng(11);
  for (std::size_t i = 0; i < windows * std::size_t(ctx) + 1; ++i) {
    c.bytes.push_back(std::uint8_t(rng() % 256));
    c.doc.push_back(0);
  }
  c.documents = 1;
  return eval_batches(c, 8, ctx, windows);
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path((fs::temp_directory_path() / ("so8t_test_bake_qc_" + std::to_string(::getpid()) + "_" + name)).string()) {}
  ~TempFile() { fs::remove(path); }
};

TEST(BakeQcRun, CorrectBakePassesTransposedGatesMiss) {
  const Checkpoint ck = random_checkpoint(2, 5);
  const std::vector<Batch> batches = random_batches(ck.cfg.ctx, 10);
  {
    const std::vector<float> baked = bake(ck);
    TempFile f("ok.gguf");
    write_llama_gguf(f.path, ck.cfg, baked.data(), quant::Type::f32, "test");
    const BakeQcReport r = run_bake_qc(ck, baked, read_llama_gguf(f.path), batches);
    EXPECT_EQ(r.tokens(), 10u * 16u);  // every row of every window
    EXPECT_EQ(r.in_memory.tokens, r.tokens());
    EXPECT_LT(r.in_memory.max_abs_diff, 1e-5);
    EXPECT_LT(r.file.max_abs_diff, 1e-5);
    EXPECT_GT(r.drift.total_blocks, 0u);
    EXPECT_TRUE(all_ok(bake_targets(quant::Type::f32, r.file))) << missed_targets(bake_targets(quant::Type::f32, r.file));
  }
  {
    Checkpoint wrong = ck;  // exp(-A) = R^T: every gate folded transposed
    const ParamLayout p = llama_layout(ck.cfg);
    const std::size_t n = std::size_t(ck.cfg.gate_blocks()) * 28;
    for (const LayerOffsets& o : p.layers)
      for (std::size_t i = 0; i < n; ++i) {
        wrong.params[o.gate_safe + i] = -wrong.params[o.gate_safe + i];
        wrong.params[o.gate_cmd + i] = -wrong.params[o.gate_cmd + i];
      }
    const std::vector<float> baked = bake(wrong);
    TempFile f("wrong.gguf");
    write_llama_gguf(f.path, ck.cfg, baked.data(), quant::Type::f32, "test");
    const BakeQcReport r = run_bake_qc(ck, baked, read_llama_gguf(f.path), batches);
    EXPECT_GT(r.in_memory.max_abs_diff, 1e-2);
    EXPECT_FALSE(all_ok(bake_targets(quant::Type::f32, r.file)));
  }
}

TEST(BakeQcRun, WithoutGateTensorsChecksTheSize) {
  const Checkpoint ck = random_checkpoint(1, 3);
  std::vector<float> short_params(ck.params.begin(), ck.params.end() - 1);
  EXPECT_THROW(without_gate_tensors(ck.cfg, short_params), so8t::InvalidArgument);
  LlamaConfig c0 = ck.cfg;
  c0.gate_stack = 0;
  EXPECT_EQ(without_gate_tensors(ck.cfg, ck.params).size(), llama_layout(c0).total);
}

}  // namespace
