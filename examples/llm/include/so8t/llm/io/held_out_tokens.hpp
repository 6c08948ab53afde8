// so8t/llm/io/held_out_tokens.hpp: the first N tokens of a held-out text, tokenized part by part.
//
// Tokenizing a whole 200 MB file to score 16,384 tokens cost 6.96 GB of memory (the text, its U+2581 copy and
// one symbol per character). The text is instead read in parts that end at a newline (HeldOutParts) and each
// part is encoded as a continuation of the ones before, until `max_tokens` are there. This gives exactly the
// tokens of encoding the whole text when no vocab piece longer than one byte holds a newline (no merge then
// crosses one, SpmTokenizer::encode_continuation); for a vocab with such pieces the text is read whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "so8t/llm/io/text_data.hpp"
#include "so8t/llm/model/spm_tokenizer.hpp"

namespace so8t::llm {

/// Size of the parts read at a time: 1 MiB is about a million tokens for a byte vocabulary and a quarter of
/// that for a real one, so a part or two covers what a tool scores.
inline constexpr std::size_t kHeldOutPartBytes = std::size_t(1) << 20;

/// The first `max_tokens` tokens (BOS included when add_bos) of load_held_out_text(source) as `tok` encodes it.
inline std::vector<std::int32_t> held_out_tokens(const SpmTokenizer& tok, const std::string& source, std::size_t max_tokens,
                                                 bool add_bos, std::size_t part_bytes = kHeldOutPartBytes) {
  HeldOutParts parts(source, tok.newline_in_pieces() ? 0 : part_bytes);
  std::vector<std::int32_t> out;
  std::string part;
  bool first = true;
  while (out.size() < max_tokens && parts.next(part)) {
    if (first) out = tok.encode(part, add_bos);
    else tok.encode_continuation(part, out);
    first = false;
  }
  if (first) out = tok.encode("", add_bos);
  if (out.size() > max_tokens) out.resize(max_tokens);
  return out;
}

}  // namespace so8t::llm
