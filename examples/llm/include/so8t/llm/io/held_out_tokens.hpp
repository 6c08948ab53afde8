// so8t/llm/io/held_out_tokens.hpp: the first N tokens of a held-out text, tokenized part by part.
//
// Tokenizing a whole 200 MB file to score 16,384 tokens cost 6.96 GB of memory (the text, its U+2581 copy and
// one symbol per character). The text is instead read in parts that end at a newline (HeldOutParts) and each
// part is encoded as a continuation of the ones before, until `max_tokens` are there. This gives exactly the
// tokens of encoding the whole text when no vocab piece longer than one byte holds a newline (no merge then
// crosses one, SpmTokenizer::encode_continuation); for a vocab with such pieces, and for byte-level BPE
// (Tokenizer::parts_exact), the text is read whole.
#pragma once

#include <cstddef>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "so8t/llm/io/text_data.hpp"
#include "so8t/llm/model/tokenizer.hpp"

namespace so8t::llm {

/// Size of the parts read at a time: 1 MiB is about a million tokens for a byte vocabulary and a quarter of
/// that for a real one, so a part or two covers what a tool scores.
inline constexpr std::size_t kHeldOutPartBytes = std::size_t(1) << 20;

/// The first `max_tokens` tokens of load_held_out_text(source) as tok.encode(text, add_special) gives them
/// (BOS included when add_special and the vocab's add_bos).
inline std::vector<std::int32_t> held_out_tokens(const Tokenizer& tok, const std::string& source, std::size_t max_tokens,
                                                 bool add_special, std::size_t part_bytes = kHeldOutPartBytes) {
  HeldOutParts parts(source, tok.parts_exact() ? part_bytes : 0);
  std::vector<std::int32_t> out;
  std::string part;
  bool first = true;
  while (out.size() < max_tokens && parts.next(part)) {
    if (first) out = tok.encode(part, add_special);
    else tok.encode_continuation(part, out);
    first = false;
  }
  if (first) out = tok.encode("", add_special);
  if (out.size() > max_tokens) out.resize(max_tokens);
  return out;
}

/// The last `max_tokens` tokens of load_held_out_text(source) as tok.encode(text, add_special) gives them, from
/// a suffix of the file that starts after a newline (encoded as a continuation, which is exact under the same
/// condition as held_out_tokens), doubled from part_bytes until it holds enough tokens: so8t_quantize
/// --calibrate fits on the end of a text without reading all of it. "kjv", a vocab with newline pieces, a
/// byte-level BPE vocab (!parts_exact()) or a text too short for its tokens are encoded whole.
inline std::vector<std::int32_t> held_out_tail_tokens(const Tokenizer& tok, const std::string& source,
                                                      std::size_t max_tokens, bool add_special,
                                                      std::size_t part_bytes = kHeldOutPartBytes) {
  auto tail = [&](std::vector<std::int32_t> t) {
    if (t.size() > max_tokens) t.erase(t.begin(), t.end() - std::ptrdiff_t(max_tokens));
    return t;
  };
  if (source == "kjv" || !tok.parts_exact() || part_bytes == 0)
    return tail(tok.encode(load_held_out_text(source), add_special));
  std::ifstream f(source, std::ios::binary);
  if (!f) throw DataError("so8t::llm::load_text: cannot open '" + source + "': " + std::strerror(errno));
  auto read_at = [&](std::size_t offset, std::size_t n) {
    std::string s(n, '\0');
    f.clear();
    f.seekg(std::streamoff(offset));
    f.read(s.data(), std::streamsize(n));
    if (!f || std::size_t(f.gcount()) != n)
      throw DataError("so8t::llm::load_text: cannot read '" + source + "': " + std::strerror(errno));
    return s;
  };
  f.seekg(0, std::ios::end);
  std::size_t size = std::size_t(f.tellg());
  if (size > 0 && read_at(size - 1, 1) == "\n") --size;  // load_held_out_text's trailing-newline rule
  for (std::size_t span = part_bytes;; span = span > size / 2 ? size : 2 * span) {
    if (span >= size) return tail(tok.encode(read_at(0, size), add_special));
    const std::string s = read_at(size - span, span);
    const std::size_t nl = s.find('\n');
    if (nl == std::string::npos || nl + 1 == s.size()) continue;
    std::vector<std::int32_t> out;
    tok.encode_continuation(s.substr(nl + 1), out);
    if (out.size() >= max_tokens) return tail(std::move(out));
  }
}

}  // namespace so8t::llm
