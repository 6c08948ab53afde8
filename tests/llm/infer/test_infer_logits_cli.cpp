// so8t_infer logits: the program writes one window's float32 logits [tokens][n_vocab], no header, and they are
// llama.cpp's (tests/data/llama: the 256 tokens of text.txt through the f32 model with an all-f32 attention).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llama_test_data.hpp"

using namespace so8t_test_infer;

namespace {

std::string out_path(const std::string& name) {
  return ::testing::TempDir() + "so8t_logits_" + std::to_string(::getpid()) + "_" + name;
}

int run(const std::string& args) {
  const std::string cmd = std::string("\"") + SO8T_INFER_BIN + "\" " + args + " > /dev/null 2>&1";
  return std::system(cmd.c_str());
}

TEST(InferLogitsCli, WritesLlamaCppsLogitsForTheWindow) {
  SO8T_REQUIRE_LLAMA_DATA();
  const std::string out = out_path("w.f32");
  ASSERT_EQ(run("logits --device cpu --kv f32 --model \"" + model_path("f32") + "\" --text \"" + llama_dir() +
                "text.txt\" --ctx 256 --out \"" + out + "\""),
            0);
  const std::vector<float> got = read_array<float>(out), ref = read_array<float>(llama_dir() + "tiny-llama-spm-f32.kvf32-nofa.logits.f32");
  ASSERT_EQ(got.size(), ref.size()) << "expected 256 x 276 floats and nothing else";
  const Diff d = diff_logits(ref, got, 256, 276);
  EXPECT_LE(d.max_abs, 1e-4) << describe(d);
  // --ctx 16: the first 16 tokens only; causal, so the same rows
  ASSERT_EQ(run("logits --device cpu --kv f32 --model \"" + model_path("f32") + "\" --text \"" + llama_dir() +
                "text.txt\" --ctx 16 --out \"" + out + "\""),
            0);
  const std::vector<float> head = read_array<float>(out);
  ASSERT_EQ(head.size(), std::size_t(16 * 276));
  EXPECT_LE(diff_logits(ref, head, 16, 276).max_abs, 1e-4);
  std::remove(out.c_str());
}

TEST(InferLogitsCli, RefusesMissingOptionsAndLeavesNoFile) {
  SO8T_REQUIRE_LLAMA_DATA();
  const std::string out = out_path("none.f32");
  EXPECT_EQ(WEXITSTATUS(run("logits --model \"" + model_path("f32") + "\" --text \"" + llama_dir() + "text.txt\"")), 2);
  EXPECT_EQ(WEXITSTATUS(run("logits --model \"" + model_path("f32") + "\" --text kjv --out \"" + out + "\"")), 2);
  EXPECT_EQ(WEXITSTATUS(run("perplexity --model \"" + model_path("f32") + "\" --text kjv --out \"" + out + "\"")), 2);
  EXPECT_EQ(WEXITSTATUS(run("logits --model \"" + model_path("f32") + "\" --text /nonexistent --out \"" + out + "\"")), 1);
  struct stat st;
  EXPECT_NE(::stat(out.c_str(), &st), 0) << "an output was written";
}

}  // namespace
