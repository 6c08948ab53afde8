// so8t/llm/model/model_error.hpp: the error a GGUF model or vocabulary that cannot be used throws.
#pragma once

#include "so8t/base/errors.hpp"

namespace so8t::llm {

/// A GGUF file that is a valid container but not a usable llama model (missing key or tensor, wrong
/// shape or type, bad vocabulary).
class ModelError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// A vocabulary whose tokenizer keys cannot be used (bad merges, duplicate tokens, unknown pre-tokenizer).
class TokenizerError : public ModelError {
 public:
  using ModelError::ModelError;
};

/// tokenizer.ggml.pre names a pre-tokenizer that so8t does not know (llama.cpp refuses it too).
class UnknownPreTokenizer : public TokenizerError {
 public:
  explicit UnknownPreTokenizer(std::string pre)
      : TokenizerError("so8t::llm: unknown pre-tokenizer \"" + pre + "\" (tokenizer.ggml.pre)"), pre_(std::move(pre)) {}
  const std::string& pre() const noexcept { return pre_; }

 private:
  std::string pre_;
};

}  // namespace so8t::llm
