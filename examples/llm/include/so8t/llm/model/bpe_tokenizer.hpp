// so8t/llm/model/bpe_tokenizer.hpp: byte-level BPE (tokenizer.ggml.model "gpt2") as llama.cpp tokenizes it,
// for the pre-tokenizers of bpe_pre.hpp (docs/tokenizers.md "Byte-level BPE").
//
// encode(text, add_special, parse_special): special tokens are cut out first (special_tokens.hpp); each
// remaining fragment is decoded from UTF-8 (every byte that does not start a sequence llama.cpp accepts
// becomes U+FFFD), split by the family's expressions (ICU's regex engine, so \p{L} / \p{N} follow ICU's
// Unicode tables), and every word is byte-encoded (GPT-2's byte-to-character table) and merged on its own:
// always the adjacent pair of lowest merge rank, the leftmost of equal ranks. Merges are checked when the
// tokenizer is built: each must be "left right" with left, right and left+right all vocab tokens
// (TokenizerError otherwise), so every merged symbol is a token. decode() concatenates token_to_piece(),
// which maps the characters back to bytes, so decode(encode(t, false, false)) == t for valid UTF-8 when the
// vocab has a token for each of the 256 byte characters. A byte whose character is no token is dropped, as
// llama.cpp drops it (SmolLM2 lacks 21 of them, e.g. 0x04 and the lead bytes 0xF1 / 0xF2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <unicode/regex.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>

#include "so8t/llm/model/bpe_pre.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/model/special_tokens.hpp"

namespace so8t::llm {

namespace bpe_detail {

/// GPT-2's byte-to-character table: the 188 printable bytes keep their value, the other 68 take U+0100,
/// U+0101, ... in byte order.
inline const std::array<char32_t, 256>& byte_chars() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      t[std::size_t(b)] = printable ? char32_t(b) : next++;
    }
    return t;
  }();
  return table;
}

inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

/// Code points of `s` as llama.cpp decodes them: a lead byte followed by the continuation bytes its length
/// asks for gives that value (overlong forms and surrogates included, as llama.cpp does not check them);
/// any other byte gives U+FFFD and decoding goes on at the next byte. A value above U+10FFFF (which
/// llama.cpp fails on) is treated as an invalid lead byte.
inline std::vector<char32_t> decode_utf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  const std::size_t n = s.size();
  auto cont = [&](std::size_t i) { return i < n && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    char32_t cp = 0;
    if (c < 0x80) {
      len = 1, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      if (cont(i + 1)) len = 2, cp = char32_t(c & 0x1F) << 6 | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
    } else if ((c & 0xF0) == 0xE0) {
      if (cont(i + 1) && cont(i + 2))
        len = 3, cp = char32_t(c & 0x0F) << 12 | char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6 |
                      (static_cast<unsigned char>(s[i + 2]) & 0x3F);
    } else if ((c & 0xF8) == 0xF0) {
      if (cont(i + 1) && cont(i + 2) && cont(i + 3))
        len = 4, cp = char32_t(c & 0x07) << 18 | char32_t(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 12 |
                      char32_t(static_cast<unsigned char>(s[i + 2]) & 0x3F) << 6 | (static_cast<unsigned char>(s[i + 3]) & 0x3F);
    }
    if (len == 0 || cp > 0x10FFFF) {
      out.push_back(0xFFFD);
      ++i;
    } else {
      out.push_back(cp);
      i += len;
    }
  }
  return out;
}

inline void check_icu(UErrorCode status, const std::string& what) {
  if (U_FAILURE(status)) throw TokenizerError("so8t::llm::BpeTokenizer: " + what + ": ICU error " + u_errorName(status));
}

}  // namespace bpe_detail

class BpeTokenizer {
 public:
  /// Builds the tokenizer of a "gpt2" vocabulary: TokenizerError for duplicate token texts or a bad merge,
  /// UnknownPreTokenizer for a tokenizer.ggml.pre not in bpe_pre.hpp.
  explicit BpeTokenizer(const Vocab& vocab) : vocab_(vocab), pre_(find_pre_tokenizer(vocab.pre)), special_(vocab) {
    const std::size_t n = vocab.tokens.size();
    if (vocab.model != "gpt2") throw TokenizerError("so8t::llm::BpeTokenizer: vocabulary model is \"" + vocab.model + "\", not \"gpt2\"");
    if (!vocab.types.empty() && vocab.types.size() != n)
      throw TokenizerError("so8t::llm::BpeTokenizer: " + std::to_string(n) + " tokens but " + std::to_string(vocab.types.size()) +
                           " token types");
    index_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (vocab.tokens[i].empty()) continue;  // never looked up
      const auto [it, fresh] = index_.emplace(vocab.tokens[i], static_cast<std::int32_t>(i));
      if (!fresh)  // llama.cpp refuses such a vocabulary too (id -> text and text -> id must agree)
        throw TokenizerError("so8t::llm::BpeTokenizer: token " + std::to_string(i) + " repeats the text of token " +
                             std::to_string(it->second) + " (\"" + vocab.tokens[i] + "\")");
    }
    load_merges();
    const auto& chars = bpe_detail::byte_chars();
    for (int b = 0; b < 256; ++b) {
      std::string ch;
      bpe_detail::append_utf8(ch, chars[std::size_t(b)]);
      byte_token_[std::size_t(b)] = find(ch);
      for (char c : ch)  // llama.cpp's fallback for a symbol that is no token: its bytes as one-byte texts
        if (const std::int32_t id = find(std::string(1, c)); id >= 0) byte_fallback_[std::size_t(b)].push_back(id);
      char_byte_.emplace(chars[std::size_t(b)], static_cast<unsigned char>(b));
    }
    for (const std::string& re : pre_tokenizer_regexes(pre_.family)) {
      UErrorCode status = U_ZERO_ERROR;
      UParseError perr{};
      std::shared_ptr<icu::RegexPattern> p(
          icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(re), UREGEX_UNIX_LINES, perr, status));
      bpe_detail::check_icu(status, "pre-tokenizer expression of \"" + pre_.name + "\" at offset " + std::to_string(perr.offset));
      patterns_.push_back(std::move(p));
    }
  }

  const Vocab& vocab() const noexcept { return vocab_; }
  const PreTokenizer& pre_tokenizer() const noexcept { return pre_; }
  std::int32_t n_vocab() const noexcept { return static_cast<std::int32_t>(vocab_.tokens.size()); }

  /// llama.cpp's tokenize(text, add_special, parse_special): BOS first when add_special and the vocab's
  /// add_bos, EOS last when add_special and add_eos; special tokens in the text are tokens of their own when
  /// parse_special (user-defined ones always).
  std::vector<std::int32_t> encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<std::int32_t> out;
    if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
    for (const TextFragment& f : special_.split(text, parse_special)) {
      if (f.token >= 0) out.push_back(f.token);
      else encode_fragment(text.substr(f.offset, f.length), out);
    }
    if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
    return out;
  }

  /// The words the pre-tokenizer splits `text` into (no special tokens cut out), as UTF-8.
  std::vector<std::string> pre_tokenize(std::string_view text) const {
    std::vector<std::string> words;
    split_words(bpe_detail::decode_utf8(text), [&](const std::string& w) { words.push_back(w); });
    return words;
  }

  /// The bytes of one token: normal tokens map back through the byte table (a character outside it gives
  /// llama.cpp's "[UNK_BYTE_0x..<text>]"), user-defined tokens are their text, control and unknown tokens
  /// are "" unless `special`, then their text; unused and undefined tokens are "".
  std::string token_to_piece(std::int32_t id, bool special = false) const {
    if (id < 0 || id >= n_vocab())
      throw InvalidArgument("so8t::llm::BpeTokenizer: token id " + std::to_string(id) + " is outside [0, " +
                            std::to_string(n_vocab()) + ")");
    const std::string& t = vocab_.tokens[static_cast<std::size_t>(id)];
    const std::int32_t type = vocab_.types.empty() ? 1 : vocab_.types[static_cast<std::size_t>(id)];
    if (type == 2 || type == 3) return special ? t : std::string();
    if (type == 4) return t;
    if (type != 1 && type != 6) return "";
    std::string out;
    for (char32_t c : bpe_detail::decode_utf8(t)) {
      const auto it = char_byte_.find(c);
      if (it != char_byte_.end()) {
        out += static_cast<char>(it->second);
        continue;
      }
      std::string ch;
      bpe_detail::append_utf8(ch, c);
      out += "[UNK_BYTE_0x";
      for (unsigned char b : ch) {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%02x", b);
        out += hex;
      }
      out += t + "]";
    }
    return out;
  }

  /// Concatenated pieces (no space clean-up, so a text's tokens give its bytes back).
  std::string decode(const std::vector<std::int32_t>& ids, bool special = false) const {
    std::string out;
    for (std::int32_t id : ids) out += token_to_piece(id, special);
    return out;
  }

 private:
  struct Merge {
    std::int32_t rank, merged;
  };
  static std::uint64_t pair_key(std::int32_t l, std::int32_t r) {
    return std::uint64_t(std::uint32_t(l)) << 32 | std::uint32_t(r);
  }

  void load_merges() {
    merges_.reserve(vocab_.merges.size());
    for (std::size_t i = 0; i < vocab_.merges.size(); ++i) {
      const std::string& m = vocab_.merges[i];
      auto bad = [&](const std::string& why) {
        return TokenizerError("so8t::llm::BpeTokenizer: tokenizer.ggml.merges[" + std::to_string(i) + "] \"" + m + "\" " + why);
      };
      // as llama.cpp: split at the first space after the first byte
      const std::size_t sp = m.find(' ', 1);
      if (sp == std::string::npos || sp + 1 >= m.size()) throw bad("is not \"left right\"");
      const std::string left = m.substr(0, sp), right = m.substr(sp + 1);
      const std::int32_t l = find(left), r = find(right), lr = find(left + right);
      if (l < 0) throw bad("names \"" + left + "\", which is no token");
      if (r < 0) throw bad("names \"" + right + "\", which is no token");
      if (lr < 0) throw bad("makes \"" + left + right + "\", which is no token");
      merges_.emplace(pair_key(l, r), Merge{static_cast<std::int32_t>(i), lr});  // a repeated pair keeps its first rank
    }
  }

  std::int32_t find(const std::string& text) const {
    const auto it = index_.find(text);
    return it == index_.end() ? -1 : it->second;
  }

  /// Calls emit(word) for each word of `cps` in order (the word as UTF-8 of the code points).
  template <class Emit>
  void split_words(const std::vector<char32_t>& cps, Emit&& emit) const {
    if (cps.empty()) return;
    // UTF-16 for ICU; a decoded surrogate (which UTF-16 cannot hold alone) stands in as U+E000, a character
    // of no class any expression names, as llama.cpp's tables give surrogates none either.
    icu::UnicodeString u;
    std::vector<std::uint32_t> unit_cp;  // code point index of each UTF-16 unit
    unit_cp.reserve(cps.size() + 1);
    for (std::size_t i = 0; i < cps.size(); ++i) {
      const char32_t c = (cps[i] >= 0xD800 && cps[i] <= 0xDFFF) ? char32_t(0xE000) : cps[i];
      u.append(static_cast<UChar32>(c));
      unit_cp.push_back(std::uint32_t(i));
      if (c >= 0x10000) unit_cp.push_back(std::uint32_t(i));
    }
    unit_cp.push_back(std::uint32_t(cps.size()));
    std::vector<std::pair<std::int32_t, std::int32_t>> spans = {{0, u.length()}}, next;  // [begin, end) in units
    for (const auto& pattern : patterns_) {
      UErrorCode status = U_ZERO_ERROR;
      std::unique_ptr<icu::RegexMatcher> m(pattern->matcher(u, status));
      bpe_detail::check_icu(status, "matcher");
      m->setStackLimit(0, status);  // no limit: long runs of one class backtrack on the heap
      bpe_detail::check_icu(status, "stack limit");
      next.clear();
      for (const auto& [b, e] : spans) {
        m->region(b, e, status);
        bpe_detail::check_icu(status, "region");
        std::int32_t pos = b;
        while (m->find()) {
          const std::int32_t ms = m->start(status), me = m->end(status);
          bpe_detail::check_icu(status, "match");
          if (me == ms) continue;
          if (ms > pos) next.emplace_back(pos, ms);
          next.emplace_back(ms, me);
          pos = me;
        }
        if (pos < e) next.emplace_back(pos, e);
      }
      spans.swap(next);
    }
    std::string word;
    for (const auto& [b, e] : spans) {
      word.clear();
      for (std::uint32_t i = unit_cp[std::size_t(b)]; i < unit_cp[std::size_t(e)]; ++i) bpe_detail::append_utf8(word, cps[i]);
      emit(word);
    }
  }

  void encode_fragment(std::string_view text, std::vector<std::int32_t>& out) const {
    split_words(bpe_detail::decode_utf8(text), [&](const std::string& w) { encode_word(w, out); });
  }

  void encode_word(const std::string& word, std::vector<std::int32_t>& out) const {
    if (word.empty()) return;
    const auto& chars = bpe_detail::byte_chars();
    if (pre_.ignore_merges) {
      std::string enc;
      for (unsigned char b : word) bpe_detail::append_utf8(enc, chars[b]);
      if (const std::int32_t id = find(enc); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    struct Symbol {
      std::int32_t id;  ///< -1: a byte whose character is no token (never merged)
      int prev, next;
      unsigned char byte;
      bool alive;
    };
    std::vector<Symbol> sym(word.size());
    for (std::size_t i = 0; i < word.size(); ++i) {
      const unsigned char b = static_cast<unsigned char>(word[i]);
      sym[i] = Symbol{byte_token_[b], int(i) - 1, i + 1 < word.size() ? int(i) + 1 : -1, b, true};
    }
    struct Pair {
      std::int32_t rank;
      int left, right;
      std::int32_t left_id, right_id, merged;
    };
    struct Later {  // top = lowest rank, then leftmost
      bool operator()(const Pair& a, const Pair& b) const { return a.rank > b.rank || (a.rank == b.rank && a.left > b.left); }
    };
    std::priority_queue<Pair, std::vector<Pair>, Later> queue;
    auto try_add = [&](int l, int r) {
      if (l < 0 || r < 0 || sym[std::size_t(l)].id < 0 || sym[std::size_t(r)].id < 0) return;
      const auto it = merges_.find(pair_key(sym[std::size_t(l)].id, sym[std::size_t(r)].id));
      if (it == merges_.end()) return;
      queue.push(Pair{it->second.rank, l, r, sym[std::size_t(l)].id, sym[std::size_t(r)].id, it->second.merged});
    };
    for (std::size_t i = 1; i < sym.size(); ++i) try_add(int(i) - 1, int(i));
    while (!queue.empty()) {
      const Pair p = queue.top();
      queue.pop();
      Symbol& l = sym[std::size_t(p.left)];
      Symbol& r = sym[std::size_t(p.right)];
      // stale: a side was merged away or has grown since the pair was queued
      if (!l.alive || !r.alive || l.id != p.left_id || r.id != p.right_id || l.next != p.right) continue;
      l.id = p.merged;
      r.alive = false;
      l.next = r.next;
      if (r.next >= 0) sym[std::size_t(r.next)].prev = p.left;
      try_add(l.prev, p.left);
      try_add(p.left, l.next);
    }
    for (int i = 0; i >= 0; i = sym[std::size_t(i)].next) {
      const Symbol& s = sym[std::size_t(i)];
      if (s.id >= 0) out.push_back(s.id);
      else out.insert(out.end(), byte_fallback_[s.byte].begin(), byte_fallback_[s.byte].end());
    }
  }

  Vocab vocab_;
  PreTokenizer pre_;
  SpecialTokens special_;
  std::unordered_map<std::string, std::int32_t> index_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::array<std::int32_t, 256> byte_token_{};
  std::array<std::vector<std::int32_t>, 256> byte_fallback_;
  std::unordered_map<char32_t, unsigned char> char_byte_;
  std::vector<std::shared_ptr<icu::RegexPattern>> patterns_;
};

}  // namespace so8t::llm
