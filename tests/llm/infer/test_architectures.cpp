// The llama / qwen2 / qwen3 architectures against llama.cpp (tests/data/arch/MANIFEST.md): each tiny model
// carries the features its family adds (qwen2: q/k/v biases, NEOX RoPE, tied output; qwen3: per-head q/k
// RMSNorm, NEOX RoPE, head width 32 apart from n_embd / n_head = 16; llama: optional q/k/v biases, RoPE
// frequency factors and linear scaling), and so8t's logits must be llama.cpp's. Then the loader's refusals
// for what these families add.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "edited_model.hpp"
#include "llama_test_data.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/pipeline/quantize.hpp"

using namespace so8t::llm;
using namespace so8t_test_infer;

namespace {

std::string arch_dir() { return std::string(SO8T_TEST_DATA_DIR) + "/arch/"; }
std::string arch_model(const std::string& name) { return arch_dir() + "tiny-" + name + ".gguf"; }

struct ArchCase {
  const char* name;
  Arch arch;
  int head_dim;
  bool tied, bias, qk_norm, rope_extra;
};

class ArchLogits : public ::testing::TestWithParam<ArchCase> {};

TEST_P(ArchLogits, LoadsWithItsFeatures) {
  const ArchCase& c = GetParam();
  const LlamaModel m = LlamaModel::open(arch_model(c.name));
  EXPECT_EQ(m.arch(), c.arch);
  EXPECT_EQ(m.hparams().head_dim(), c.head_dim);
  EXPECT_EQ(m.hparams().dim, 64);
  EXPECT_EQ(m.output_tied(), c.tied);
  EXPECT_EQ(m.rope().neox, c.arch != Arch::llama);
  EXPECT_EQ(m.rope().freq_factors != nullptr, c.rope_extra);
  EXPECT_FLOAT_EQ(m.rope().freq_scale, c.rope_extra ? 0.5f : 1.0f);
  const LlamaLayerView& l = m.layers().at(0);
  EXPECT_EQ(l.bq.data != nullptr && l.bk.data != nullptr && l.bv.data != nullptr, c.bias);
  EXPECT_EQ(l.q_norm.data != nullptr && l.k_norm.data != nullptr, c.qk_norm);
  EXPECT_EQ(l.wq.rows, 4 * c.head_dim);
  EXPECT_EQ(l.wo.cols, 4 * c.head_dim);
}

TEST_P(ArchLogits, MatchLlamaCpp) {
  const ArchCase& c = GetParam();
  const LlamaModel m = LlamaModel::open(arch_model(c.name));
  const auto tokens = read_array<std::int32_t>(arch_dir() + "tiny-" + c.name + ".tokens.i32");
  const auto ref = read_array<float>(arch_dir() + "tiny-" + c.name + ".logits.f32");
  const int n = static_cast<int>(tokens.size()), V = m.hparams().vocab;
  ASSERT_EQ(ref.size(), std::size_t(n) * std::size_t(V));
  // llama.cpp ran with an f32 K/V cache: so8t's f32 cache then differs only by summation order.
  InferOptions o;
  o.kv_f16 = false;
  LlamaInfer inf(m, o);
  std::vector<float> got(ref.size());
  inf.eval(tokens.data(), n, got.data());
  const Diff d = diff_logits(ref, got, n, V);
  std::printf("[ arch     ] %s f32 logits against llama.cpp: %s\n", c.name, describe(d).c_str());
  EXPECT_LE(d.max_abs, 1e-4) << c.name << ": " << describe(d);
  EXPECT_EQ(d.top1, n);
  // One token at a time through the cache gives the same logits as the whole sequence at once.
  LlamaInfer inc(m, o);
  std::vector<float> row(static_cast<std::size_t>(V));
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    inc.eval(&tokens[std::size_t(i)], 1, row.data());
    for (int t = 0; t < V; ++t) worst = std::max(worst, double(std::fabs(row[std::size_t(t)] - got[std::size_t(i) * V + t])));
  }
  EXPECT_LE(worst, 1e-5) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Families, ArchLogits,
                         ::testing::Values(ArchCase{"llama-rope-scaled", Arch::llama, 16, false, true, false, true},
                                           ArchCase{"qwen2", Arch::qwen2, 16, true, true, false, false},
                                           ArchCase{"qwen3", Arch::qwen3, 32, false, false, true, false}),
                         [](const auto& param_info) {
                           std::string s = param_info.param.name;
                           for (char& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

struct QuantCase {
  const char* model;
  const char* type;  ///< so8t_quantize --type; llama-quantize's file is tiny-<model>.<type>.gguf
};

class ArchQuant : public ::testing::TestWithParam<QuantCase> {};

// so8t's quantization of each family gives llama-quantize's tensors byte for byte (types chosen by the same
// rules: biases, q/k norms and rope_freqs stay f32; tied token_embd takes the output rule), and so8t's logits
// on llama-quantize's file are llama.cpp's.
TEST_P(ArchQuant, EqualsLlamaQuantizeAndItsLogits) {
  const QuantCase& c = GetParam();
  const std::string ref_path = arch_dir() + "tiny-" + c.model + "." + c.type + ".gguf";
  const std::string out = temp_path(std::string("arch_") + c.model + "." + c.type + ".gguf");
  quantize_gguf(arch_model(c.model), out, c.type);
  {
    const gguf::Reader mine = gguf::Reader::open(out), ref = gguf::Reader::open(ref_path);
    ASSERT_EQ(mine.tensors().size(), ref.tensors().size());
    int same = 0;
    for (const gguf::TensorInfo& t : ref.tensors()) {
      const gguf::TensorInfo* m = mine.find_tensor(t.name);
      ASSERT_NE(m, nullptr) << t.name;
      EXPECT_EQ(so8t::quant::type_name(m->type), std::string(so8t::quant::type_name(t.type))) << t.name;
      const gguf::TensorView a = mine.tensor(t.name), b = ref.tensor(t.name);
      const bool eq = a.size == b.size && std::memcmp(a.data, b.data, a.size) == 0;
      EXPECT_TRUE(eq) << t.name << " differs from llama-quantize's bytes";
      same += eq;
    }
    std::printf("[ arch     ] %s %s: %d/%zu tensors byte-identical to llama-quantize\n", c.model, c.type, same,
                ref.tensors().size());
  }
  std::remove(out.c_str());
  const LlamaModel m = LlamaModel::open(ref_path);
  const auto tokens = read_array<std::int32_t>(arch_dir() + "tiny-" + c.model + ".tokens.i32");
  const auto ref = read_array<float>(arch_dir() + "tiny-" + c.model + "." + c.type + ".logits.f32");
  InferOptions o;
  o.kv_f16 = false;  // as llama.cpp ran; activations quantized to the weights' vec_dot type as llama.cpp does
  LlamaInfer inf(m, o);
  std::vector<float> got(ref.size());
  inf.eval(tokens.data(), static_cast<int>(tokens.size()), got.data());
  const Diff d = diff_logits(ref, got, static_cast<int>(tokens.size()), m.hparams().vocab);
  std::printf("[ arch     ] %s %s logits against llama.cpp: %s\n", c.model, c.type, describe(d).c_str());
  // Exact integer dots leave only float summation order (~1e-7), but one activation whose q8 rounding flips
  // moves every later position; so8t's own scalar and AVX2 paths differ by up to 0.07 on qwen2 q8_0 (large
  // biases make it sensitive). Hence a distribution bound, not a bit-exactness one (measured: see the note).
  EXPECT_LE(d.mean_kl, 5e-3) << describe(d);
  EXPECT_LE(d.max_kl, 5e-2) << describe(d);
  EXPECT_GE(d.top1, d.rows - 2) << describe(d);
}

INSTANTIATE_TEST_SUITE_P(Files, ArchQuant,
                         ::testing::Values(QuantCase{"qwen2", "q8_0"}, QuantCase{"qwen2", "q4_k_m"},
                                           QuantCase{"qwen2", "q5_0"}, QuantCase{"qwen2", "q4_0"},
                                           QuantCase{"qwen2", "q5_1"}, QuantCase{"qwen3", "q8_0"},
                                           QuantCase{"qwen3", "q4_k_m"}, QuantCase{"llama-rope-scaled", "q8_0"}),
                         [](const auto& param_info) {
                           std::string s = std::string(param_info.param.model) + "_" + param_info.param.type;
                           for (char& ch : s)
                             if (ch == '-') ch = '_';
                           return s;
                         });

/// The loader's message for one edit of an architecture fixture.
std::string refusal(const std::string& model, const Edit& e) {
  const std::string path = edited_copy("arch_" + model + ".gguf", e, arch_model(model));
  std::string what;
  try {
    LlamaModel::open(path);
  } catch (const ModelError& err) {
    what = err.what();
  }
  std::remove(path.c_str());
  return what;
}

TEST(ArchErrors, EachFamilyRefusesWhatItLacksOrDoesNotUse) {
  {
    Edit e;
    e.drop_tensor = "blk.1.attn_k.bias";
    EXPECT_NE(refusal("qwen2", e).find("required tensor 'blk.1.attn_k.bias' is missing"), std::string::npos);
  }
  {
    Edit e;
    e.drop_tensor = "blk.0.attn_q_norm.weight";
    EXPECT_NE(refusal("qwen3", e).find("required tensor 'blk.0.attn_q_norm.weight' is missing"), std::string::npos);
  }
  {
    Edit e;  // a bias in a qwen3 file is a tensor the architecture does not use
    e.extra_tensor = "blk.0.attn_q.bias";
    EXPECT_NE(refusal("qwen3", e).find("unexpected tensor 'blk.0.attn_q.bias'"), std::string::npos);
  }
  {
    Edit e;
    e.set_key = "general.architecture";
    e.set_value = gguf::Value::of("gemma3");
    const std::string what = refusal("qwen3", e);
    EXPECT_NE(what.find("\"gemma3\""), std::string::npos) << what;
    EXPECT_NE(what.find("\"qwen3\""), std::string::npos) << what;
  }
  {
    Edit e;
    e.set_key = "qwen3.attention.value_length";
    e.set_value = gguf::Value::of(std::uint32_t(16));
    EXPECT_NE(refusal("qwen3", e).find("value_length = 16 differs from qwen3.attention.key_length = 32"),
              std::string::npos);
  }
  {
    Edit e;  // without key_length the head width is 64 / 4 = 16, and the 128-row attn_q no longer fits
    e.drop_key = "qwen3.attention.key_length";
    EXPECT_NE(refusal("qwen3", e).find("'blk.0.attn_q.weight' has shape [64, 128], expected [64, 64]"),
              std::string::npos);
  }
  {
    Edit e;
    e.set_key = "llama.rope.scaling.type";
    e.set_value = gguf::Value::of("yarn");
    EXPECT_NE(refusal("llama-rope-scaled", e).find("rope.scaling.type = \"yarn\" is not supported"), std::string::npos);
  }
  {
    Edit e;
    e.set_key = "llama.rope.scaling.factor";
    e.set_value = gguf::Value::of(-2.0f);
    EXPECT_NE(refusal("llama-rope-scaled", e).find("llama.rope.scaling.factor = -2"), std::string::npos);
  }
  {
    Edit e;
    e.poison = "rope_freqs.weight";
    e.poison_index = 3;
    e.poison_value = 0.0f;
    EXPECT_NE(refusal("llama-rope-scaled", e).find("'rope_freqs.weight' holds 0.000000 at index 3"), std::string::npos);
  }
}

/// max |dz| of so8t (f32 cache) on `path` against the llama.cpp logits file `ref_file` of tests/data/arch.
Diff against_llama_cpp(const std::string& path, const std::string& ref_file) {
  const LlamaModel m = LlamaModel::open(path);
  const auto tokens = read_array<std::int32_t>(arch_dir() + "tiny-llama-rope-scaled.tokens.i32");
  const auto ref = read_array<float>(arch_dir() + ref_file);
  InferOptions o;
  o.kv_f16 = false;
  LlamaInfer inf(m, o);
  std::vector<float> got(ref.size());
  inf.eval(tokens.data(), static_cast<int>(tokens.size()), got.data());
  return diff_logits(ref, got, static_cast<int>(tokens.size()), m.hparams().vocab);
}

TEST(ArchRope, ScalingTypeNoneIgnoresTheFactorAsLlamaCppDoes) {
  Edit e;
  e.set_key = "llama.rope.scaling.type";
  e.set_value = gguf::Value::of("none");
  const std::string path = edited_copy("arch_none.gguf", e, arch_model("llama-rope-scaled"));
  EXPECT_FLOAT_EQ(LlamaModel::open(path).rope().freq_scale, 1.0f);
  const Diff d = against_llama_cpp(path, "tiny-llama-rope-scaled.type-none.logits.f32");
  EXPECT_LE(d.max_abs, 1e-4) << describe(d);
  std::remove(path.c_str());
}

TEST(ArchRope, AbsentScalingTypeIsLinearAsLlamaCppReadsIt) {
  Edit e;
  e.drop_key = "llama.rope.scaling.type";
  const std::string path = edited_copy("arch_absent.gguf", e, arch_model("llama-rope-scaled"));
  EXPECT_FLOAT_EQ(LlamaModel::open(path).rope().freq_scale, 0.5f);
  const Diff d = against_llama_cpp(path, "tiny-llama-rope-scaled.logits.f32");  // llama.cpp: identical logits
  EXPECT_LE(d.max_abs, 1e-4) << describe(d);
  std::remove(path.c_str());
}

}  // namespace
