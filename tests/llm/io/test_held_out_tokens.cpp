// so8t/llm/io/held_out_tokens.hpp: the first N tokens of a text read part by part equal the first N of the
// whole text encoded at once (and load_held_out_text's trailing-newline rule), for any part size, with a
// vocab whose merges never cross a newline; a vocab with a piece holding a newline is read whole; the parts
// (HeldOutParts) end at the first newline after part_bytes and join to load_held_out_text.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "so8t/llm/io/held_out_tokens.hpp"
#include "support/byte_vocab.hpp"

namespace {

namespace fs = std::filesystem;
using namespace so8t::llm;

const char* kSp = "\xE2\x96\x81";

/// Byte tokens, then merges over "the", "and", spaces (and ".\n", which crosses a newline, when asked).
Vocab small_vocab(bool newline_piece) {
  const std::string s = kSp;
  std::vector<std::string> pieces = {s, "t", "h", "e", "a", "n", "d", s + "t", "he", s + "the", "an", s + "an", s + "and",
                                     "e" + s, s + s};
  if (newline_piece) pieces.push_back(".\n");
  return so8t_test::byte_vocab_with(pieces);
}

struct TextFile {
  std::string path;
  explicit TextFile(const std::string& text) {
    path = (fs::temp_directory_path() / ("so8t_held_out_" + std::to_string(::getpid()) + ".txt")).string();
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TextFile() { std::remove(path.c_str()); }
};

std::string random_lines(unsigned seed, std::size_t lines) {
  std::mt19937 rng(seed);
  const std::vector<std::string> words = {"the", "and", "then", "hand", "a", "", "  ", "\xC3\xA9t\xC3\xA9"};
  std::string t;
  for (std::size_t i = 0; i < lines; ++i) {
    const int n = int(rng() % 9);
    for (int w = 0; w < n; ++w) t += words[rng() % words.size()] + (rng() % 3 ? " " : "");
    t += rng() % 5 ? ".\n" : "\n";
    if (rng() % 7 == 0) t += "\n";
  }
  return t;
}

TEST(HeldOutTokens, PartsGiveTheTokensOfTheWholeText) {
  const SpmTokenizer tok(small_vocab(false));
  ASSERT_FALSE(tok.newline_in_pieces());
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::string text = random_lines(seed, 300);
    if (seed % 2) text.pop_back();  // with and without the trailing newline that load_held_out_text drops
    const TextFile f(text);
    std::string held = text;
    if (!held.empty() && held.back() == '\n') held.pop_back();
    const std::vector<std::int32_t> whole = tok.encode(held, true);
    ASSERT_GT(whole.size(), 1000u);
    for (std::size_t part : {1, 7, 64, 1000, 1 << 20}) {
      EXPECT_EQ(held_out_tokens(tok, f.path, whole.size() + 10, true, part), whole) << "seed " << seed << " part " << part;
      const std::vector<std::int32_t> head(whole.begin(), whole.begin() + 333);
      EXPECT_EQ(held_out_tokens(tok, f.path, 333, true, part), head) << "seed " << seed << " part " << part;
    }
  }
}

TEST(HeldOutParts, PartsEndAtNewlinesAndJoinToTheHeldOutText) {
  const std::string text = random_lines(9, 200);
  const TextFile f(text);
  for (std::size_t part_bytes : {1, 50, 4096}) {
    HeldOutParts parts(f.path, part_bytes);
    std::string part, joined;
    std::size_t n = 0;
    while (parts.next(part)) {
      ++n;
      joined += part;
      if (joined.size() < text.size() - 1) {  // every part but the last: at least part_bytes, ends after '\n'
        EXPECT_GE(part.size(), part_bytes);
        EXPECT_EQ(part.back(), '\n');
        EXPECT_EQ(part.size(), part.find('\n', part_bytes - 1) + 1);  // the first newline from part_bytes on
      }
    }
    EXPECT_EQ(joined, load_held_out_text(f.path)) << part_bytes;
    EXPECT_GT(n, part_bytes == 4096 ? 0u : 10u);
  }
}

TEST(HeldOutTokens, NewlinePiecesReadTheTextWhole) {
  const SpmTokenizer tok(small_vocab(true));
  ASSERT_TRUE(tok.newline_in_pieces());
  const std::string text = "the and.\nand the.\nthe.\n";
  const TextFile f(text);
  // ".\n" merges across the newline: parts ending at a newline would give '.' and '\n' apart
  const std::vector<std::int32_t> whole = tok.encode(text.substr(0, text.size() - 1), true);
  EXPECT_EQ(held_out_tokens(tok, f.path, 1000, true, 4), whole);
}

TEST(HeldOutTokens, EmptyAndMissingText) {
  const SpmTokenizer tok(small_vocab(false));
  const TextFile f("");
  EXPECT_EQ(held_out_tokens(tok, f.path, 100, true), std::vector<std::int32_t>{1});
  try {
    held_out_tokens(tok, "/nonexistent/held_out.txt", 100, true);
    FAIL() << "no error for a missing file";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

}  // namespace
