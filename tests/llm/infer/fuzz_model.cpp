// libFuzzer harness for the model loader and the tokenizers (so8t::llm::LlamaModel, Tokenizer, LlamaInfer),
// beside tests/gguf/fuzz_reader.cpp. Build: clang++ -fsanitize=fuzzer,address,undefined (tests/gguf/ci.sh).
//
// Every input must load or throw one of the documented types (gguf::FormatError for the container, ModelError
// or InvalidArgument for the model); ASan/UBSan turn any out-of-bounds read, overflow or leak into a crash. A
// model that loads tokenizes its own bytes as text (ids in range, decode never throws), evaluates two tokens
// (NumericError allowed: fuzzed weights may be NaN) and, with the input as text, the tokenizer of a fixed byte
// vocabulary must round-trip it exactly (unless it holds U+2581, SPM's space marker), and so must SmolLM2's
// byte-level BPE (tests/data/bpe) for valid UTF-8 (but eight bytes it has no token for), with special-token parsing on as well (ids in range);
// a decoded text that is valid UTF-8 must tokenize back to itself.
#include <cstdint>
#include <string>
#include <vector>

#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/gguf/utf8.hpp"
#include "so8t/llm/model/spm_tokenizer.hpp"
#include "so8t/llm/model/tokenizer.hpp"
#include "support/byte_vocab.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

/// Byte tokens plus a few merges: every byte string round-trips through encode / decode.
const so8t::llm::SpmTokenizer& byte_tokenizer() {
  static const so8t::llm::SpmTokenizer tok(so8t_test::byte_vocab_with(
      {"\xE2\x96\x81", "t", "h", "e", "\xE2\x96\x81t", "he", "\xE2\x96\x81the", "\n\n"}));
  return tok;
}

const so8t::llm::BpeTokenizer& bpe_tokenizer() {
  static const so8t::llm::BpeTokenizer tok(so8t::llm::open_vocab(std::string(SO8T_TEST_DATA_DIR) + "/bpe/smollm2-vocab.gguf"));
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  {
    const auto& tok = byte_tokenizer();
    const std::vector<std::int32_t> ids = tok.encode(text, true);
    for (const std::int32_t id : ids) check(id >= 0 && id < tok.n_vocab());
    // U+2581 in the text itself decodes as a space (SPM's space marker, as in llama.cpp): no round trip then
    if (text.find("\xE2\x96\x81") == std::string::npos) check(tok.decode(ids) == text);
  }
  {
    const auto& tok = bpe_tokenizer();
    for (const std::int32_t id : tok.encode(text, true, true)) check(id >= 0 && id < tok.n_vocab());
    const std::string back = tok.decode(tok.encode(text, false, false));
    // (SmolLM2 has no token for the characters of bytes 04 06 13 14 16 1D F1 F2: llama.cpp drops them too)
    if (so8t::gguf::is_valid_utf8(text) && text.find_first_of("\x04\x06\x13\x14\x16\x1D\xF1\xF2") == std::string::npos)
      check(back == text);
    // (a dropped lead byte leaves its continuation bytes, which decode as U+FFFD the second time)
    if (so8t::gguf::is_valid_utf8(back)) check(tok.decode(tok.encode(back, false, false)) == back);
  }
  try {
    const so8t::llm::LlamaModel m = so8t::llm::LlamaModel::from_memory(data, size);
    const so8t::llm::Tokenizer tok(m.vocab());
    const std::vector<std::int32_t> ids = tok.encode(text.substr(0, 256), true, true);
    for (const std::int32_t id : ids) check(id >= 0 && id < tok.n_vocab());
    (void)tok.decode(ids);
    so8t::llm::InferOptions o;
    o.n_ctx = 2;
    so8t::llm::LlamaInfer inf(m, o);
    const std::int32_t two[2] = {0, m.hparams().vocab - 1};
    std::vector<float> logits(2 * std::size_t(m.hparams().vocab));
    try {
      inf.eval(two, 2, logits.data());
    } catch (const so8t::NumericError&) {
    }
  } catch (const so8t::gguf::FormatError&) {
  } catch (const so8t::llm::ModelError&) {
  } catch (const so8t::InvalidArgument&) {
  }
  return 0;
}
