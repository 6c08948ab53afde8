// so8t/llm/model/spm_tokenizer.hpp: llama.cpp's SentencePiece-style (SPM, tokenizer.ggml.model "llama")
// tokenizer, as tests/data/llama/MANIFEST.md "Tokenizer" describes it.
//
// encode: optional space prefix, every ' ' -> U+2581; split into UTF-8 characters (a malformed lead byte
// or a truncated sequence is clipped to its continuation bytes, so any byte string is accepted); repeatedly merge
// the adjacent pair whose concatenation is a vocab token with the highest score (ties: leftmost first),
// through a priority queue of candidate bigrams; each final symbol becomes its vocab token or, failing
// that, its bytes as "<0xXX>" tokens (then the single-byte token, then unk). Merged symbols are always
// vocab tokens (a bigram is queued only when its text is one), so llama.cpp's "resegment" along recorded
// merges never has anything to split here: the byte fallback is the only case left.
#pragma once

#include <cstdint>
#include <cstdio>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "so8t/llm/model/gguf_model.hpp"

namespace so8t::llm {

class SpmTokenizer {
 public:
  explicit SpmTokenizer(const Vocab& vocab) : vocab_(vocab) {
    if (vocab.scores.size() != vocab.tokens.size() ||
        (!vocab.types.empty() && vocab.types.size() != vocab.tokens.size()))
      throw ModelError("so8t::llm::SpmTokenizer: " + std::to_string(vocab.tokens.size()) + " tokens but " +
                       std::to_string(vocab.scores.size()) + " scores and " + std::to_string(vocab.types.size()) +
                       " types");
    index_.reserve(vocab.tokens.size());
    // First occurrence wins for duplicate pieces.
    for (std::size_t i = 0; i < vocab.tokens.size(); ++i) {
      index_.emplace(vocab.tokens[i], static_cast<std::int32_t>(i));
      if (vocab.tokens[i].size() > 1 && vocab.tokens[i].find('\n') != std::string::npos) newline_in_pieces_ = true;
    }
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      std::int32_t id = find(buf);
      if (id < 0) id = find(std::string(1, static_cast<char>(b)));
      if (id < 0) id = vocab.unk;
      byte_token_[b] = id;
    }
  }

  std::int32_t n_vocab() const noexcept { return static_cast<std::int32_t>(vocab_.tokens.size()); }
  const Vocab& vocab() const noexcept { return vocab_; }

  std::vector<std::int32_t> encode(const std::string& text, bool add_bos) const {
    std::vector<std::int32_t> out;
    if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
    encode_into(text, vocab_.add_space_prefix, out);
    return out;
  }

  /// Appends the tokens of `text` as it continues a text already encoded, whose last part ended with '\n'
  /// (no BOS, no space prefix). When no piece longer than one byte contains a newline, no merge crosses one,
  /// so encoding a text in parts that end at newlines gives exactly the tokens of encode() on the whole text.
  void encode_continuation(const std::string& text, std::vector<std::int32_t>& out) const {
    encode_into(text, false, out);
  }

  /// Whether some vocab piece longer than one byte holds a newline (then encode_continuation is not exact).
  bool newline_in_pieces() const noexcept { return newline_in_pieces_; }

 private:
  void encode_into(const std::string& text, bool space_prefix, std::vector<std::int32_t>& out) const {
    if (text.empty()) return;
    std::string s;
    s.reserve(text.size() * 3 + 3);
    if (space_prefix) s += kSpace;
    for (char c : text) {
      if (c == ' ') s += kSpace;
      else s += c;
    }

    // Symbols: one per UTF-8 character, linked list over the merges.
    struct Symbol {
      int prev, next;
      std::size_t off, n;
    };
    std::vector<Symbol> sym;
    for (std::size_t off = 0; off < s.size();) {
      std::size_t len = utf8_len(static_cast<unsigned char>(s[off]));
      if (len > s.size() - off) len = s.size() - off;
      // Malformed input only (llama.cpp would take the next len - 1 bytes whatever they are): stop at a
      // byte that is not a continuation byte, so that a stray lead byte never swallows the U+2581 of a
      // following space and every byte survives the round trip.
      for (std::size_t k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s[off + k]) & 0xC0) != 0x80) {
          len = k;
          break;
        }
      const int i = static_cast<int>(sym.size());
      sym.push_back(Symbol{i - 1, i + 1, off, len});
      off += len;
    }
    sym.back().next = -1;

    struct Bigram {
      int left, right;
      float score;
      std::size_t size;
    };
    struct Lower {  // top of the queue: highest score, then leftmost
      bool operator()(const Bigram& a, const Bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
      }
    };
    std::priority_queue<Bigram, std::vector<Bigram>, Lower> queue;
    auto try_add = [&](int left, int right) {
      if (left < 0 || right < 0) return;
      const std::size_t n = sym[left].n + sym[right].n;
      const std::int32_t id = find(s.substr(sym[left].off, n));
      if (id < 0) return;
      queue.push(Bigram{left, right, vocab_.scores[static_cast<std::size_t>(id)], n});
    };
    for (std::size_t i = 1; i < sym.size(); ++i) try_add(static_cast<int>(i) - 1, static_cast<int>(i));

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& l = sym[b.left];
      Symbol& r = sym[b.right];
      // Stale entry: one side was merged away or grew since the bigram was queued.
      if (l.n == 0 || r.n == 0 || l.n + r.n != b.size || l.next != b.right) continue;
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = b.left;
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }

    for (int i = 0; i >= 0 && !sym.empty(); i = sym[i].next) {
      const std::string piece = s.substr(sym[i].off, sym[i].n);
      const std::int32_t id = find(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      for (unsigned char c : piece)
        if (byte_token_[c] >= 0) out.push_back(byte_token_[c]);
    }
  }

 public:

  /// The text of one token: U+2581 -> ' ', byte tokens -> that byte, control tokens -> "", the unknown
  /// token -> U+2585 (as llama.cpp's token_to_piece).
  std::string token_to_piece(std::int32_t id) const {
    if (id < 0 || id >= n_vocab())
      throw InvalidArgument("so8t::llm::SpmTokenizer: token id " + std::to_string(id) + " is outside [0, " +
                            std::to_string(n_vocab()) + ")");
    const std::string& t = vocab_.tokens[static_cast<std::size_t>(id)];
    const std::int32_t type = vocab_.types.empty() ? 1 : vocab_.types[static_cast<std::size_t>(id)];
    if (type == 3) return "";                 // control
    if (type == 2) return "\xE2\x96\x85";  // unknown: llama.cpp prints U+2585
    int byte = -1;
    if ((type == 6 || vocab_.types.empty()) && (byte = parse_byte_token(t)) >= 0) return std::string(1, static_cast<char>(byte));
    if (type == 6) return "";  // a byte token that is not <0xXX>: nothing sensible to print
    std::string out;
    for (std::size_t i = 0; i < t.size();) {
      if (t.compare(i, 3, kSpace) == 0) {
        out += ' ';
        i += 3;
      } else {
        out += t[i++];
      }
    }
    return out;
  }

  /// Concatenated pieces, without the space the encoder prefixed (when add_space_prefix).
  std::string decode(const std::vector<std::int32_t>& ids) const {
    std::string out;
    bool first = true;
    for (std::int32_t id : ids) {
      std::string p = token_to_piece(id);
      if (first && !p.empty()) {
        if (vocab_.add_space_prefix && p[0] == ' ') p.erase(0, 1);
        first = false;
      }
      out += p;
    }
    return out;
  }

 private:
  static constexpr const char* kSpace = "\xE2\x96\x81";  // U+2581

  static std::size_t utf8_len(unsigned char c) {
    // As llama.cpp's lookup on the high nibble: continuation bytes count as 1.
    if (c < 0xC0) return 1;
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    return 4;
  }

  static int parse_byte_token(const std::string& t) {
    if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }

  std::int32_t find(const std::string& piece) const {
    auto it = index_.find(piece);
    return it == index_.end() ? -1 : it->second;
  }

  Vocab vocab_;
  std::unordered_map<std::string, std::int32_t> index_;
  std::int32_t byte_token_[256];
  bool newline_in_pieces_ = false;
};

}  // namespace so8t::llm
