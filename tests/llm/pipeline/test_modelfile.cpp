// so8t/llm/pipeline/modelfile.hpp: the Ollama Modelfile so8t_quantize --modelfile writes, for hand-written
// metadata of each chat format; the expected texts are written out here in full.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "so8t/gguf/gguf.hpp"
#include "so8t/llm/pipeline/modelfile.hpp"

namespace gguf = so8t::gguf;
using namespace so8t::llm;

namespace {

/// A tensor-less GGUF image with the chat template, EOS and optionally a temperature, read back (bytes
/// must outlive the reader).
gguf::Reader meta(const std::string& jinja, std::vector<std::string> tokens, std::uint32_t eos, bool temperature,
                  std::vector<std::uint8_t>& bytes) {
  gguf::Writer w(&bytes);
  w.add("general.architecture", std::string("qwen2"));
  w.add_metadata("tokenizer.ggml.tokens", gguf::Value::array(tokens));
  w.add("tokenizer.ggml.eos_token_id", eos);
  if (!jinja.empty()) w.add("tokenizer.chat_template", jinja);
  if (temperature) w.add("so8t.calibration.temperature", 1.25f);
  w.finish();
  return gguf::Reader::from_memory(bytes.data(), bytes.size());
}

TEST(Modelfile, ChatMlTemplateTemperatureAndStops) {
  std::vector<std::uint8_t> b;
  const gguf::Reader r = meta("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
                              {"a", "<|endoftext|>", "<|im_start|>", "<|im_end|>"}, 1, true, b);
  EXPECT_EQ(ollama_modelfile(r.metadata(), "./q.gguf"),
            "# written by so8t_quantize --modelfile\n"
            "FROM ./q.gguf\n"
            "TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n\"\"\"\n"
            "PARAMETER temperature 1.25\n"
            "PARAMETER stop \"<|im_end|>\"\n"
            "PARAMETER stop \"<|endoftext|>\"\n");
}

TEST(Modelfile, Llama3TemplateAndEosOnce) {
  std::vector<std::uint8_t> b;
  const gguf::Reader r = meta("{{ '<|start_header_id|>' + m.role + '<|end_header_id|>\n\n' + m.content + '<|eot_id|>' }}",
                              {"<|begin_of_text|>", "<|eot_id|>"}, 1, false, b);
  EXPECT_EQ(ollama_modelfile(r.metadata(), "../models/q.gguf"),
            "# written by so8t_quantize --modelfile\n"
            "FROM ../models/q.gguf\n"
            "TEMPLATE \"\"\"{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>"
            "{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n\"\"\"\n"
            "PARAMETER stop \"<|eot_id|>\"\n");
}

TEST(Modelfile, OtherTemplatesAreLeftToOllamaAndQuotesEscaped) {
  std::vector<std::uint8_t> b;
  const gguf::Reader r = meta("[INST] {{ m.content }} [/INST]", {"x", "</s \"q\">"}, 1, false, b);
  EXPECT_EQ(ollama_modelfile(r.metadata(), "./m.gguf"),
            "# written by so8t_quantize --modelfile\n"
            "FROM ./m.gguf\n"
            "# the GGUF's chat template is not ChatML or Llama 3: Ollama uses tokenizer.chat_template from the file\n"
            "PARAMETER stop \"</s \\\"q\\\">\"\n");
  std::vector<std::uint8_t> b2;
  const gguf::Reader none = meta("", {"x", "y"}, 7, false, b2);  // no template, EOS id out of range: no stop
  EXPECT_EQ(ollama_modelfile(none.metadata(), "./m.gguf"),
            "# written by so8t_quantize --modelfile\nFROM ./m.gguf\n# the GGUF has no chat template: plain completion\n");
}

TEST(Modelfile, FromIsRelativeToTheModelfile) {
  EXPECT_EQ(modelfile_from("/tmp/a/Modelfile", "/tmp/a/q.gguf"), "./q.gguf");
  EXPECT_EQ(modelfile_from("/tmp/a/b/Modelfile", "/tmp/a/q.gguf"), "../q.gguf");
  EXPECT_EQ(modelfile_from("/tmp/a/Modelfile", "/tmp/a/c/q.gguf"), "./c/q.gguf");
  EXPECT_EQ(default_modelfile_path("out/q4.gguf"), "out/q4.Modelfile");
  EXPECT_EQ(default_modelfile_path("q4.bin"), "q4.bin.Modelfile");
}

}  // namespace
