// A small SPM vocabulary for tokenizer tests: <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF> (so every
// byte string encodes and decodes back), then the given pieces, each scoring its index (later pieces win).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "so8t/llm/model/gguf_model.hpp"

namespace so8t_test {

inline so8t::llm::Vocab byte_vocab_with(const std::vector<std::string>& pieces) {
  so8t::llm::Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.types.push_back(6);
  }
  for (const std::string& p : pieces) {
    v.tokens.push_back(p);
    v.types.push_back(1);
  }
  for (std::size_t i = 0; i < v.tokens.size(); ++i) v.scores.push_back(float(i));
  v.unk = 0;
  v.bos = 1;
  v.eos = 2;
  return v;
}

}  // namespace so8t_test
