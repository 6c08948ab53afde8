// so8t/llm/model/special_tokens.hpp: cutting a text at the special tokens it spells, before the tokenizer
// sees it, as llama.cpp's tokenize(..., parse_special) does (docs/tokenizers.md "Special tokens").
//
// Candidates are the control (type 3), user-defined (4) and unknown (2) tokens, longest text first. Each
// candidate in turn cuts every occurrence of its exact bytes out of every text fragment left. Control and
// unknown tokens are cut only when parse_special is asked for; user-defined tokens always are.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "so8t/llm/model/gguf_model.hpp"

namespace so8t::llm {

/// One piece of a text: a special token (token >= 0) or bytes [offset, offset + length) to tokenize.
struct TextFragment {
  std::int32_t token = -1;
  std::size_t offset = 0, length = 0;
};

class SpecialTokens {
 public:
  explicit SpecialTokens(const Vocab& v) {
    for (std::size_t i = 0; i < v.types.size() && i < v.tokens.size(); ++i) {
      const std::int32_t t = v.types[i];
      if ((t == 2 || t == 3 || t == 4) && !v.tokens[i].empty())
        candidates_.push_back(Candidate{static_cast<std::int32_t>(i), v.tokens[i], t == 4});
    }
    // Longest first; equal lengths by id, so the order never depends on the sort.
    std::stable_sort(candidates_.begin(), candidates_.end(),
                     [](const Candidate& a, const Candidate& b) { return a.text.size() > b.text.size(); });
  }

  bool empty() const noexcept { return candidates_.empty(); }

  /// `text` cut into fragments; without special tokens in it, one fragment (none for an empty text).
  std::vector<TextFragment> split(std::string_view text, bool parse_special) const {
    std::vector<TextFragment> frags;
    if (!text.empty()) frags.push_back(TextFragment{-1, 0, text.size()});
    std::vector<TextFragment> next;
    for (const Candidate& c : candidates_) {
      if (!parse_special && !c.user_defined) continue;
      next.clear();
      bool cut = false;
      for (const TextFragment& f : frags) {
        if (f.token >= 0) {
          next.push_back(f);
          continue;
        }
        std::size_t pos = f.offset;
        const std::size_t end = f.offset + f.length;
        while (pos < end) {
          const std::size_t m = text.substr(0, end).find(c.text, pos);
          if (m == std::string_view::npos) break;
          if (m > pos) next.push_back(TextFragment{-1, pos, m - pos});
          next.push_back(TextFragment{c.id, m, c.text.size()});
          pos = m + c.text.size();
          cut = true;
        }
        if (pos < end) next.push_back(TextFragment{-1, pos, end - pos});
      }
      if (cut) frags.swap(next);
    }
    return frags;
  }

 private:
  struct Candidate {
    std::int32_t id;
    std::string text;
    bool user_defined;
  };
  std::vector<Candidate> candidates_;
};

}  // namespace so8t::llm
