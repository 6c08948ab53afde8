// so8t/llm/model/tokenizer.hpp: the tokenizer a vocabulary asks for, SPM ("llama") or byte-level BPE
// ("gpt2"), behind one interface with llama.cpp's tokenize(text, add_special, parse_special) meaning.
//
// SPM with parse_special = false is SpmTokenizer unchanged. With parse_special the special tokens are cut
// out first (special_tokens.hpp) and every text fragment is encoded as llama.cpp does, with the space
// prefix again after each special token.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "so8t/llm/model/bpe_tokenizer.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/model/special_tokens.hpp"
#include "so8t/llm/model/spm_tokenizer.hpp"

namespace so8t::llm {

class Tokenizer {
 public:
  /// The tokenizer of `vocab` (ModelError for a model other than "llama" / "gpt2"; BpeTokenizer's errors).
  explicit Tokenizer(const Vocab& vocab) {
    if (vocab.model == "gpt2") bpe_ = std::make_shared<const BpeTokenizer>(vocab);
    else if (vocab.model == "llama") set_spm(SpmTokenizer(vocab));
    else throw ModelError("so8t::llm::Tokenizer: unsupported tokenizer model \"" + vocab.model + "\"");
  }
  /// An SPM tokenizer already built (held_out_tokens' callers and tests that hold one).
  Tokenizer(const SpmTokenizer& spm) { set_spm(spm); }  // NOLINT(google-explicit-constructor): on purpose

  bool is_bpe() const noexcept { return bpe_ != nullptr; }
  const Vocab& vocab() const noexcept { return bpe_ ? bpe_->vocab() : spm_->vocab(); }
  std::int32_t n_vocab() const noexcept { return bpe_ ? bpe_->n_vocab() : spm_->n_vocab(); }

  /// llama.cpp's tokenize(text, add_special, parse_special): add_special adds BOS when the vocab's add_bos
  /// says so (and EOS when add_eos); parse_special makes special-token texts their tokens.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special, bool parse_special = false) const {
    if (bpe_) return bpe_->encode(text, add_special, parse_special);
    const Vocab& v = spm_->vocab();
    std::vector<std::int32_t> out;
    if (!parse_special) {
      out = spm_->encode(std::string(text), add_special && v.add_bos);
    } else {
      out = spm_->encode("", add_special && v.add_bos);
      for (const TextFragment& f : special_->split(text, true)) {
        if (f.token >= 0) {
          out.push_back(f.token);
          continue;
        }
        const std::vector<std::int32_t> part = spm_->encode(std::string(text.substr(f.offset, f.length)), false);
        out.insert(out.end(), part.begin(), part.end());
      }
    }
    if (add_special && v.add_eos && v.eos >= 0) out.push_back(v.eos);
    return out;
  }

  /// Whether encoding a text in parts that each end with '\n' (the first with encode(), the others with
  /// encode_continuation()) gives exactly the tokens of encode() on the whole text. SPM: when no piece
  /// longer than one byte holds a newline. BPE: never claimed, as the pre-tokenizers see whitespace across
  /// a newline (GPT-2's expression splits "a \nb" as "a", " ", "\n", "b" but a part "a \n" as "a", " \n"),
  /// so callers read such texts whole.
  bool parts_exact() const noexcept { return !bpe_ && !spm_->newline_in_pieces(); }

  /// Appends the tokens of `text` as it continues a text encoded before it whose last part ended with '\n'
  /// (exact only when parts_exact()).
  void encode_continuation(const std::string& text, std::vector<std::int32_t>& out) const {
    if (!bpe_) return spm_->encode_continuation(text, out);
    const std::vector<std::int32_t> t = bpe_->encode(text, false, false);
    out.insert(out.end(), t.begin(), t.end());
  }

  /// The bytes of one token (control tokens give "" unless `special`; SPM ignores `special`).
  std::string token_to_piece(std::int32_t id, bool special = false) const {
    return bpe_ ? bpe_->token_to_piece(id, special) : spm_->token_to_piece(id);
  }

  std::string decode(const std::vector<std::int32_t>& ids, bool special = false) const {
    return bpe_ ? bpe_->decode(ids, special) : spm_->decode(ids);
  }

 private:
  void set_spm(const SpmTokenizer& spm) {
    spm_ = std::make_shared<const SpmTokenizer>(spm);
    special_ = std::make_shared<const SpecialTokens>(spm_->vocab());
  }

  std::shared_ptr<const BpeTokenizer> bpe_;
  std::shared_ptr<const SpmTokenizer> spm_;
  std::shared_ptr<const SpecialTokens> special_;
};

}  // namespace so8t::llm
