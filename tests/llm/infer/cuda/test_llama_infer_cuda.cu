// so8t::llm::CudaLinear (so8t/llm/infer/cuda_linear.cuh): the llama.cpp reference models run with the linear layers on
// the GPU must give the CPU's f32-activation logits (CpuLinear with quantize_activations = false, the same
// arithmetic up to summation order), for decode (one row: the qgemv kernels for Q8_0 / Q4_K) and for a prompt
// (many rows: device dequantize + cuBLAS SGEMM). Skips without a GPU.
#include "so8t/llm/infer/cuda_linear.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "support/cuda_test.hpp"

namespace {

const std::string kDir = std::string(SO8T_TEST_DATA_DIR) + "/llama/";

std::vector<std::int32_t> tokens() {
  std::vector<std::int32_t> t(256);
  std::ifstream f(kDir + "tiny-llama-spm-f32.tokens.i32", std::ios::binary);
  f.read(reinterpret_cast<char*>(t.data()), 1024);
  return t;
}

class LlamaInferCuda : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaInferCuda, MatchesCpuF32Activations) {
  SO8T_SKIP_WITHOUT_GPU();
  const auto m = so8t::llm::LlamaModel::open(kDir + "tiny-llama-spm-" + GetParam() + ".gguf");
  const auto tok = tokens();
  const int V = m.hparams().vocab, n = 64;
  so8t::llm::InferOptions io;
  io.quantize_activations = false;
  so8t::llm::LlamaInfer cpu(m, io), gpu(m, io);
  so8t::llm::CudaLinear lin(m);
  gpu.set_backend(&lin);
  std::vector<float> zc(std::size_t(n) * V), zg(zc.size()), zd(zc.size());
  cpu.eval(tok.data(), n, zc.data());
  gpu.eval(tok.data(), n, zg.data());  // prompt: SGEMM path
  gpu.reset();
  for (int i = 0; i < n; ++i) gpu.eval(&tok[std::size_t(i)], 1, zd.data() + std::size_t(i) * V);  // decode: qgemv
  double max_prompt = 0, max_decode = 0;
  for (std::size_t i = 0; i < zc.size(); ++i) {
    max_prompt = std::max(max_prompt, std::fabs(double(zc[i]) - zg[i]));
    max_decode = std::max(max_decode, std::fabs(double(zc[i]) - zd[i]));
  }
  std::printf("%s: max |dz| GPU prompt %.3g, GPU decode %.3g (vs CPU)\n", GetParam(), max_prompt, max_decode);
  EXPECT_LT(max_prompt, 1e-3);
  EXPECT_LT(max_decode, 1e-3);
}

// A prompt (m > 16) on a quantized model dequantizes each matrix once and keeps the copy: a second prompt gives
// the same logits bit for bit without dequantizing again; with no memory to spare (keep_free_bytes huge) every
// prompt product goes through the scratch buffer and gives the same logits too.
TEST(LlamaInferCudaPrompt, DequantizedCopiesAreKeptAndMatchTheScratchPath) {
  SO8T_SKIP_WITHOUT_GPU();
  const auto m = so8t::llm::LlamaModel::open(kDir + "tiny-llama-spm-q8_0.gguf");
  const auto tok = tokens();
  const int V = m.hparams().vocab, n = 40;
  so8t::llm::InferOptions io;
  io.quantize_activations = false;
  so8t::llm::CudaLinear kept(m);
  so8t::llm::CudaLinearOptions tight;
  tight.keep_free_bytes = ~std::size_t(0) / 2;
  so8t::llm::CudaLinear scratch(m, tight);
  so8t::llm::LlamaInfer a(m, io), b(m, io);
  a.set_backend(&kept);
  b.set_backend(&scratch);
  std::size_t quantized = 0;
  for (const so8t::llm::WeightView* w : m.matrices())
    quantized += (w->type == so8t::quant::Type::q8_0 || w->type == so8t::quant::Type::q4_k) ? 1 : 0;
  ASSERT_GT(quantized, 0u);
  std::vector<float> z1(std::size_t(n) * V), z2(z1.size()), z3(z1.size());
  a.eval(tok.data(), n, z1.data());
  const std::size_t copies = kept.dequantized_matrices();
  EXPECT_EQ(copies, quantized);
  a.reset();
  a.eval(tok.data(), n, z2.data());
  EXPECT_EQ(kept.dequantized_matrices(), copies);  // nothing dequantized again
  EXPECT_EQ(kept.scratch_dequantizations(), 0u);
  b.eval(tok.data(), n, z3.data());
  EXPECT_EQ(scratch.dequantized_matrices(), 0u);
  EXPECT_EQ(scratch.scratch_dequantizations(), quantized);
  EXPECT_EQ(0, std::memcmp(z1.data(), z2.data(), 4 * z1.size()));
  EXPECT_EQ(0, std::memcmp(z1.data(), z3.data(), 4 * z1.size()));
}

INSTANTIATE_TEST_SUITE_P(Types, LlamaInferCuda, ::testing::Values("f32", "q8_0", "q4_k", "q6_k", "q4_0"));

}  // namespace
