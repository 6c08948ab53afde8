// Byte-level BPE (so8t/llm/model/bpe_tokenizer.hpp) against llama.cpp: the token ids llama.cpp gave for the
// texts of tests/data/bpe/cases, for SmolLM2's vocabulary under each pre-tokenizer family, with special-token
// parsing off and on (tests/data/bpe/MANIFEST.md says how they were made); decode round trips; malformed
// UTF-8; the vocabularies the loader must refuse; held-out text through the Tokenizer facade.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string_view>
#include <string>
#include <vector>

#include <unistd.h>

#include "so8t/gguf/reader.hpp"
#include "so8t/gguf/writer.hpp"
#include "so8t/llm/io/held_out_tokens.hpp"
#include "so8t/llm/model/bpe_tokenizer.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/model/tokenizer.hpp"
#include "support/byte_vocab.hpp"

namespace {

using namespace so8t::llm;
namespace gguf = so8t::gguf;

std::string data_dir() { return std::string(SO8T_TEST_DATA_DIR) + "/bpe/"; }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

constexpr int kCases = 8;
std::string case_text(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "cases/%02d.txt", i);
  return read_file(data_dir() + name);
}

/// ids/<name>.<plain|special>.txt: "i: id id ..." per case.
std::vector<std::vector<std::int32_t>> expected_ids(const std::string& name, bool special) {
  std::istringstream in(read_file(data_dir() + "ids/" + name + (special ? ".special.txt" : ".plain.txt")));
  std::vector<std::vector<std::int32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) throw std::runtime_error("bad fixture line: " + line);
    EXPECT_EQ(std::stoi(line.substr(0, colon)), int(out.size()));
    std::istringstream ids(line.substr(colon + 1));
    out.emplace_back();
    for (std::int32_t id; ids >> id;) out.back().push_back(id);
  }
  return out;
}

const std::string& vocab_file() {
  static const std::string bytes = read_file(data_dir() + "smollm2-vocab.gguf");
  return bytes;
}

/// The committed vocabulary with its keys edited as make_bpe_fixtures.py edits them for llama.cpp:
/// `pre` replaces tokenizer.ggml.pre and add_bos_token is dropped (so the family's default applies), plus
/// any key in `set` replaced / added and any in `drop` removed.
std::vector<std::uint8_t> edited_vocab(const std::string& pre, std::vector<gguf::MetadataEntry> set = {},
                                       std::vector<std::string> drop = {"tokenizer.ggml.add_bos_token"}) {
  const gguf::Reader r = gguf::Reader::from_memory(vocab_file().data(), vocab_file().size());
  std::vector<std::uint8_t> out;
  gguf::Writer w(&out);
  auto is_set = [&](const std::string& key) {
    return std::any_of(set.begin(), set.end(), [&](const gguf::MetadataEntry& s) { return s.key == key; });
  };
  for (const gguf::MetadataEntry& e : r.metadata()) {
    if (is_set(e.key) || std::find(drop.begin(), drop.end(), e.key) != drop.end()) continue;
    if (e.key == "tokenizer.ggml.pre" && !pre.empty()) w.add_metadata(e.key, gguf::Value::string(pre));
    else if (e.key != "general.alignment") w.add_metadata(e.key, e.value);
  }
  for (const auto& s : set) w.add_metadata(s.key, s.value);
  w.finish();
  return out;
}

Vocab vocab_of(const std::vector<std::uint8_t>& file) {
  return read_vocab(gguf::Reader::from_memory(file.data(), file.size()).metadata());
}

const std::vector<std::string> kFamilies = {"default", "gpt-2",  "llama-bpe", "smollm",    "qwen2",          "deepseek-llm",
                                            "tekken",  "dbrx",   "mpt",       "starcoder", "command-r",      "falcon",
                                            "deepseek-coder", "deepseek-v3", "qwen35", "gpt-4o"};

void expect_llama_cpp_ids(const BpeTokenizer& tok, const std::string& name) {
  for (const bool special : {false, true}) {
    const auto expected = expected_ids(name, special);
    ASSERT_EQ(expected.size(), std::size_t(kCases)) << name;
    for (int i = 0; i < kCases; ++i)
      EXPECT_EQ(tok.encode(case_text(i), true, special), expected[std::size_t(i)])
          << name << (special ? " special" : " plain") << " case " << i;
  }
}

TEST(BpeTokenizer, SmolLM2VocabMatchesLlamaCpp) {
  const Vocab v = open_vocab(data_dir() + "smollm2-vocab.gguf");
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "smollm");
  EXPECT_FALSE(v.add_bos);  // the file says so
  EXPECT_EQ(v.tokens.size(), 49152u);
  expect_llama_cpp_ids(BpeTokenizer(v), "smollm2");
}

TEST(BpeTokenizer, EveryFamilyMatchesLlamaCpp) {
  for (const std::string& fam : kFamilies) {
    SCOPED_TRACE(fam);
    const Vocab v = vocab_of(edited_vocab(fam));
    EXPECT_EQ(v.pre, fam);
    expect_llama_cpp_ids(BpeTokenizer(v), fam);
  }
}

TEST(BpeTokenizer, AddBosDefaultsFollowThePreTokenizer) {
  // keys absent: llama.cpp adds BOS for the llama 3 family and tekken only
  for (const std::string& fam : kFamilies)
    EXPECT_EQ(vocab_of(edited_vocab(fam)).add_bos, fam == "llama-bpe" || fam == "tekken") << fam;
  // the keys override the default both ways, and add_eos appends EOS
  const Vocab on = vocab_of(edited_vocab("smollm", {{"tokenizer.ggml.add_bos_token", gguf::Value::of(true)},
                                                    {"tokenizer.ggml.add_eos_token", gguf::Value::of(true)}}));
  const BpeTokenizer tok(on);
  const std::vector<std::int32_t> ids = tok.encode("Hi", true, false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 1);  // <|im_start|> is SmolLM2's bos_token_id
  EXPECT_EQ(ids.back(), 2);
  EXPECT_EQ(tok.encode("Hi", false, false).size(), ids.size() - 2);
  EXPECT_FALSE(vocab_of(edited_vocab("llama-bpe", {{"tokenizer.ggml.add_bos_token", gguf::Value::of(false)}})).add_bos);
}

TEST(BpeTokenizer, DecodeRoundTrips) {
  for (const std::string fam : {"smollm", "llama-bpe", "deepseek-llm", "tekken"}) {
    const BpeTokenizer tok(vocab_of(edited_vocab(fam)));
    for (int i = 0; i < kCases; ++i) {
      if (i == 5) continue;  // malformed UTF-8: see MalformedUtf8
      const std::string t = case_text(i);
      EXPECT_EQ(tok.decode(tok.encode(t, false, false)), t) << fam << " case " << i;
      EXPECT_EQ(tok.decode(tok.encode(t, false, true), true), t) << fam << " case " << i << " (special)";
    }
  }
  const BpeTokenizer tok(open_vocab(data_dir() + "smollm2-vocab.gguf"));
  EXPECT_EQ(tok.token_to_piece(1), "");  // control tokens print only when asked
  EXPECT_EQ(tok.token_to_piece(1, true), "<|im_start|>");
  EXPECT_EQ(tok.decode(tok.encode("<|im_end|>", false, true)), "");
  EXPECT_THROW(tok.token_to_piece(49152), so8t::InvalidArgument);
}

TEST(BpeTokenizer, MalformedUtf8) {
  // The fixture's case 5 (matched above) has stray continuation bytes, a truncated sequence, a surrogate
  // and a bad lead byte; here: every invalid byte becomes U+FFFD, as llama.cpp does, and nothing throws.
  const BpeTokenizer tok(open_vocab(data_dir() + "smollm2-vocab.gguf"));
  EXPECT_EQ(tok.encode("a\xff" "b", false, false), tok.encode("a\xEF\xBF\xBD" "b", false, false));
  EXPECT_EQ(tok.decode(tok.encode("a\xff" "b", false, false)), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(tok.encode("a\x04" "b", false, false), (std::vector<std::int32_t>{81, 82}));  // llama.cpp's ids
  EXPECT_EQ(tok.encode("\xF2\x8E\xB4\xB1", false, false), (std::vector<std::int32_t>{232, 129, 126}));
  // random bytes: ids in range, and the tokens spell the text as decoded (invalid bytes -> U+FFFD; the
  // expected bytes come from a plain re-encoding here, not from the tokenizer)
  auto as_decoded = [](const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      bool ok = len > 0 && i + len <= s.size();
      std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
      for (std::size_t k = 1; ok && k < len; ++k) {
        ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
      if (ok && cp > 0x10FFFF) ok = false;
      if (!ok) {
        cp = 0xFFFD;
        i += 1;
      } else {
        i += len;
      }
      // shortest form (an overlong sequence decodes to its value, as in llama.cpp)
      std::string enc;
      if (cp < 0x80) {
        enc += char(cp);
      } else if (cp < 0x800) {
        enc += char(0xC0 | cp >> 6), enc += char(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        enc += char(0xE0 | cp >> 12), enc += char(0x80 | (cp >> 6 & 0x3F)), enc += char(0x80 | (cp & 0x3F));
      } else {
        enc += char(0xF0 | cp >> 18), enc += char(0x80 | (cp >> 12 & 0x3F)), enc += char(0x80 | (cp >> 6 & 0x3F)),
            enc += char(0x80 | (cp & 0x3F));
      }
      // SmolLM2's vocab has no token for the GPT-2 characters of these bytes (read from the file's token
      // list with gguf-py), and llama.cpp then drops the byte: "a\x04b" -> 81 82, "\xF2\x8E\xB4\xB1" -> 232 129 126
      for (char b : enc)
        if (std::string_view("\x04\x06\x13\x14\x16\x1D\xF1\xF2", 8).find(b) == std::string_view::npos) out += b;
    }
    return out;
  };
  std::mt19937 rng(7);
  for (int n = 0; n < 300; ++n) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = char(n % 2 ? 0x80 + rng() % 128 : rng() % 256);
    const std::vector<std::int32_t> ids = tok.encode(s, true, true);
    for (const std::int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.n_vocab());
    std::string hex;
    for (unsigned char c : s) hex += "0123456789abcdef"[c >> 4], hex += "0123456789abcdef"[c & 15], hex += ' ';
    if (s.find('<') == std::string::npos) {
      EXPECT_EQ(tok.decode(tok.encode(s, false, false)), as_decoded(s)) << n << ": " << hex;
    }
  }
}

template <class E>
std::string error_of(const std::vector<std::uint8_t>& file) {
  try {
    const Vocab v = vocab_of(file);
    const BpeTokenizer tok(v);
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BpeTokenizer, RefusesUnknownPreTokenizerByName) {
  const std::string what = error_of<UnknownPreTokenizer>(edited_vocab("llama-bpe-9000"));
  EXPECT_NE(what.find("\"llama-bpe-9000\""), std::string::npos) << what;
  EXPECT_NE(what.find("tokenizer.ggml.pre"), std::string::npos) << what;
  try {
    find_pre_tokenizer("mistral");  // Mistral's BPE is "tekken" in llama.cpp; no such name
    FAIL();
  } catch (const UnknownPreTokenizer& e) {
    EXPECT_EQ(e.pre(), "mistral");
  }
  // a missing pre key is llama.cpp's "default"
  EXPECT_EQ(vocab_of(edited_vocab("", {}, {"tokenizer.ggml.pre"})).pre, "");
  EXPECT_NO_THROW(BpeTokenizer(vocab_of(edited_vocab("", {}, {"tokenizer.ggml.pre"}))));
}

TEST(BpeTokenizer, RefusesBadMerges) {
  const Vocab base = open_vocab(data_dir() + "smollm2-vocab.gguf");
  auto with_merges = [&](std::vector<std::string> extra) {
    std::vector<std::string> m = base.merges;
    m.insert(m.begin() + 5, extra.begin(), extra.end());
    return edited_vocab("smollm", {{"tokenizer.ggml.merges", gguf::Value::array(m)}});
  };
  std::string what = error_of<TokenizerError>(with_merges({"Ġ zzqqxx"}));
  EXPECT_NE(what.find("merges[5]"), std::string::npos) << what;
  EXPECT_NE(what.find("\"zzqqxx\", which is no token"), std::string::npos) << what;
  what = error_of<TokenizerError>(with_merges({"Ġ"}));
  EXPECT_NE(what.find("is not \"left right\""), std::string::npos) << what;
  what = error_of<TokenizerError>(with_merges({"q Ġ"}));  // both tokens, but "qĠ" is none
  EXPECT_NE(what.find("makes \"qĠ\", which is no token"), std::string::npos) << what;
  what = error_of<ModelError>(edited_vocab("smollm", {}, {"tokenizer.ggml.merges"}));
  EXPECT_NE(what.find("tokenizer.ggml.merges"), std::string::npos) << what;
  std::vector<std::string> toks = base.tokens;
  toks[300] = toks[200];
  what = error_of<TokenizerError>(edited_vocab("smollm", {{"tokenizer.ggml.tokens", gguf::Value::array(toks)}}));
  EXPECT_NE(what.find("token 300 repeats the text of token 200"), std::string::npos) << what;
}

TEST(BpeTokenizer, PreTokenizerSplits) {
  // Facts from llama.cpp's behaviour (docs/tokenizers.md): digit grouping per family, whitespace before a word
  auto words = [](const std::string& fam, const std::string& text) {
    return BpeTokenizer(vocab_of(edited_vocab(fam))).pre_tokenize(text);
  };
  using W = std::vector<std::string>;
  EXPECT_EQ(words("llama-bpe", "1234567"), (W{"123", "456", "7"}));
  EXPECT_EQ(words("qwen2", "123"), (W{"1", "2", "3"}));
  EXPECT_EQ(words("gpt-2", " 1234567"), (W{" 1234567"}));
  EXPECT_EQ(words("gpt-2", "a   b"), (W{"a", "  ", " b"}));
  EXPECT_EQ(words("llama-bpe", "\n  d"), (W{"\n", " ", " d"}));
}

// The facade over SPM: without parse_special exactly SpmTokenizer (BOS as the vocab's add_bos says); with it,
// special-token texts become their ids and each text fragment gets the space prefix again (llama.cpp).
TEST(TokenizerFacade, SpmUnchangedAndSpecialTokens) {
  const std::string sp = "\xE2\x96\x81";
  Vocab v = so8t_test::byte_vocab_with({sp, "t", "h", "e", sp + "t", "he", sp + "the", "a", "b", sp + "a"});
  const SpmTokenizer spm(v);
  const Tokenizer tok(v);
  EXPECT_FALSE(tok.is_bpe());
  for (const std::string t : {"", "the a b", "a</s>b", "  the\n\nthe ", "\xff\xfe"}) {
    EXPECT_EQ(tok.encode(t, true), spm.encode(t, true)) << t;
    EXPECT_EQ(tok.encode(t, false), spm.encode(t, false)) << t;
    EXPECT_EQ(tok.decode(tok.encode(t, false)), spm.decode(spm.encode(t, false))) << t;
  }
  std::vector<std::int32_t> want = {1};
  for (const auto& part : {spm.encode("the a", false), std::vector<std::int32_t>{2}, spm.encode("b", false)})
    want.insert(want.end(), part.begin(), part.end());
  EXPECT_EQ(tok.encode("the a</s>b", true, true), want);
  v.add_bos = false;
  EXPECT_EQ(Tokenizer(v).encode("the", true), SpmTokenizer(v).encode("the", false));
  v.model = "bert";
  EXPECT_THROW(Tokenizer{v}, ModelError);
}

// held_out_tokens / held_out_tail_tokens read a BPE text whole (no part is exact), so they give the head
// and the tail of the whole text's tokens.
TEST(HeldOutTokensBpe, HeadAndTailOfTheWholeText) {
  const Tokenizer tok(open_vocab(data_dir() + "smollm2-vocab.gguf"));
  ASSERT_TRUE(tok.is_bpe());
  EXPECT_FALSE(tok.parts_exact());
  std::string text;
  for (int r = 0; r < 40; ++r) text += case_text(0) + " \n\n" + case_text(1) + "\n";
  const std::string path =
      (std::filesystem::temp_directory_path() / ("so8t_bpe_held_out_" + std::to_string(::getpid()) + ".txt")).string();
  std::ofstream(path, std::ios::binary) << text << "\n";
  const std::vector<std::int32_t> whole = tok.encode(text, true);
  ASSERT_GT(whole.size(), 5000u);
  for (std::size_t part : {std::size_t(64), std::size_t(1) << 20}) {
    EXPECT_EQ(held_out_tokens(tok, path, 777, true, part), std::vector<std::int32_t>(whole.begin(), whole.begin() + 777));
    EXPECT_EQ(held_out_tail_tokens(tok, path, 777, true, part), std::vector<std::int32_t>(whole.end() - 777, whole.end()));
  }
  std::remove(path.c_str());
}

}  // namespace
