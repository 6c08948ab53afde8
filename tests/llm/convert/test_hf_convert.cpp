// so8t_convert / convert_hf_to_gguf against the references of tests/data/hf (MANIFEST.md there):
//   - the GGUF equals what llama.cpp's convert_hf_to_gguf.py wrote for the same folder (every key's type and
//     value, every array's length and digest, every tensor's type, shape and bytes; only llama.cpp's
//     general.size_label guess is left out),
//   - so8t's logits on it are transformers' logits, and so8t's tokenizer on it gives the HF tokenizer's ids,
//   - bad checkpoints (a lying safetensors header, a config that disagrees with the tensors, a missing shard,
//     merges of unknown tokens, an unknown pre-tokenizer or architecture) give one typed error and no file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../infer/llama_test_data.hpp"
#include "sha256.hpp"
#include "so8t/gguf/reader.hpp"
#include "so8t/llm/convert/hf_to_gguf.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/model/tokenizer.hpp"
#include "so8t/llm/pipeline/quantize.hpp"

namespace fs = std::filesystem;
using namespace so8t::llm;
using so8t_test_convert::sha256_hex;

namespace {

std::string hf_dir() { return std::string(SO8T_TEST_DATA_DIR) + "/hf/"; }
std::string tmp(const std::string& name) { return ::testing::TempDir() + "so8t_hf_" + std::to_string(::getpid()) + "_" + name; }

using so8t_test_infer::read_array;
std::string slurp(const std::string& path) { return so8t_test_infer::read_text(path); }

TEST(Sha256, StandardVectors) {  // FIPS 180-4 examples: the digest helper itself
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

class HfModel : public ::testing::TestWithParam<const char*> {};

TEST_P(HfModel, GgufEqualsLlamaCppsConverter) {
  const std::string m = GetParam();
  const std::string out = tmp(m + "-f32.gguf");
  convert_hf_to_gguf(hf_dir() + m, out, ConvertOptions{so8t::quant::Type::f32, "", ""});
  const nlohmann::json ref = nlohmann::json::parse(slurp(hf_dir() + m + ".llama_cpp.json"));
  const so8t::gguf::Reader r = so8t::gguf::Reader::open(out);
  std::size_t keys = 0;
  for (const nlohmann::json& e : ref["metadata"]) {
    const std::string key = e["key"].get<std::string>();
    if (key == "general.size_label") continue;  // llama.cpp's guess from the parameter count; so8t writes none
    const so8t::gguf::Value* v = r.metadata().find(key);
    ASSERT_NE(v, nullptr) << "missing key " << key;
    ++keys;
    EXPECT_EQ(std::string(so8t::gguf::value_type_name(v->type())), e["type"].get<std::string>()) << key;
    if (key == "general.name") continue;  // the folder's name; llama.cpp title-cases it
    const std::string t = e["type"].get<std::string>();
    if (t == "STRING") EXPECT_EQ(v->as_string(), e["value"].get<std::string>()) << key;
    else if (t == "UINT32") EXPECT_EQ(v->as<std::uint32_t>(), e["value"].get<std::uint32_t>()) << key;
    else if (t == "FLOAT32") EXPECT_EQ(v->as<float>(), e["value"].get<float>()) << key;
    else if (t == "BOOL") EXPECT_EQ(v->as<bool>(), e["value"].get<bool>()) << key;
    else if (t == "ARRAY") {
      ASSERT_EQ(v->size(), e["length"].get<std::size_t>()) << key;
      std::string digest;
      if (e["element_type"] == "STRING") {
        std::string joined;
        const std::vector<std::string> s = v->string_elements();
        for (std::size_t i = 0; i < s.size(); ++i) joined += (i ? "\n" : "") + s[i];
        digest = sha256_hex(joined);
      } else {
        ASSERT_EQ(e["element_type"], "INT32") << key;
        const std::vector<std::int32_t> a = v->as_array<std::int32_t>();
        digest = sha256_hex(a.data(), a.size() * 4);
      }
      EXPECT_EQ(digest, e["sha256"].get<std::string>()) << key << " differs from llama.cpp's";
    } else {
      ADD_FAILURE() << "unexpected type " << t << " of " << key;
    }
  }
  EXPECT_EQ(r.metadata().size(), keys) << "so8t wrote keys llama.cpp's converter does not";
  ASSERT_EQ(r.tensors().size(), ref["tensors"].size());
  for (const nlohmann::json& t : ref["tensors"]) {
    const std::string name = t["name"].get<std::string>();
    const so8t::gguf::TensorInfo* ti = r.find_tensor(name);
    ASSERT_NE(ti, nullptr) << name;
    EXPECT_EQ(t["type"].get<std::string>(), "F32");
    EXPECT_EQ(ti->type, so8t::quant::Type::f32) << name;
    std::vector<std::int64_t> shape(ti->ne.begin(), ti->ne.begin() + ti->n_dims);
    EXPECT_EQ(shape, t["shape"].get<std::vector<std::int64_t>>()) << name;
    const so8t::gguf::TensorView tv = r.tensor(name);
    EXPECT_EQ(sha256_hex(tv.data, tv.size), t["sha256"].get<std::string>()) << name << ": bytes differ from llama.cpp's";
  }
  std::remove(out.c_str());
}

/// so8t's f32-cache logits for the first rows of the HF reference, converted with `type`.
double max_dz_against_transformers(const std::string& m, so8t::quant::Type type, int* rows_out = nullptr) {
  const std::string out = tmp(m + "-" + so8t::quant::type_name(type) + ".gguf");
  convert_hf_to_gguf(hf_dir() + m, out, ConvertOptions{type, "", ""});
  const LlamaModel model = LlamaModel::open(out);
  const auto tokens = read_array<std::int32_t>(hf_dir() + m + ".tokens.i32");
  const auto ref = read_array<float>(hf_dir() + m + ".logits.f32");
  const std::size_t V = std::size_t(model.hparams().vocab);
  const int rows = static_cast<int>(ref.size() / V);
  InferOptions o;
  o.kv_f16 = false;
  LlamaInfer inf(model, o);
  std::vector<float> got(ref.size());
  inf.eval(tokens.data(), rows, got.data());
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, double(std::fabs(ref[i] - got[i])));
  if (rows_out) *rows_out = rows;
  std::remove(out.c_str());
  return worst;
}

TEST_P(HfModel, LogitsMatchTransformers) {
  const std::string m = GetParam();
  int rows = 0;
  const double dz = max_dz_against_transformers(m, so8t::quant::Type::f32, &rows);
  std::printf("[ convert  ] %s f32: max |dz| %.3g against transformers over %d positions\n", m.c_str(), dz, rows);
  EXPECT_EQ(rows, 96);
  EXPECT_LE(dz, 1e-4);
}

TEST_P(HfModel, TokenizerGivesTheHfTokenizersIds) {
  const std::string m = GetParam();
  const std::string out = tmp(m + "-tok.gguf");
  convert_hf_to_gguf(hf_dir() + m, out, ConvertOptions{so8t::quant::Type::f16, "", ""});
  const Tokenizer tok(open_vocab(out));
  const auto want = read_array<std::int32_t>(hf_dir() + m + ".tokens.i32");
  // HF splits added special tokens out of the text: llama.cpp's parse_special
  EXPECT_EQ(tok.encode(slurp(hf_dir() + "text.txt"), true, true), want);
  std::remove(out.c_str());
}

INSTANTIATE_TEST_SUITE_P(Architectures, HfModel, ::testing::Values("llama", "mistral", "qwen2", "qwen3"));

TEST(HfConvert, StoredHalfTypesConvertExactly) {  // mistral is stored in bf16, qwen2 in f16: no rounding
  EXPECT_LE(max_dz_against_transformers("mistral", so8t::quant::Type::bf16), 1e-4);
  EXPECT_LE(max_dz_against_transformers("qwen2", so8t::quant::Type::f16), 1e-4);
  // and f16 from f32 rounds (measured, not a bound on correctness)
  const double dz = max_dz_against_transformers("llama", so8t::quant::Type::f16);
  std::printf("[ convert  ] llama f32 -> f16: max |dz| %.3g\n", dz);
  EXPECT_LE(dz, 0.05);
}

TEST(HfConvert, QuantizeCarriesTokenizerChatTemplateAndGeneralKeys) {
  const std::string f = tmp("carry-f16.gguf"), q = tmp("carry-q4_k_m.gguf");
  convert_hf_to_gguf(hf_dir() + "qwen2", f, ConvertOptions{so8t::quant::Type::f16, "", ""});
  quantize_gguf(f, q, "q4_k_m");
  const so8t::gguf::Reader a = so8t::gguf::Reader::open(f), b = so8t::gguf::Reader::open(q);
  for (const so8t::gguf::MetadataEntry& e : a.metadata()) {
    const so8t::gguf::Value* v = b.metadata().find(e.key);
    ASSERT_NE(v, nullptr) << e.key << " was dropped";
    if (e.key != "general.file_type") EXPECT_TRUE(*v == e.value) << e.key << " changed";
  }
  EXPECT_EQ(b.metadata().find("general.file_type")->as<std::uint32_t>(), 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_NE(b.metadata().find("tokenizer.chat_template"), nullptr);
  std::remove(f.c_str());
  std::remove(q.c_str());
}

// ---- bad checkpoints: a copy of a fixture folder with one file changed

fs::path copy_folder(const std::string& m, const std::string& name) {
  const fs::path dst = tmp(name);
  fs::remove_all(dst);
  fs::copy(hf_dir() + m, dst, fs::copy_options::recursive);
  return dst;
}

void write_file(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary | std::ios::trunc) << s; }

/// model.safetensors of `folder` with its header JSON replaced by edit(header).
template <class Edit>
void edit_safetensors_header(const fs::path& file, Edit edit) {
  const std::string s = slurp(file.string());
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::uint8_t(s[std::size_t(i)]);
  nlohmann::json h = nlohmann::json::parse(s.substr(8, n));
  edit(h);
  const std::string hs = h.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char((hs.size() >> (8 * i)) & 0xFF);
  write_file(file, out + hs + s.substr(8 + n));
}

template <class E>
std::string refusal(const fs::path& folder, const std::string& pre = "") {
  const std::string out = tmp("refused.gguf");
  std::string what;
  try {
    convert_hf_to_gguf(folder.string(), out, ConvertOptions{so8t::quant::Type::f32, pre, ""});
    ADD_FAILURE() << "converted " << folder;
  } catch (const E& e) {
    what = e.what();
  }
  EXPECT_FALSE(fs::exists(out)) << "an output was written for " << folder;
  fs::remove_all(folder);
  return what;
}

TEST(HfConvertErrors, SafetensorsHeaderLies) {
  {
    const fs::path d = copy_folder("llama", "overlap");
    edit_safetensors_header(d / "model.safetensors", [](nlohmann::json& h) {
      // two equal-sized tensors: the second now points at the first one's bytes
      h["model.layers.0.self_attn.k_proj.weight"]["data_offsets"] = h["model.layers.0.self_attn.v_proj.weight"]["data_offsets"];
    });
    EXPECT_NE(refusal<SafetensorsError>(d).find("overlaps tensor"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("llama", "beyond");
    edit_safetensors_header(d / "model.safetensors", [](nlohmann::json& h) {
      const std::uint64_t b = 1u << 30;
      h["model.norm.weight"]["data_offsets"] = {b, b + 256};
    });
    EXPECT_NE(refusal<SafetensorsError>(d).find("beyond the data section"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("llama", "size");
    edit_safetensors_header(d / "model.safetensors", [](nlohmann::json& h) { h["model.norm.weight"]["shape"] = {128}; });
    EXPECT_NE(refusal<SafetensorsError>(d).find("'model.norm.weight' holds 256 bytes, but F32 [128] needs 512"),
              std::string::npos);
  }
  {
    const fs::path d = copy_folder("llama", "dtype");
    edit_safetensors_header(d / "model.safetensors", [](nlohmann::json& h) { h["model.norm.weight"]["dtype"] = "I64"; });
    EXPECT_NE(refusal<SafetensorsError>(d).find("dtype I64"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("llama", "hlen");
    std::string s = slurp((d / "model.safetensors").string());
    s[6] = 1;  // header length ~2^48
    write_file(d / "model.safetensors", s);
    EXPECT_NE(refusal<SafetensorsError>(d).find("above the 100 MiB limit"), std::string::npos);
  }
}

TEST(HfConvertErrors, CheckpointsThatDisagree) {
  {
    const fs::path d = copy_folder("llama", "config");
    nlohmann::json c = nlohmann::json::parse(slurp((d / "config.json").string()));
    c["intermediate_size"] = 128;
    write_file(d / "config.json", c.dump());
    EXPECT_NE(refusal<HfCheckpointError>(d).find("'model.layers.0.mlp.gate_proj.weight' has shape [96, 64] but config.json implies [128, 64]"),
              std::string::npos);
  }
  {
    const fs::path d = copy_folder("qwen3", "shard");
    fs::remove(d / "model-00002-of-00002.safetensors");
    EXPECT_NE(refusal<HfCheckpointError>(d).find("shard 'model-00002-of-00002.safetensors' listed in"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("qwen2", "bias");  // qwen2 needs its q/k/v biases
    edit_safetensors_header(d / "model.safetensors", [](nlohmann::json& h) { h.erase("model.layers.1.self_attn.v_proj.bias"); });
    EXPECT_NE(refusal<HfCheckpointError>(d).find("no tensor 'model.layers.1.self_attn.v_proj.bias'"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("llama", "arch");
    nlohmann::json c = nlohmann::json::parse(slurp((d / "config.json").string()));
    c["architectures"] = {"GemmaForCausalLM"};
    write_file(d / "config.json", c.dump());
    EXPECT_NE(refusal<HfCheckpointError>(d).find("\"GemmaForCausalLM\" is not one so8t converts"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("llama", "yarn");
    nlohmann::json c = nlohmann::json::parse(slurp((d / "config.json").string()));
    c["rope_parameters"] = {{"rope_theta", 10000.0}, {"rope_type", "yarn"}, {"factor", 4.0}};
    write_file(d / "config.json", c.dump());
    EXPECT_NE(refusal<HfCheckpointError>(d).find("rope_type \"yarn\" is not supported"), std::string::npos);
  }
}

TEST(HfConvertErrors, TokenizersSo8tCannotReproduce) {
  {
    const fs::path d = copy_folder("qwen2", "merges");
    nlohmann::json t = nlohmann::json::parse(slurp((d / "tokenizer.json").string()));
    t["model"]["merges"].push_back({"zzqq", "x"});
    write_file(d / "tokenizer.json", t.dump());
    EXPECT_NE(refusal<HfCheckpointError>(d).find("names 'zzqq', which is not in the vocabulary"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("qwen2", "pre");
    nlohmann::json t = nlohmann::json::parse(slurp((d / "tokenizer.json").string()));
    t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{L}+|\\s+";
    write_file(d / "tokenizer.json", t.dump());
    EXPECT_NE(refusal<HfCheckpointError>(d).find("not one so8t recognises"), std::string::npos);
  }
  {
    const fs::path d = copy_folder("qwen2", "prename");
    EXPECT_NE(refusal<UnknownPreTokenizer>(d, "mistral").find("mistral"), std::string::npos);
  }
}

// ---- the program

int run(const std::string& args, std::string* err = nullptr) {
  const std::string errfile = tmp("stderr.txt");
  const int rc = std::system((std::string("\"") + SO8T_CONVERT_BIN + "\" " + args + " > /dev/null 2> \"" + errfile + "\"").c_str());
  if (err) *err = slurp(errfile);
  std::remove(errfile.c_str());
  return WEXITSTATUS(rc);
}

TEST(So8tConvert, ConvertsAndRefusesWithOneLine) {
  const std::string out = tmp("cli.gguf");
  ASSERT_EQ(run("--in \"" + hf_dir() + "qwen3\" --out \"" + out + "\" --type bf16"), 0);
  EXPECT_EQ(LlamaModel::open(out).arch(), Arch::qwen3);
  EXPECT_EQ(LlamaModel::open(out).layers()[0].wq.type, so8t::quant::Type::bf16);
  std::remove(out.c_str());
  std::string err;
  EXPECT_EQ(run("--in /nonexistent --out \"" + out + "\"", &err), 2);
  EXPECT_EQ(run("--in \"" + hf_dir() + "qwen3\" --out \"" + out + "\" --type q8_0", &err), 2);
  const fs::path d = copy_folder("qwen3", "cli-shard");
  fs::remove(d / "model-00001-of-00002.safetensors");
  EXPECT_EQ(run("--in \"" + d.string() + "\" --out \"" + out + "\"", &err), 1);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("so8t_convert: "), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(run("--in \"" + d.string() + "\" --out \"" + (d / "config.json").string() + "\"", &err), 2) << err;
  fs::remove_all(d);
}

}  // namespace
