// so8t::llm::CudaLinear (so8t/llm/infer/cuda_linear.cuh): the llama.cpp reference models run with the linear layers on
// the GPU must give the CPU's f32-activation logits (CpuLinear with quantize_activations = false, the same
// arithmetic up to summation order), for decode (one row: the qgemv kernels for Q8_0 / Q4_K) and for a prompt
// (many rows: device dequantize + cuBLAS SGEMM). Skips without a GPU.
#include "so8t/llm/infer/cuda_linear.cuh"

#include <gtest/gtest.h>

#include <cmath>
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

INSTANTIATE_TEST_SUITE_P(Types, LlamaInferCuda, ::testing::Values("f32", "q8_0", "q4_k", "q6_k", "q4_0"));

}  // namespace
