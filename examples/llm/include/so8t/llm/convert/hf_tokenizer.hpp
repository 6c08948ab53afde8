// so8t/llm/convert/hf_tokenizer.hpp: a Hugging Face byte-level BPE tokenizer (tokenizer.json,
// tokenizer_config.json, chat_template.jinja) as the tokenizer.ggml.* keys llama.cpp's converter writes
// (namespace so8t::llm). Rules in docs/hf-checkpoints.md "Tokenizer":
//
//   tokens      ids 0 .. vocab_size-1 from model.vocab and added_tokens; an id neither names is "[PAD<id>]"
//   token_type  1 normal, 3 control (an added token marked special, or spelled <|...|>), 4 other added
//               tokens, 5 the padding ids
//   merges      "left right" by rank (pairs of the newer [left, right] form joined; a space inside a part
//               becomes U+0120 as GPT-2's byte map spells it)
//   pre         from the pre-tokenizer's regex (Llama 3: llama-bpe, Qwen2: qwen2, GPT-2's ByteLevel regex:
//               gpt-2); anything else is refused unless ConvertOptions::pre names the family
//   special ids tokenizer_config's <typ>_token strings matched against added_tokens, then config.json's
//               <typ>_token_id; add_bos / add_eos / add_sep from the post-processor (TemplateProcessing's
//               leading / trailing special tokens; ByteLevel: none), then tokenizer_config's add_<typ>_token
//   chat_template  tokenizer_config's "chat_template", else chat_template.jinja
//
// A merge naming a token the vocabulary lacks, a SentencePiece-style BPE (byte_fallback), an id outside
// vocab_size: HfCheckpointError naming it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "so8t/llm/convert/hf_config.hpp"
#include "so8t/llm/model/bpe_pre.hpp"

namespace so8t::llm {

/// The tokenizer.ggml.* content of one checkpoint.
struct GgufVocab {
  std::string pre;
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, std::uint32_t>> ids;  ///< ("bos", 512): tokenizer.ggml.<typ>_token_id
  std::vector<std::pair<std::string, bool>> add;           ///< ("bos", true): tokenizer.ggml.add_<typ>_token
  std::optional<std::string> chat_template;
};

namespace detail {

// The pre-tokenizer regexes as the models' tokenizer.json files spell them (docs/tokenizers.md).
inline constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
inline constexpr const char* kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/// The llama.cpp pre-tokenizer family of a tokenizer.json "pre_tokenizer", or "" when it is not one so8t knows.
inline std::string detect_pre(const nlohmann::json& pre) {
  if (!pre.is_object()) return "";
  const std::string type = pre.value("type", "");
  if (type == "ByteLevel") return pre.value("use_regex", true) ? "gpt-2" : "";
  if (type != "Sequence" || !pre.contains("pretokenizers") || !pre["pretokenizers"].is_array()) return "";
  const nlohmann::json& seq = pre["pretokenizers"];
  if (seq.size() != 2 || seq[0].value("type", "") != "Split" || seq[1].value("type", "") != "ByteLevel" ||
      seq[1].value("use_regex", true))
    return "";
  const nlohmann::json& pat = seq[0].value("pattern", nlohmann::json::object());
  if (!pat.is_object() || !pat.contains("Regex") || !pat["Regex"].is_string()) return "";
  const std::string re = pat["Regex"].get<std::string>();
  if (re == kLlama3Regex) return "llama-bpe";
  if (re == kQwen2Regex) return "qwen2";
  return "";
}

/// The content of tokenizer_config's "<typ>_token" (a string or {"content": ...}), or "".
inline std::string config_token(const nlohmann::json& tc, const std::string& typ) {
  if (!tc.is_object() || !tc.contains(typ + "_token")) return "";
  const nlohmann::json& e = tc[typ + "_token"];
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("content") && e["content"].is_string()) return e["content"].get<std::string>();
  return "";
}

inline std::string special_id_of(const nlohmann::json& entry) {
  if (!entry.is_object() || !entry.contains("SpecialToken")) return "";
  const nlohmann::json& s = entry["SpecialToken"];
  return s.is_object() && s.contains("id") && s["id"].is_string() ? s["id"].get<std::string>() : "";
}

inline bool looks_special(const std::string& t) {
  return t == "<pad>" || t == "<mask>" || (t.size() >= 4 && t.compare(0, 2, "<|") == 0 && t.compare(t.size() - 2, 2, "|>") == 0);
}

}  // namespace detail

/// Reads the tokenizer of `folder` for a model of `cfg.vocab` ids; `pre_override` (a llama.cpp family name)
/// replaces detection. Throws HfCheckpointError / UnknownPreTokenizer.
inline GgufVocab read_hf_tokenizer(const std::string& folder, const HfConfig& cfg, const std::string& pre_override = "") {
  const std::string file = folder + "/tokenizer.json";
  const nlohmann::json tj = read_json_file(file);
  const nlohmann::json tc = read_json_file(folder + "/tokenizer_config.json", false);
  auto bad = [&](const std::string& what) { throw HfCheckpointError("so8t::llm: " + file + ": " + what); };
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object()) bad("no \"model\" object");
  const nlohmann::json& model = tj["model"];
  if (model.value("type", "") != "BPE") bad("model type " + model.value("type", std::string("(none)")) + " (so8t converts byte-level BPE)");
  if (model.value("byte_fallback", false))
    bad("a BPE with byte_fallback (a SentencePiece vocabulary) is not a byte-level BPE; not supported");
  if (!model.contains("vocab") || !model["vocab"].is_object()) bad("model has no \"vocab\" object");

  GgufVocab v;
  const std::size_t n = static_cast<std::size_t>(cfg.vocab);
  std::vector<std::string> by_id(n);
  std::vector<bool> named(n, false);
  std::vector<std::int32_t> types(n, 5);
  std::map<std::string, std::int64_t> id_of;
  auto name = [&](std::int64_t id, const std::string& tok, std::int32_t type, const char* where) {
    if (id < 0 || id >= std::int64_t(n))
      bad(std::string(where) + " token '" + tok + "' has id " + std::to_string(id) + ", outside the model's vocab_size " +
          std::to_string(n) + " (config.json)");
    if (named[std::size_t(id)] && by_id[std::size_t(id)] != tok)
      bad("id " + std::to_string(id) + " names both '" + by_id[std::size_t(id)] + "' and '" + tok + "'");
    by_id[std::size_t(id)] = tok;
    named[std::size_t(id)] = true;
    types[std::size_t(id)] = type;
    id_of[tok] = id;
  };
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it->is_number_integer()) bad("vocab entry '" + it.key() + "' has id " + it->dump());
    name(it->get<std::int64_t>(), it.key(), 1, "vocab");
  }
  std::map<std::string, std::int64_t> added;  // content -> id, for the special-token lookups
  if (tj.contains("added_tokens")) {
    if (!tj["added_tokens"].is_array()) bad("\"added_tokens\" is not an array");
    for (const nlohmann::json& a : tj["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
        bad("an added_tokens entry lacks an integer id or a content string: " + a.dump());
      const std::string content = a["content"].get<std::string>();
      const bool special = a.value("special", false) || detail::looks_special(content);
      name(a["id"].get<std::int64_t>(), content, special ? 3 : 4, "added");
      added.emplace(content, a["id"].get<std::int64_t>());
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    v.tokens.push_back(named[i] ? by_id[i] : "[PAD" + std::to_string(i) + "]");
    v.types.push_back(types[i]);
  }

  // Merges: both forms; each side must be a token (a merge of unknown pieces can never apply).
  if (!model.contains("merges") || !model["merges"].is_array()) bad("model has no \"merges\" array");
  for (const nlohmann::json& m : model["merges"]) {
    std::string left, right;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const std::size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 == s.size()) bad("merge \"" + s + "\" is not \"left right\"");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      auto spell = [](std::string p) {  // a space inside a part: U+0120, as the byte map writes a space
        std::string o;
        for (char c : p) o += c == ' ' ? std::string("\xC4\xA0") : std::string(1, c);
        return o;
      };
      left = spell(m[0].get<std::string>());
      right = spell(m[1].get<std::string>());
    } else {
      bad("merge " + m.dump() + " is neither \"left right\" nor [left, right]");
    }
    if (!id_of.count(left) || !id_of.count(right))
      bad("merge \"" + left + " " + right + "\" (rank " + std::to_string(v.merges.size()) + ") names '" +
          (id_of.count(left) ? right : left) + "', which is not in the vocabulary");
    v.merges.push_back(left + " " + right);
  }

  v.pre = pre_override.empty() ? detail::detect_pre(tj.value("pre_tokenizer", nlohmann::json())) : pre_override;
  if (v.pre.empty())
    bad("its pre_tokenizer is not one so8t recognises (Llama 3's or Qwen2's regex, GPT-2's ByteLevel): " +
        tj.value("pre_tokenizer", nlohmann::json()).dump().substr(0, 300) + "; name the family with --pre");
  find_pre_tokenizer(v.pre);  // UnknownPreTokenizer for a name llama.cpp does not have

  // Special tokens and whether encoding adds them.
  std::map<std::string, std::string> content;
  for (const char* typ : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) content[typ] = detail::config_token(tc, typ);
  std::map<std::string, bool> add;
  if (tj.contains("post_processor") && tj["post_processor"].is_object()) {
    const nlohmann::json& pp = tj["post_processor"];
    const nlohmann::json procs = pp.contains("processors") && pp["processors"].is_array() ? pp["processors"] : nlohmann::json::array({pp});
    for (const nlohmann::json& p : procs) {
      const std::string type = p.value("type", "");
      if (type == "ByteLevel") {
        add.emplace("bos", false);
        add.emplace("eos", false);
      } else if (type == "TemplateProcessing" && p.contains("single") && p["single"].is_array() && p["single"].size() > 1) {
        const std::string first = detail::special_id_of(p["single"].front()), last = detail::special_id_of(p["single"].back());
        if (!first.empty()) {
          if (content["bos"].empty()) content["bos"] = first;
          add["bos"] = first == content["bos"] || first == content["cls"];
        }
        if (!last.empty()) {
          if (content["eos"].empty()) content["eos"] = last;
          add["eos"] = last == content["eos"];
        }
        // pair = [first] A <middle> B [last]: a separator only when the middle is the sep / eos token
        if (p.contains("pair") && p["pair"].is_array()) {
          std::vector<nlohmann::json> pair(p["pair"].begin(), p["pair"].end());
          if (!first.empty() && !pair.empty() && detail::special_id_of(pair.front()) == first) pair.erase(pair.begin());
          if (!last.empty() && !pair.empty() && detail::special_id_of(pair.back()) == last) pair.pop_back();
          if (pair.size() > 2) {
            bool sep = false;
            for (std::size_t i = 1; i + 1 < pair.size() && i <= 2; ++i) {
              const std::string mid = detail::special_id_of(pair[i]);
              if (!mid.empty() && (mid == content["sep"] || mid == content["eos"]) && (i == 2 || last.empty())) sep = true;
            }
            add["sep"] = sep;
          }
        }
      }
    }
  }
  if (tc.is_object())
    for (const char* typ : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) {
      const std::string key = std::string("add_") + typ + "_token";
      if (tc.contains(key) && tc[key].is_boolean()) add.emplace(typ, tc[key].get<bool>());
    }
  std::map<std::string, std::uint32_t> ids;
  for (const char* typ : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) {
    const auto it = added.find(content[typ]);
    if (!content[typ].empty() && it != added.end()) ids[typ] = std::uint32_t(it->second);
  }
  for (const char* typ : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) {
    const std::string key = std::string(typ) + "_token_id";
    if (ids.count(typ) || !cfg.raw.contains(key) || !cfg.raw[key].is_number_integer()) continue;
    const std::int64_t id = cfg.raw[key].get<std::int64_t>();
    if (id < 0 || id >= std::int64_t(n))
      throw HfCheckpointError("so8t::llm: " + folder + "/config.json: " + key + " = " + std::to_string(id) +
                              " is outside vocab_size " + std::to_string(n));
    ids[typ] = std::uint32_t(id);
  }
  static const std::map<std::string, std::string> kIdKey = {{"bos", "bos"},     {"eos", "eos"},       {"unk", "unknown"},
                                                            {"sep", "seperator"}, {"pad", "padding"}, {"cls", "cls"},
                                                            {"mask", "mask"}};
  for (const auto& [typ, id] : ids) v.ids.emplace_back(kIdKey.at(typ), id);
  for (const auto& [typ, a] : add) v.add.emplace_back(typ, a);
  if (std::any_of(v.add.begin(), v.add.end(), [&](const auto& p) { return p.first == "bos" && p.second; }) && !ids.count("bos"))
    throw HfCheckpointError("so8t::llm: " + folder + ": BOS is added to every text but no BOS token id is known");

  if (tc.is_object() && tc.contains("chat_template") && tc["chat_template"].is_string()) {
    v.chat_template = tc["chat_template"].get<std::string>();
  } else {
    std::ifstream jf(folder + "/chat_template.jinja", std::ios::binary);
    if (jf) v.chat_template = std::string((std::istreambuf_iterator<char>(jf)), std::istreambuf_iterator<char>());
  }
  return v;
}

}  // namespace so8t::llm
