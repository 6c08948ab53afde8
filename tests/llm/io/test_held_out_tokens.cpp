// so8t/llm/io/held_out_tokens.hpp: the first N tokens of a text read part by part equal the first N of the
// whole text encoded at once (and load_held_out_text's trailing-newline rule), for any part size, with a
// vocab whose merges never cross a newline; a vocab with a piece holding a newline is read whole; the parts
// (HeldOutParts) end at the first newline after part_bytes and join to load_held_out_text.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <algorithm>
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

/// 300 random lines, without the final newline for odd seeds (load_held_out_text drops one).
std::string test_text(unsigned seed) {
  std::string text = random_lines(seed, 300);
  if (seed % 2) text.pop_back();
  return text;
}
/// What load_held_out_text makes of a file holding `text`.
std::string held_out(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST(HeldOutTokens, PartsGiveTheTokensOfTheWholeText) {
  const SpmTokenizer tok(small_vocab(false));
  ASSERT_FALSE(tok.newline_in_pieces());
  for (unsigned seed = 1; seed <= 4; ++seed) {
    const std::string text = test_text(seed);
    const TextFile f(text);
    const std::vector<std::int32_t> whole = tok.encode(held_out(text), true);
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

// The last N tokens from a suffix of the file equal the last N of the whole text's tokens, for any start
// part size (the suffix doubles until it holds N), with and without the trailing newline; N beyond the text
// gives all of it, BOS included.
TEST(HeldOutTailTokens, SuffixGivesTheLastTokensOfTheWholeText) {
  const SpmTokenizer tok(small_vocab(false));
  for (unsigned seed = 11; seed <= 14; ++seed) {
    const std::string text = test_text(seed);
    const TextFile f(text);
    const std::vector<std::int32_t> whole = tok.encode(held_out(text), true);
    ASSERT_GT(whole.size(), 1000u);
    for (std::size_t part : {1, 7, 64, 1000, 1 << 20}) {
      for (std::size_t n : {std::size_t(1), std::size_t(333), whole.size() - 1, whole.size(), whole.size() + 10}) {
        const std::size_t k = std::min(n, whole.size());
        const std::vector<std::int32_t> want(whole.end() - std::ptrdiff_t(k), whole.end());
        EXPECT_EQ(held_out_tail_tokens(tok, f.path, n, true, part), want) << "seed " << seed << " part " << part << " n " << n;
      }
    }
  }
  // one line without a newline: read whole
  const TextFile one("the and the and then");
  EXPECT_EQ(held_out_tail_tokens(tok, one.path, 3, true, 4), [&] {
    auto t = tok.encode("the and the and then", true);
    return std::vector<std::int32_t>(t.end() - 3, t.end());
  }());
  EXPECT_THROW(held_out_tail_tokens(tok, "/nonexistent/held_out.txt", 10, true), DataError);
}

// validation_prefix reads part by part and gives a prefix (whole documents, at least min_bytes) of the
// validation split of the whole text, document ids included, for the line and blank splits.
TEST(ValidationPrefix, IsAPrefixOfTheWholeTextSplit) {
  std::string text;
  for (int rep = 0; rep < 8; ++rep) text += random_lines(20 + unsigned(rep), 400);  // ~3,200 lines
  const TextFile f(text);
  for (const DocSplit mode : {DocSplit::line, DocSplit::blank}) {
    const Corpus full = split_train_val(text, mode, 3, 2).val;  // every third pair of documents
    ASSERT_GT(full.size(), 2000u);
    ASSERT_GT(full.documents, 10u);
    for (std::size_t part : {1, 13, 500, 1 << 20}) {
      for (std::size_t min_bytes : {std::size_t(1), std::size_t(700), full.size(), full.size() + 1}) {
        const Corpus got = validation_prefix(f.path, mode, min_bytes, part, 3, 2);
        SCOPED_TRACE("mode " + std::to_string(int(mode)) + " part " + std::to_string(part) + " min " + std::to_string(min_bytes));
        ASSERT_LE(got.size(), full.size());
        EXPECT_GE(got.size(), std::min(min_bytes, full.size()));
        EXPECT_TRUE(std::equal(got.bytes.begin(), got.bytes.end(), full.bytes.begin()));
        EXPECT_TRUE(std::equal(got.doc.begin(), got.doc.end(), full.doc.begin()));
        // whole documents: the next byte of the full split starts a new one
        if (got.size() < full.size()) {
          EXPECT_NE(full.doc[got.size()], full.doc[got.size() - 1]);
          EXPECT_EQ(got.documents, std::size_t(full.doc[got.size()]));
        } else {
          EXPECT_EQ(got.documents, full.documents);
        }
        if (min_bytes <= 700 && part <= 500) {
          EXPECT_LT(got.size(), full.size() / 2);  // stopped early
        }
      }
    }
  }
  EXPECT_EQ(validation_prefix(f.path, DocSplit::none, 100).size(), 0u);  // one document, never validation
  // the defaults are so8t_train's split (the last of every 10 chunks of 64 lines)
  const Corpus lines = split_train_val(text, DocSplit::line).val;
  ASSERT_GT(lines.size(), 1000u);
  const Corpus got = validation_prefix(f.path, DocSplit::line, 1000, 100);
  EXPECT_TRUE(std::equal(got.bytes.begin(), got.bytes.end(), lines.bytes.begin()));
  EXPECT_GE(got.size(), 1000u);
  EXPECT_THROW(validation_prefix("/nonexistent/held_out.txt", DocSplit::line, 10), DataError);
}

}  // namespace
