// so8t/llm/model/bpe_pre.hpp: the pre-tokenizers of byte-level BPE vocabularies, chosen by tokenizer.ggml.pre
// as llama.cpp chooses them (docs/tokenizers.md "Pre-tokenizers"): which family a name belongs to, the
// regular expressions that family splits a text with, and the two defaults that depend on the name
// (add_bos when tokenizer.ggml.add_bos_token is absent, and ignore_merges).
//
// The expressions are written for ICU's regex engine (icu::RegexPattern). Where llama.cpp's patterns say
// \s / \S they say \p{White_Space} / \P{White_Space}: llama.cpp's whitespace is the Unicode White_Space
// property (tabs, line feeds, U+0085, U+00A0, U+3000, ...), which ICU's own \s is not (it lacks U+000B and
// U+0085). A name not in the table is refused with UnknownPreTokenizer, never replaced by another family.
#pragma once

#include <string>
#include <vector>

#include "so8t/llm/model/model_error.hpp"

namespace so8t::llm {

enum class PreFamily {
  default_,        ///< "default" (or no tokenizer.ggml.pre)
  gpt2,            ///< GPT-2's expression alone
  llama3,          ///< Llama 3: digits in runs of at most 3
  qwen2,           ///< as llama3, one digit per word
  qwen35,          ///< as qwen2, combining marks go with letters
  smollm,          ///< StarCoder / SmolLM: one digit per word, then GPT-2's expression
  falcon,          ///< punctuation runs, GPT-2, digit triples
  deepseek_llm,    ///< explicit letter / punctuation / CJK classes
  deepseek_coder,  ///< newline, letters, punctuation, CJK, single digits
  deepseek_v3,     ///< digit triples, CJK + kana, llama3-like words
  tekken,          ///< Mistral's Tekken (Mistral Nemo, Pixtral's text model)
  gpt4o,           ///< GPT-4o / Llama 4
};

struct PreTokenizer {
  std::string name;         ///< the tokenizer.ggml.pre value ("" when absent)
  PreFamily family = PreFamily::default_;
  bool add_bos = false;     ///< add_bos when tokenizer.ggml.add_bos_token is absent
  bool ignore_merges = false;  ///< a word that is a whole vocab token is emitted as it is, unmerged
};

/// The pre-tokenizer named `pre` (UnknownPreTokenizer when so8t does not know it).
inline PreTokenizer find_pre_tokenizer(const std::string& pre) {
  struct Row {
    const char* name;
    PreFamily family;
    bool add_bos, ignore_merges;
  };
  using F = PreFamily;
  static const Row rows[] = {
      {"", F::default_, false, false}, {"default", F::default_, false, false},
      // Llama 3 and the models that took its tokenizer: BOS by default, whole-word tokens unmerged
      {"llama3", F::llama3, true, true}, {"llama-v3", F::llama3, true, true}, {"llama-bpe", F::llama3, true, true},
      {"falcon3", F::llama3, true, true}, {"falcon-h1", F::llama3, true, true}, {"pixtral", F::llama3, true, true},
      {"midm-2.0", F::llama3, true, true}, {"lfm2", F::llama3, true, true}, {"jina-v5-nano", F::llama3, true, true},
      {"dbrx", F::llama3, false, false}, {"smaug-bpe", F::llama3, false, false},
      {"gpt-2", F::gpt2, false, false}, {"phi-2", F::gpt2, false, false}, {"jina-es", F::gpt2, false, false},
      {"jina-de", F::gpt2, false, false}, {"gigachat", F::gpt2, false, false}, {"jina-v2-es", F::gpt2, false, false},
      {"jina-v2-de", F::gpt2, false, false}, {"a.x-4.0", F::gpt2, false, false}, {"mellum", F::gpt2, false, false},
      {"modern-bert", F::gpt2, false, false}, {"exaone4", F::gpt2, false, false}, {"mpt", F::gpt2, false, false},
      {"olmo", F::gpt2, false, false}, {"jais", F::gpt2, false, false}, {"trillion", F::gpt2, false, false},
      {"granite-docling", F::gpt2, false, false},
      {"qwen2", F::qwen2, false, false}, {"deepseek-r1-qwen", F::qwen2, false, false}, {"kormo", F::qwen2, false, false},
      {"f2llmv2", F::qwen2, false, false}, {"megrez", F::qwen2, false, false}, {"stablelm2", F::qwen2, false, false},
      {"hunyuan", F::qwen2, false, false}, {"solar-open", F::qwen2, false, false},
      {"qwen35", F::qwen35, false, false},
      {"smollm", F::smollm, false, false}, {"starcoder", F::smollm, false, false}, {"refact", F::smollm, false, false},
      {"command-r", F::smollm, false, false}, {"codeshell", F::smollm, false, false}, {"exaone", F::smollm, false, false},
      {"minerva-7b", F::smollm, false, false}, {"mellum2", F::smollm, false, false},
      {"falcon", F::falcon, false, false},
      {"deepseek-llm", F::deepseek_llm, false, false},
      {"deepseek-coder", F::deepseek_coder, false, false},
      {"deepseek-v3", F::deepseek_v3, false, false},
      {"tekken", F::tekken, true, true},
      {"gpt-4o", F::gpt4o, false, false}, {"llama4", F::gpt4o, false, false}, {"kanana2", F::gpt4o, false, false},
      {"talkie", F::gpt4o, false, false},
  };
  for (const Row& r : rows)
    if (pre == r.name) return PreTokenizer{pre, r.family, r.add_bos, r.ignore_merges};
  throw UnknownPreTokenizer(pre);
}

/// The expressions of `family`, applied in turn: each one splits every piece the previous ones left into
/// its matches and the gaps between them (docs/tokenizers.md "Pre-tokenizers").
inline std::vector<std::string> pre_tokenizer_regexes(PreFamily family) {
  // Apostrophe suffixes; the case-insensitive form is llama 3's.
  const std::string ci = R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))re";
  const std::string ws = R"re(\p{White_Space})re", nws = R"re(\P{White_Space})re";
  const std::string gpt2 = R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|)re" + ws +
                           "+(?!" + nws + ")";
  // The tail every llama3-like expression shares: symbol runs (newlines attached), newline runs, spaces.
  const std::string tail = "[\\r\\n]*|" + ws + "*[\\r\\n]+|" + ws + "+(?!" + nws + ")|" + ws + "+";
  const std::string tail_slash = "[\\r\\n/]*|" + ws + "*[\\r\\n]+|" + ws + "+(?!" + nws + ")|" + ws + "+";
  const std::string cjk = R"re([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)re";
  // "Upper" = a letter other than a-z, "lower" = a letter other than A-Z (llama.cpp's approximation of HF's
  // \p{Lu} / \p{Ll} classes; a non-ASCII letter counts as both).
  const std::string upper = R"re(((?=[\p{L}])([^a-z])))re", lower = R"re(((?=[\p{L}])([^A-Z])))re";
  switch (family) {
    case PreFamily::default_:
      return {R"re([\p{P}\$\+<=>\^~\|]+)re", gpt2, R"re(\p{N}+)re", "[0-9][0-9][0-9]"};
    case PreFamily::gpt2:
      return {gpt2};
    case PreFamily::llama3:
      return {ci + R"re(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\p{White_Space}\p{L}\p{N}]+)re" + tail};
    case PreFamily::qwen2:
      return {ci + R"re(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\p{White_Space}\p{L}\p{N}]+)re" + tail};
    case PreFamily::qwen35:
      return {ci + R"re(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\p{White_Space}\p{L}\p{M}\p{N}]+)re" + tail};
    case PreFamily::smollm:
      return {R"re(\p{N})re", gpt2};
    case PreFamily::falcon:
      return {R"re([\p{P}\$\+<=>\^~\|`]+)re", gpt2, "[0-9][0-9][0-9]"};
    case PreFamily::deepseek_llm:
      return {
          "[\\r\\n]",
          ws + "?[" R"re(\x{0041}-\x{005A}\x{0061}-\x{007A}\x{00B5}\x{00C0}-\x{00D6}\x{00D8}-\x{00F6}\x{00F8}-\x{01BA})re"
          R"re(\x{01BC}-\x{01BF}\x{01C4}-\x{0293}\x{0295}-\x{02AF}\x{0370}-\x{0373}\x{0376}\x{0377}\x{037B}-\x{037D})re"
          R"re(\x{037F}\x{0386}\x{0388}-\x{038A}\x{038C}\x{038E}-\x{03A1}\x{03A3}-\x{03F5}\x{03F7}-\x{0481})re"
          R"re(\x{048A}-\x{052F}\x{0531}-\x{0556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA})re"
          R"re(\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})re"
          R"re(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D})re"
          R"re(\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3})re"
          R"re(\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113})re"
          R"re(\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139})re"
          R"re(\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})re"
          R"re(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787})re"
          R"re(\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A})re"
          R"re(\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2})re"
          R"re(\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)re",
          ws + R"re(?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)re",
          ws + "+$",  // compiled with UREGEX_UNIX_LINES; the first expression leaves every '\n' on its own
          cjk,
          R"re(\p{N}+)re",
      };
    case PreFamily::deepseek_coder:
      return {"[\\r\\n]", ws + R"re(?\p{L}+)re", ws + R"re(?\p{P}+)re", cjk, R"re(\p{N})re"};
    case PreFamily::deepseek_v3:
      return {R"re(\p{N}{1,3})re", R"re([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)re",
              R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+)re" +
                  tail};
    case PreFamily::tekken:
      return {R"re([^\r\n\p{L}\p{N}]?)re" + upper + "*" + lower + R"re(+|[^\r\n\p{L}\p{N}]?)re" + upper + "+" + lower +
              R"re(*|\p{N}| ?[^\p{White_Space}\p{L}\p{N}]+)re" + tail_slash};
    case PreFamily::gpt4o:
      return {R"re([^\r\n\p{L}\p{N}]?)re" + upper + "*" + lower + "+" + ci + R"re(?|[^\r\n\p{L}\p{N}]?)re" + upper + "+" +
              lower + "*" + ci + R"re(?|\p{N}{1,3}| ?[^\p{White_Space}\p{L}\p{N}]+)re" + tail_slash};
  }
  return {};
}

}  // namespace so8t::llm
