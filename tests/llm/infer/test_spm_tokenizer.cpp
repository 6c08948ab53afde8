// SpmTokenizer against llama.cpp's tokenization of text.txt (MANIFEST.md "Tokenizer"), round trips, and the
// byte-level vocabulary the project's own models use.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "llama_test_data.hpp"
#include "so8t/llm/model/spm_tokenizer.hpp"

using namespace so8t::llm;
using namespace so8t_test_infer;

TEST(SpmTokenizer, TextMatchesLlamaCppTokens) {
  SO8T_REQUIRE_LLAMA_DATA();
  const LlamaModel m = LlamaModel::open(model_path("f32"));
  const SpmTokenizer tok(m.vocab());
  const std::string text = read_text(llama_dir() + "text.txt");
  ASSERT_EQ(text.size(), 281u);
  const std::vector<std::int32_t> ref = ref_tokens();
  ASSERT_EQ(ref.size(), 256u);
  const std::vector<std::int32_t> got = tok.encode(text, m.vocab().add_bos);
  EXPECT_EQ(got, ref);
  // MANIFEST examples.
  EXPECT_EQ(tok.encode(" the", false), (std::vector<std::int32_t>{259, 260, 262}));  // prefix space + " the"
  EXPECT_EQ(tok.encode("Genesis", false), (std::vector<std::int32_t>{259, 74, 265, 274, 265, 273, 275, 273}));
}

TEST(SpmTokenizer, DecodeRoundTrip) {
  SO8T_REQUIRE_LLAMA_DATA();
  const LlamaModel m = LlamaModel::open(model_path("f32"));
  const SpmTokenizer tok(m.vocab());
  const std::string text = read_text(llama_dir() + "text.txt");
  EXPECT_EQ(tok.decode(tok.encode(text, true)), text);
  EXPECT_EQ(tok.token_to_piece(1), "");      // <s>: control
  EXPECT_EQ(tok.token_to_piece(13), "\n");   // <0x0A>
  EXPECT_EQ(tok.token_to_piece(260), " t");  // ▁t
  const std::string utf8 = "na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC  x\n";
  EXPECT_EQ(tok.decode(tok.encode(utf8, true)), utf8);
  EXPECT_THROW(tok.token_to_piece(276), so8t::InvalidArgument);
}

TEST(SpmTokenizer, MalformedUtf8DoesNotCrash) {
  SO8T_REQUIRE_LLAMA_DATA();
  const LlamaModel m = LlamaModel::open(model_path("f32"));
  const SpmTokenizer tok(m.vocab());
  const std::vector<std::string> bad = {std::string("\xFF"), std::string("ab\xE2\x96"), std::string("\xC3"),
                                        std::string("\x80\x80 \xF4\x90\x80\x80"), std::string("x\0y", 3)};
  for (const std::string& s : bad) {
    const auto ids = tok.encode(s, false);
    for (auto id : ids) EXPECT_TRUE(id >= 0 && id < 276);
    EXPECT_EQ(tok.decode(ids), s);  // every byte has a <0xXX> token in this vocab
  }
  std::mt19937 rng(7);
  for (int it = 0; it < 200; ++it) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    EXPECT_EQ(tok.decode(tok.encode(s, false)), s);
  }
}

// The project's byte-level models: ids 0..255 = <0xXX> BYTE tokens except 32 = "▁" NORMAL, 256 <s>,
// 257 </s>, no space prefix, no BOS. Any text (without a literal U+2581) encodes to exactly its bytes.
TEST(SpmTokenizer, ByteVocabEncodesBytes) {
  Vocab v;
  v.model = "llama";
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.tokens.push_back(b == 32 ? std::string("\xE2\x96\x81") : std::string(buf));
    v.types.push_back(b == 32 ? 1 : 6);
  }
  v.tokens.push_back("<s>");
  v.tokens.push_back("</s>");
  v.types.push_back(3);
  v.types.push_back(3);
  v.scores.assign(v.tokens.size(), 0.0f);
  v.bos = 256;
  v.eos = 257;
  v.unk = -1;
  v.add_bos = false;
  v.add_space_prefix = false;
  const SpmTokenizer tok(v);
  std::vector<std::string> texts = {"In the beginning God created the heaven and the earth.\n", "  a  b ",
                                    "caf\xC3\xA9 \xE6\x97\xA5", "\xFF\xFE\x00z"};
  std::mt19937 rng(3);
  for (int it = 0; it < 100; ++it) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) {
      c = static_cast<char>(rng());
      if (static_cast<unsigned char>(c) == 0xE2) c = ' ';  // keep U+2581 out (it is token 32's text)
    }
    texts.push_back(s);
  }
  for (const std::string& s : texts) {
    const auto ids = tok.encode(s, false);
    ASSERT_EQ(ids.size(), s.size()) << s;
    for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(ids[i], static_cast<unsigned char>(s[i]));
    EXPECT_EQ(tok.decode(ids), s);
  }
  EXPECT_EQ(tok.encode("x", true), (std::vector<std::int32_t>{256, 'x'}));
}
