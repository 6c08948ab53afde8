// The bake -> GGUF -> quantize pipeline (so8t/llm/pipeline/bake.hpp, so8t/llm/model/gguf_writer.hpp,
// so8t/llm/pipeline/quantize.hpp):
//  (a) folding the gates (stack of 1 and 2) into attn_output.weight leaves the logits unchanged; the reference
//      is the gated training forward (LlamaCpu), which rotates the activations explicitly, and a negative
//      control (gates folded transposed) shows the check can fail;
//  (b) write_llama_gguf writes the keys / types / vocabulary / tensors llama.cpp's "llama" loader needs;
//  (c) quantize_gguf: per-tensor types as llama-quantize's presets, dequantized weights close to the source,
//      metadata copied, the temperature key stored;
//  (d) bad inputs throw the right exception type with a clear message and leave no output file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <random>
#include <tuple>
#include <unistd.h>
#include <fstream>
#include <set>
#include <string>
#include <cstdlib>
#include <limits>
#include <vector>

#include "so8t/calib.hpp"
#include "so8t/gguf/gguf.hpp"
#include "so8t/llm/pipeline/bake.hpp"
#include "so8t/llm/model/checkpoint.hpp"
#include "so8t/llm/train/llama_cpu.hpp"
#include "so8t/llm/model/gguf_writer.hpp"
#include "so8t/llm/pipeline/quantize.hpp"

namespace {

namespace fs = std::filesystem;
using namespace so8t::llm;
namespace gguf = so8t::gguf;
namespace quant = so8t::quant;

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("so8t_test_bake_pipeline_" + std::to_string(::getpid()) + "_" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& f) const { return (dir / f).string(); }
  std::set<std::string> listing() const {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
    return s;
  }
};

LlamaConfig small_config(int gate_stack, int dim = 64) {
  LlamaConfig c;
  c.dim = dim;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.ffn = 2 * dim;
  c.ctx = 16;
  c.gate_stack = gate_stack;
  return c;
}

/// A random checkpoint with gates N(0, 0.3) and weights scaled up so the logits are O(1) and the attention
/// branch (where the gate sits) moves them visibly.
Checkpoint random_checkpoint(const LlamaConfig& c, std::uint64_t seed) {
  Checkpoint ck;
  ck.cfg = c;
  const ParamLayout p = llama_layout(c);
  ck.params.assign(p.total, 0.f);
  llama_init(c, p, ck.params.data(), seed, 0.3);
  for (const auto& t : p.tensors)
    if (t.kind == ParamKind::matrix || t.kind == ParamKind::embedding)
      for (std::size_t i = 0; i < t.size(); ++i) ck.params[t.offset + i] *= 10.f;
  return ck;
}

std::vector<std::int32_t> random_tokens(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& x : t) x = std::int32_t(rng() % 256);
  return t;
}

/// The gate-less params (gate_stack 0 layout) of a params vector in cfg's layout.
std::vector<float> strip_gates(const LlamaConfig& cfg, const std::vector<float>& params) {
  LlamaConfig c0 = cfg;
  c0.gate_stack = 0;
  const ParamLayout src = llama_layout(cfg), dst = llama_layout(c0);
  std::vector<float> out(dst.total);
  for (const auto& t : dst.tensors)
    std::copy_n(params.data() + src.find(t.name)->offset, t.size(), out.data() + t.offset);
  return out;
}

so8t::calib::LogitComparison compare(const std::vector<float>& a, const std::vector<float>& b, int vocab) {
  const std::size_t n = a.size() / std::size_t(vocab);
  return so8t::calib::compare_logits(so8t::calib::LogitsView<float>(a, n, std::size_t(vocab)),
                                     so8t::calib::LogitsView<float>(b, n, std::size_t(vocab)));
}

// ---- (a) bake equivalence

class BakeEquivalence : public ::testing::TestWithParam<int> {};

TEST_P(BakeEquivalence, BakedLogitsEqualGatedLogits) {
  const LlamaConfig cfg = small_config(GetParam());
  const Checkpoint ck = random_checkpoint(cfg, 7 + std::uint64_t(GetParam()));
  const int B = 3, T = cfg.ctx;
  const auto tokens = random_tokens(B * T, 11);

  LlamaCpu<float> gated(cfg);
  gated.params = ck.params;
  const std::vector<float> z_ref = gated.forward_logits(tokens.data(), B, T);

  const std::vector<float> baked = bake(ck);
  LlamaConfig c0 = cfg;
  c0.gate_stack = 0;
  LlamaCpu<float> plain(c0);
  plain.params = strip_gates(cfg, baked);
  const auto c = compare(z_ref, plain.forward_logits(tokens.data(), B, T), cfg.vocab);
  double zmax = 0;
  for (float z : z_ref) zmax = std::max(zmax, double(std::fabs(z)));
  EXPECT_GT(zmax, 1.0) << "logits too small for a meaningful check";
  std::printf("[ info ] gate_stack %d: max|z| %.3f, baked vs gated max|dz| %.3e, KL max %.3e\n", GetParam(), zmax,
              c.max_abs_diff, c.kl_max);
  EXPECT_LE(c.max_abs_diff, 1e-5) << "gate_stack " << GetParam();
  EXPECT_LE(c.kl_max, 1e-9);
  EXPECT_EQ(c.top1_agreement, 1.0);

  // the baked vector in the gated layout has identity gates: same logits with the same config
  LlamaCpu<float> same(cfg);
  same.params = baked;
  EXPECT_LE(compare(z_ref, same.forward_logits(tokens.data(), B, T), cfg.vocab).max_abs_diff, 1e-5);

  // the gates must matter: dropping them, or folding them transposed (exp(-a) = R^T), breaks the equality
  LlamaCpu<float> ungated(c0);
  ungated.params = strip_gates(cfg, ck.params);
  EXPECT_GT(compare(z_ref, ungated.forward_logits(tokens.data(), B, T), cfg.vocab).max_abs_diff, 1e-2);
  Checkpoint wrong = ck;
  const ParamLayout p = llama_layout(cfg);
  for (const auto& t : p.tensors)
    if (t.kind == ParamKind::gate)
      for (std::size_t i = 0; i < t.size(); ++i) wrong.params[t.offset + i] = -wrong.params[t.offset + i];
  plain.params = strip_gates(cfg, bake(wrong));
  const double dz_wrong = compare(z_ref, plain.forward_logits(tokens.data(), B, T), cfg.vocab).max_abs_diff;
  std::printf("[ info ] transposed fold: max|dz| %.3e\n", dz_wrong);
  EXPECT_GT(dz_wrong, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(GateStacks, BakeEquivalence, ::testing::Values(1, 2));

TEST(Bake, StackOrderMatters) {
  // gate_stack 2 is R_cmd after R_safe: swapping the two gates must change the baked weights
  const LlamaConfig cfg = small_config(2);
  const Checkpoint ck = random_checkpoint(cfg, 3);
  Checkpoint swapped = ck;
  const ParamLayout p = llama_layout(cfg);
  for (const auto& o : p.layers)
    std::swap_ranges(swapped.params.begin() + std::ptrdiff_t(o.gate_safe),
                     swapped.params.begin() + std::ptrdiff_t(o.gate_safe + 28 * std::size_t(cfg.gate_blocks())),
                     swapped.params.begin() + std::ptrdiff_t(o.gate_cmd));
  const auto a = bake(ck), b = bake(swapped);
  double d = 0;
  for (std::size_t i = p.layers[0].wo; i < p.layers[0].wo + std::size_t(cfg.dim * cfg.dim); ++i)
    d = std::max(d, double(std::fabs(a[i] - b[i])));
  EXPECT_GT(d, 1e-3);
  const auto drift = gate_drift(cfg, ck.params.data());
  EXPECT_EQ(drift.layers.size(), 2u);
  EXPECT_LT(drift.max_error, 1e-5);
  EXPECT_GT(drift.min_determinant, 0.99);
}

TEST(Bake, RejectsWrongSize) {
  const LlamaConfig cfg = small_config(1);
  std::vector<float> p(10, 0.f);
  EXPECT_THROW(bake(cfg, p.data(), p.size()), so8t::InvalidArgument);
}

// ---- (b) the llama GGUF

TEST(LlamaGguf, KeysTypesVocabAndTensors) {
  TempDir tmp;
  const LlamaConfig cfg = small_config(2);
  const Checkpoint ck = random_checkpoint(cfg, 5);
  const std::vector<float> baked = bake(ck);
  const std::string path = tmp / "baked.gguf";
  write_llama_gguf(path, cfg, baked.data(), quant::Type::f32, "test model", "ck.gguf");
  const gguf::Reader r = gguf::Reader::open(path);
  const gguf::Metadata& md = r.metadata();
  EXPECT_EQ(md.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(md.get<std::string>("general.name"), "test model");
  EXPECT_EQ(md.get<std::uint32_t>("general.file_type"), 0u);
  EXPECT_EQ(md.get<std::uint32_t>("general.quantization_version"), 2u);
  EXPECT_EQ(md.get<std::uint32_t>("llama.context_length"), std::uint32_t(cfg.ctx));
  EXPECT_EQ(md.get<std::uint32_t>("llama.embedding_length"), std::uint32_t(cfg.dim));
  EXPECT_EQ(md.get<std::uint32_t>("llama.block_count"), std::uint32_t(cfg.n_layers));
  EXPECT_EQ(md.get<std::uint32_t>("llama.feed_forward_length"), std::uint32_t(cfg.ffn));
  EXPECT_EQ(md.get<std::uint32_t>("llama.attention.head_count"), std::uint32_t(cfg.n_heads));
  EXPECT_EQ(md.get<std::uint32_t>("llama.attention.head_count_kv"), std::uint32_t(cfg.n_kv_heads));
  EXPECT_EQ(md.get<float>("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_EQ(md.get<float>("llama.rope.freq_base"), 10000.f);
  EXPECT_EQ(md.get<std::uint32_t>("llama.rope.dimension_count"), std::uint32_t(cfg.head_dim()));
  EXPECT_EQ(md.get<std::uint32_t>("llama.vocab_size"), 258u);
  EXPECT_EQ(md.get<std::string>("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(md.get<std::uint32_t>("tokenizer.ggml.bos_token_id"), 256u);
  EXPECT_EQ(md.get<std::uint32_t>("tokenizer.ggml.eos_token_id"), 257u);
  EXPECT_FALSE(md.get<bool>("tokenizer.ggml.add_bos_token"));
  EXPECT_FALSE(md.get<bool>("tokenizer.ggml.add_space_prefix"));
  EXPECT_EQ(md.get<std::string>("so8t.baked_from"), "ck.gguf");
  EXPECT_EQ(md.get<std::uint32_t>("so8t.gate_stack"), 2u);

  const gguf::Value* tokens = md.find("tokenizer.ggml.tokens");
  const gguf::Value* scores = md.find("tokenizer.ggml.scores");
  const gguf::Value* types = md.find("tokenizer.ggml.token_type");
  ASSERT_TRUE(tokens && scores && types);
  ASSERT_EQ(tokens->element_type(), gguf::ValueType::string);
  ASSERT_EQ(scores->element_type(), gguf::ValueType::f32);
  ASSERT_EQ(types->element_type(), gguf::ValueType::i32);
  const auto& tok = tokens->string_elements();
  const auto ty = types->as_array<std::int32_t>();
  const auto sc = scores->as_array<float>();
  ASSERT_EQ(tok.size(), 258u);
  ASSERT_EQ(ty.size(), 258u);
  ASSERT_EQ(sc.size(), 258u);
  EXPECT_EQ(tok[32], "\xE2\x96\x81");
  EXPECT_EQ(ty[32], 1);
  EXPECT_EQ(tok[0], "<0x00>");
  EXPECT_EQ(tok[10], "<0x0A>");
  EXPECT_EQ(tok[65], "<0x41>");
  EXPECT_EQ(tok[255], "<0xFF>");
  EXPECT_EQ(ty[65], 6);
  EXPECT_EQ(tok[256], "<s>");
  EXPECT_EQ(tok[257], "</s>");
  EXPECT_EQ(ty[256], 3);
  EXPECT_EQ(ty[257], 3);
  EXPECT_EQ(std::set<std::string>(tok.begin(), tok.end()).size(), 258u) << "pieces must be unique";
  for (float s : sc) EXPECT_EQ(s, 0.f);

  // tensors: llama.cpp's names and shapes, norms f32, no gate tensors
  EXPECT_EQ(r.tensors().size(), std::size_t(3 + 9 * cfg.n_layers));
  for (const auto& t : r.tensors()) EXPECT_EQ(t.name.find("so8_gate"), std::string::npos) << t.name;
  const std::int64_t d = cfg.dim, kv = cfg.kv_dim(), f = cfg.ffn, V = cfg.vocab;
  auto shape = [&](const std::string& n) {
    const gguf::TensorInfo* t = r.find_tensor(n);
    if (!t) return std::vector<std::int64_t>{};
    return std::vector<std::int64_t>(t->ne.begin(), t->ne.begin() + t->n_dims);
  };
  using S = std::vector<std::int64_t>;
  EXPECT_EQ(shape("token_embd.weight"), (S{d, V}));
  EXPECT_EQ(shape("output.weight"), (S{d, V}));
  EXPECT_EQ(shape("output_norm.weight"), (S{d}));
  EXPECT_EQ(shape("blk.1.attn_q.weight"), (S{d, d}));
  EXPECT_EQ(shape("blk.1.attn_k.weight"), (S{d, kv}));
  EXPECT_EQ(shape("blk.1.attn_v.weight"), (S{d, kv}));
  EXPECT_EQ(shape("blk.1.attn_output.weight"), (S{d, d}));
  EXPECT_EQ(shape("blk.1.ffn_gate.weight"), (S{d, f}));
  EXPECT_EQ(shape("blk.1.ffn_up.weight"), (S{d, f}));
  EXPECT_EQ(shape("blk.1.ffn_down.weight"), (S{f, d}));
  EXPECT_EQ(shape("blk.1.attn_norm.weight"), (S{d}));
  for (const auto& t : r.tensors()) EXPECT_EQ(t.type, quant::Type::f32) << t.name;

  // read back: f32 exact; f16 within half precision, norms still f32
  const LlamaGguf back = read_llama_gguf(path);
  EXPECT_EQ(back.cfg.gate_stack, 0);
  EXPECT_EQ(back.params, strip_gates(cfg, baked));
  const std::string p16 = tmp / "baked16.gguf";
  write_llama_gguf(p16, cfg, baked.data(), quant::Type::f16, "test model f16");
  const gguf::Reader r16 = gguf::Reader::open(p16);
  EXPECT_EQ(r16.metadata().get<std::uint32_t>("general.file_type"), 1u);
  EXPECT_EQ(r16.find_tensor("blk.0.attn_norm.weight")->type, quant::Type::f32);
  EXPECT_EQ(r16.find_tensor("blk.0.attn_q.weight")->type, quant::Type::f16);
  EXPECT_EQ(r16.find_tensor("token_embd.weight")->type, quant::Type::f16);
  const LlamaGguf b16 = read_llama_gguf(p16);
  const auto ref = strip_gates(cfg, baked);
  for (std::size_t i = 0; i < ref.size(); ++i)
    ASSERT_LE(std::fabs(b16.params[i] - ref[i]), std::fabs(ref[i]) * 4.9e-4 + 6e-8) << i;
  EXPECT_THROW(write_llama_gguf(tmp / "x.gguf", cfg, baked.data(), quant::Type::q8_0, "x"), so8t::InvalidArgument);
  EXPECT_FALSE(fs::exists(tmp / "x.gguf"));
}

// ---- (c) quantize_gguf

double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += double(a[i] - b[i]) * double(a[i] - b[i]);
    den += double(a[i]) * double(a[i]);
  }
  return std::sqrt(num / den);
}

TEST(QuantizeGguf, PresetsTypesValuesAndMetadata) {
  TempDir tmp;
  const LlamaConfig cfg = small_config(1, 256);
  const Checkpoint ck = random_checkpoint(cfg, 9);
  const std::vector<float> baked = bake(ck);
  const std::string f32 = tmp / "f32.gguf";
  write_llama_gguf(f32, cfg, baked.data(), quant::Type::f32, "q test");
  const gguf::Reader src = gguf::Reader::open(f32);
  for (const auto& [name, preset, ftype, tol] :
       {std::make_tuple(std::string("q8_0"), quant::Preset::q8_0, 7u, 0.01),
        std::make_tuple(std::string("Q4_K_M"), quant::Preset::q4_k_m, 15u, 0.12)}) {
    const std::string out = tmp / ("out_" + name + ".gguf");
    const QuantizeReport rep = quantize_gguf(f32, out, name, 1.5f);
    EXPECT_EQ(rep.target.ftype, ftype);
    const gguf::Reader q = gguf::Reader::open(out);
    const gguf::Metadata& md = q.metadata();
    EXPECT_EQ(md.get<std::uint32_t>("general.file_type"), ftype);
    EXPECT_EQ(md.get<std::uint32_t>("general.quantization_version"), 2u);
    EXPECT_EQ(md.get<float>("so8t.calibration.temperature"), 1.5f);
    for (const auto& e : src.metadata()) {
      if (e.key == "general.file_type") continue;
      const gguf::Value* v = md.find(e.key);
      ASSERT_TRUE(v) << e.key;
      EXPECT_TRUE(*v == e.value) << e.key;
    }
    ASSERT_EQ(q.tensors().size(), src.tensors().size());
    bool saw_k = false;
    for (const auto& t : q.tensors()) {
      const gguf::TensorInfo* s = src.find_tensor(t.name);
      ASSERT_TRUE(s) << t.name;
      EXPECT_EQ(t.ne, s->ne) << t.name;
      const quant::Type want = quant::preset_tensor_type(preset, t.name, {int(t.n_dims), t.ne[0]}, cfg.n_layers);
      EXPECT_EQ(t.type, want) << t.name;
      if (t.n_dims == 1) {
        EXPECT_EQ(t.type, quant::Type::f32) << t.name;
      }
      saw_k = saw_k || t.type == quant::Type::q6_k || t.type == quant::Type::q4_k;
      std::vector<float> a(std::size_t(t.element_count())), b(a.size());
      quant::dequantize(s->type, src.tensor(t.name).data, a.data(), s->row_count(), s->ne[0]);
      quant::dequantize(t.type, q.tensor(t.name).data, b.data(), t.row_count(), t.ne[0]);
      if (t.type == quant::Type::f32) {
        EXPECT_EQ(a, b) << t.name;
      } else {
        EXPECT_LT(rel_err(a, b), t.type == quant::Type::q8_0 ? 0.01 : tol) << t.name << " " << quant::type_name(t.type);
      }
    }
    if (preset == quant::Preset::q4_k_m) {
      EXPECT_TRUE(saw_k);
      EXPECT_EQ(q.find_tensor("output.weight")->type, quant::Type::q6_k);
      EXPECT_EQ(q.find_tensor("token_embd.weight")->type, quant::Type::q4_k);
      EXPECT_EQ(q.find_tensor("blk.0.attn_q.weight")->type, quant::Type::q4_k);
    }
    // the quantized model still runs through the reader and the forward
    const LlamaGguf m = read_llama_gguf(out);
    EXPECT_EQ(m.file_type, ftype);
  }
  // single-type target: llama.cpp's output.weight rule, plain type elsewhere
  const QuantizeReport r6 = quantize_gguf(f32, tmp / "q6.gguf", "q4_0", std::nullopt);
  EXPECT_EQ(r6.target.ftype, 2u);
  const gguf::Reader q6 = gguf::Reader::open(tmp / "q6.gguf");
  EXPECT_EQ(q6.find_tensor("output.weight")->type, quant::Type::q6_k);
  EXPECT_EQ(q6.find_tensor("blk.1.ffn_down.weight")->type, quant::Type::q4_0);
  EXPECT_EQ(q6.metadata().find("so8t.calibration.temperature"), nullptr);
}

TEST(QuantizeGguf, FallbacksForShortRows) {
  // dim 64: K-quants fall back like llama.cpp (ne0 % 256 != 0)
  EXPECT_EQ(target_tensor_type(parse_quant_target("q6_k"), "blk.0.attn_q.weight", 2, 64, 2), quant::Type::q8_0);
  EXPECT_EQ(target_tensor_type(parse_quant_target("q4_k_m"), "blk.0.attn_q.weight", 2, 64, 2), quant::Type::q5_0);
  EXPECT_EQ(target_tensor_type(parse_quant_target("q4_0"), "output.weight", 2, 64, 2), quant::Type::q8_0);
  EXPECT_EQ(target_tensor_type(parse_quant_target("q4_0"), "blk.0.attn_norm.weight", 1, 64, 2), quant::Type::f32);
  EXPECT_EQ(target_tensor_type(parse_quant_target("q8_0"), "blk.0.attn_q.weight", 2, 40, 2), quant::Type::f16);
}

// ---- (d) bad inputs

template <class E, class F>
void expect_throw_with(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception (expected one mentioning '" << needle << "')";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

TEST(BadInputs, MissingTruncatedWrongShapeWrongKind) {
  TempDir tmp;
  const LlamaConfig cfg = small_config(2);
  const Checkpoint ck = random_checkpoint(cfg, 1);
  const std::string ckp = tmp / "ck.gguf";
  save_checkpoint(ckp, cfg, ck.params.data());
  const std::string baked = tmp / "baked.gguf";
  write_llama_gguf(baked, cfg, bake(ck).data(), quant::Type::f32, "x");
  const std::string out = tmp / "out.gguf";

  // missing file
  const auto before = tmp.listing();
  expect_throw_with<gguf::IoError>([&] { load_checkpoint(tmp / "nope.gguf"); }, "nope.gguf");
  expect_throw_with<gguf::IoError>([&] { quantize_gguf(tmp / "nope.gguf", out, "q8_0"); }, "nope.gguf");
  expect_throw_with<gguf::IoError>([&] { read_llama_gguf(tmp / "nope.gguf"); }, "nope.gguf");

  // truncated files
  for (const std::string& src : {ckp, baked}) {
    std::ifstream f(src, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (std::size_t keep : {std::size_t(10), std::size_t(200), bytes.size() / 2, bytes.size() - 1}) {
      const std::string tr = tmp / "trunc.gguf";
      std::ofstream(tr, std::ios::binary).write(bytes.data(), std::streamsize(keep));
      EXPECT_THROW(load_checkpoint(tr), gguf::FormatError) << keep;
      EXPECT_THROW(quantize_gguf(tr, out, "q8_0"), gguf::FormatError) << keep;
      EXPECT_FALSE(fs::exists(out));
      fs::remove(tr);
    }
  }

  // a checkpoint with a wrong-shape tensor (written with the GGUF writer)
  {
    const gguf::Reader r = gguf::Reader::open(ckp);
    const std::string bad = tmp / "badshape.gguf";
    gguf::Writer w(bad);
    for (const auto& e : r.metadata()) w.add_metadata(e.key, e.value);
    for (const auto& t : r.tensors()) {
      std::vector<std::int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
      if (t.name == "blk.1.attn_k.weight") ne[1] /= 2;
      w.add_tensor(t.name, t.type, ne);
    }
    for (const auto& t : w.tensors()) w.write_tensor(t.name, r.tensor(t.name).data, std::size_t(t.nbytes));
    w.finish();
    expect_throw_with<so8t::InvalidArgument>([&] { load_checkpoint(bad); }, "blk.1.attn_k.weight");
    fs::remove(bad);
  }
  // a llama file with a wrong-shape tensor
  {
    const gguf::Reader r = gguf::Reader::open(baked);
    const std::string bad = tmp / "badshape2.gguf";
    gguf::Writer w(bad);
    for (const auto& e : r.metadata()) w.add_metadata(e.key, e.value);
    for (const auto& t : r.tensors()) {
      std::vector<std::int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
      if (t.name == "blk.0.ffn_up.weight") ne[1] -= 1;
      w.add_tensor(t.name, t.type, ne);
    }
    for (const auto& t : w.tensors()) w.write_tensor(t.name, r.tensor(t.name).data, std::size_t(t.nbytes));
    w.finish();
    expect_throw_with<so8t::InvalidArgument>([&] { read_llama_gguf(bad); }, "blk.0.ffn_up.weight");
    fs::remove(bad);
  }

  // wrong kind of file / bad option values
  expect_throw_with<so8t::InvalidArgument>([&] { quantize_gguf(ckp, out, "q8_0"); }, "llama-so8t-unbaked");
  expect_throw_with<so8t::InvalidArgument>([&] { load_checkpoint(baked); }, "architecture 'llama'");
  expect_throw_with<so8t::InvalidArgument>([&] { quantize_gguf(baked, out, "q3_x"); }, "unknown type 'q3_x'");
  expect_throw_with<so8t::InvalidArgument>([&] { quantize_gguf(baked, out, "q8_0", -1.f); }, "temperature");
  quantize_gguf(baked, tmp / "q.gguf", "q8_0");
  expect_throw_with<so8t::InvalidArgument>([&] { quantize_gguf(tmp / "q.gguf", out, "q4_0"); }, "already q8_0");
  fs::remove(tmp / "q.gguf");

  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(tmp.listing(), before) << "an error left a file behind";
}

// (d) continued: the loader's model-level checks run before quantizing (so8t_quantize once wrote "models" that
// so8t_infer refuses), and finite weights the target type cannot hold are refused by tensor, block and value.
struct LlamaEdit {
  std::string drop_key, set_key;
  gguf::Value set_value;
  std::string poison;          ///< f32 tensor whose first entry becomes poison_value
  float poison_value = 0.0f;
  std::string extra_tensor;    ///< an f32 [4] tensor the llama architecture does not have
  std::string drop_tensor;     ///< tensor left out
  std::string swap_shape;      ///< 2-D tensor written with ne0 / ne1 swapped (same bytes)
};

void copy_edited(const std::string& src, const std::string& dst, const LlamaEdit& e) {
  const gguf::Reader r = gguf::Reader::open(src);
  gguf::Writer w(dst);
  for (const auto& kv : r.metadata())
    if (kv.key != e.drop_key) w.add_metadata(kv.key, kv.key == e.set_key ? e.set_value : kv.value);
  for (const auto& t : r.tensors()) {
    if (t.name == e.drop_tensor) continue;
    std::vector<std::int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (t.name == e.swap_shape && ne.size() == 2) std::swap(ne[0], ne[1]);
    w.add_tensor(t.name, t.type, ne);
  }
  if (!e.extra_tensor.empty()) w.add_tensor(e.extra_tensor, quant::Type::f32, {4});
  for (const auto& t : r.tensors()) {
    if (t.name == e.drop_tensor) continue;
    const gguf::TensorView v = r.tensor(t.name);
    std::vector<std::uint8_t> bytes(v.data, v.data + v.size);
    if (t.name == e.poison) std::memcpy(bytes.data(), &e.poison_value, sizeof(float));
    w.write_tensor(t.name, bytes.data(), bytes.size());
  }
  if (!e.extra_tensor.empty()) {
    const float four[4] = {1, 2, 3, 4};
    w.write_tensor(e.extra_tensor, four, sizeof four);
  }
  w.finish();
}

TEST(BadInputs, QuantizeRefusesModelLiesAndNonFiniteResults) {
  TempDir tmp;
  const LlamaConfig cfg = small_config(1, 256);  // rows of 256: q4_K / q6_K blocks, not their fallbacks
  const Checkpoint ck = random_checkpoint(cfg, 3);
  const std::string baked = tmp / "baked.gguf";
  write_llama_gguf(baked, cfg, bake(ck).data(), quant::Type::f32, "x");
  const std::string in = tmp / "in.gguf", out = tmp / "out.gguf";
  const auto before = tmp.listing();
  struct Lie {
    LlamaEdit edit;
    std::string needle;
  };
  std::vector<Lie> lies;
  auto set = [](const std::string& key, gguf::Value v) {
    LlamaEdit e;
    e.set_key = key;
    e.set_value = std::move(v);
    return e;
  };
  LlamaEdit no_ctx;
  no_ctx.drop_key = "llama.context_length";
  lies.push_back({set("llama.attention.head_count", gguf::Value::of(std::uint32_t(0))), "head_count' = 0"});
  lies.push_back({no_ctx, "'llama.context_length' is missing"});
  lies.push_back({set("tokenizer.ggml.bos_token_id", gguf::Value::of(std::uint32_t(1u << 30))), "bos_token_id"});
  {
    LlamaEdit e;
    e.extra_tensor = "blk.0.attn_output.bias";
    lies.push_back({e, "unexpected tensor 'blk.0.attn_output.bias'"});
  }
  {
    LlamaEdit e;
    e.poison = "blk.0.attn_norm.weight";
    e.poison_value = std::nanf("");
    lies.push_back({e, "norm tensor 'blk.0.attn_norm.weight' holds nan"});
  }
  for (const Lie& l : lies) {
    SCOPED_TRACE(l.needle);
    copy_edited(baked, in, l.edit);
    expect_throw_with<ModelError>([&] { quantize_gguf(in, out, "q8_0"); }, l.needle);
    EXPECT_FALSE(fs::exists(out));
  }
  // finite weights beyond what the target's f16 scales / values hold (ggml would write Inf)
  struct Big {
    float value;
    const char* target;
    std::string needle;
  };
  const std::vector<Big> bigs = {{1e38f, "q8_0", "the finite input 1e+38 at row 0, column 0 (q8_0 block 0"},
                                 {7e4f, "f16", "the finite input 70000 at row 0, column 0 (f16 block 0"},
                                 {1e38f, "q4_k_m", "the finite input 1e+38 at row 0, column 0 (q4_K block 0"}};
  for (const Big& b : bigs) {
    SCOPED_TRACE(b.target);
    LlamaEdit e;
    e.poison = "blk.0.ffn_gate.weight";
    e.poison_value = b.value;
    copy_edited(baked, in, e);
    expect_throw_with<so8t::NumericError>([&] { quantize_gguf(in, out, b.target); }, "tensor 'blk.0.ffn_gate.weight': " + b.needle);
    EXPECT_FALSE(fs::exists(out));
  }
  // the largest finite weights the targets hold still quantize
  {
    LlamaEdit e;
    e.poison = "blk.0.ffn_gate.weight";
    e.poison_value = 6e4f;
    copy_edited(baked, in, e);
    EXPECT_NO_THROW(quantize_gguf(in, out, "f16"));
    EXPECT_NO_THROW(quantize_gguf(in, out, "q8_0"));
    fs::remove(out);
  }
  // a denormal or absurd temperature is not stored
  expect_throw_with<so8t::InvalidArgument>([&] { quantize_gguf(baked, out, "q8_0", 1e-40f); }, "temperature 9.99995e-41 is outside");
  expect_throw_with<so8t::InvalidArgument>([&] { quantize_gguf(baked, out, "q8_0", 1e9f); }, "temperature 1e+09 is outside");
  fs::remove(in);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(tmp.listing(), before) << "an error left a file behind";
}

// Every model-level lie the loader refuses, so8t_quantize refuses too, leaving no output (it once accepted 87
// of 136 such lies and wrote a "model"). The lies are enumerated, not hand-picked: each metadata key dropped,
// each numeric key set to 0 and to 2^31, each key given the wrong type, each tensor dropped, each non-square
// matrix transposed, each tensor's first value NaN, an extra tensor.
TEST(BadInputs, QuantizeRefusesEveryLieTheLoaderRefuses) {
  TempDir tmp;
  const LlamaConfig cfg = small_config(1);
  const Checkpoint ck = random_checkpoint(cfg, 4);
  const std::string baked = tmp / "baked.gguf", in = tmp / "in.gguf", out = tmp / "out.gguf";
  write_llama_gguf(baked, cfg, bake(ck).data(), quant::Type::f32, "x");
  const auto before = tmp.listing();
  std::vector<std::pair<std::string, LlamaEdit>> lies;
  {
    const gguf::Reader r = gguf::Reader::open(baked);
    for (const auto& kv : r.metadata()) {
      LlamaEdit drop;
      drop.drop_key = kv.key;
      lies.emplace_back("drop " + kv.key, drop);
      LlamaEdit wrong;
      wrong.set_key = kv.key;
      wrong.set_value = kv.value.type() == gguf::ValueType::string ? gguf::Value::of(std::uint32_t(7)) : gguf::Value::of("x");
      lies.emplace_back("wrong type " + kv.key, wrong);
      if (kv.value.type() == gguf::ValueType::u32 || kv.value.type() == gguf::ValueType::i32 ||
          kv.value.type() == gguf::ValueType::f32) {
        for (const std::uint32_t v : {0u, 1u << 31}) {
          LlamaEdit e;
          e.set_key = kv.key;
          e.set_value = kv.value.type() == gguf::ValueType::f32 ? gguf::Value::of(float(v)) : gguf::Value::of(v);
          if (kv.value.type() == gguf::ValueType::i32) e.set_value = gguf::Value::of(std::int32_t(v == 0 ? 0 : -1));
          lies.emplace_back("set " + kv.key + " = " + std::to_string(v), e);
        }
      }
    }
    for (const auto& t : r.tensors()) {
      LlamaEdit drop;
      drop.drop_tensor = t.name;
      lies.emplace_back("drop tensor " + t.name, drop);
      if (t.n_dims == 2 && t.ne[0] != t.ne[1]) {
        LlamaEdit sw;
        sw.swap_shape = t.name;
        lies.emplace_back("transpose " + t.name, sw);
      }
      LlamaEdit nan;
      nan.poison = t.name;
      nan.poison_value = std::nanf("");
      lies.emplace_back("NaN in " + t.name, nan);
    }
    LlamaEdit extra;
    extra.extra_tensor = "blk.0.attn_q.bias";
    lies.emplace_back("extra tensor", extra);
  }
  std::size_t loader_refused = 0, quantize_refused = 0, quantize_refused_of_loader = 0;
  for (const auto& [what, edit] : lies) {
    SCOPED_TRACE(what);
    copy_edited(baked, in, edit);
    bool loader_ok = true, quantize_ok = true;
    try {
      (void)LlamaModel::open(in);
    } catch (const std::exception&) {
      loader_ok = false;
    }
    try {
      quantize_gguf(in, out, "q8_0");
    } catch (const std::exception&) {
      quantize_ok = false;
    }
    loader_refused += !loader_ok;
    quantize_refused += !quantize_ok;
    quantize_refused_of_loader += !loader_ok && !quantize_ok;
    if (std::getenv("SO8T_LIST_LIES")) std::printf("  %-50s loader %s quantize %s\n", what.c_str(), loader_ok ? "accepts" : "refuses", quantize_ok ? "accepts" : "refuses");
    if (!loader_ok) {
      EXPECT_FALSE(quantize_ok) << "so8t_quantize accepts a file the loader refuses";
      EXPECT_FALSE(fs::exists(out));
    }
    fs::remove(out);
  }
  fs::remove(in);
  std::printf("[ quantize ] %zu enumerated lies: the loader refuses %zu, so8t_quantize %zu (%zu of the loader's)\n",
              lies.size(), loader_refused, quantize_refused, quantize_refused_of_loader);
  EXPECT_GE(lies.size(), 100u);
  EXPECT_GE(loader_refused, 60u);  // the enumeration is not mostly harmless edits
  EXPECT_EQ(tmp.listing(), before) << "an error left a file behind";
}

// Header values that would size huge buffers are checked against the file first (ci.sh measures the memory).
TEST(BadInputs, CheckpointHeaderLiesFailBeforeAllocating) {
  TempDir tmp;
  const LlamaConfig cfg = small_config(1);
  const Checkpoint ck = random_checkpoint(cfg, 5);
  const std::string ckp = tmp / "ck.gguf", lie = tmp / "lie.gguf";
  save_checkpoint(ckp, cfg, ck.params.data());
  const std::string a = std::string(kUnbakedArch) + ".";
  auto set = [](const std::string& key, gguf::Value v) {
    LlamaEdit e;
    e.set_key = key;
    e.set_value = std::move(v);
    return e;
  };
  copy_edited(ckp, lie, set(a + "block_count", gguf::Value::of(std::uint32_t(1u << 24))));
  expect_throw_with<so8t::InvalidArgument>([&] { load_checkpoint(lie); }, "block_count = 16777216 but");
  copy_edited(ckp, lie, set(a + "vocab_size", gguf::Value::of(std::uint32_t(1u << 21))));
  expect_throw_with<so8t::InvalidArgument>([&] { load_checkpoint(lie); }, "tensor 'token_embd.weight' is not f32 of 134217728");
  copy_edited(ckp, lie, set("so8t.rope_theta", gguf::Value::of(1e-310)));
  expect_throw_with<so8t::InvalidArgument>([&] { load_checkpoint(lie); }, "rope_theta");
  // a tensor the layout does not have is refused by name (bake and --resume would drop it silently)
  {
    LlamaEdit e;
    e.extra_tensor = "blk.0.attn_q.bias";
    copy_edited(ckp, lie, e);
    expect_throw_with<so8t::InvalidArgument>([&] { load_checkpoint(lie); }, "unexpected tensor 'blk.0.attn_q.bias'");
  }
  // a NaN / Inf parameter ends the load with the tensor and element (bake would fold it into the model)
  for (const float bad : {std::nanf(""), -std::numeric_limits<float>::infinity()}) {
    LlamaEdit e;
    e.poison = "blk.0.ffn_up.weight";
    e.poison_value = bad;
    copy_edited(ckp, lie, e);
    expect_throw_with<so8t::NumericError>([&] { load_checkpoint(lie); }, "tensor 'blk.0.ffn_up.weight' of '" + lie + "' has ");
  }
  EXPECT_NO_THROW(load_checkpoint(ckp));
}

}  // namespace
