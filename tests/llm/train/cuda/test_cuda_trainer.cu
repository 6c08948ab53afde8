// so8t::llm::CudaTrainer (BasicTrainer<CudaEngine>, so8t/llm/train/cuda_engine.cuh) against the CPU Trainer:
// the same steps (schedules exactly, losses to device rounding) and checkpoints that resume on either engine.
// Construction without a device is checked everywhere; the rest skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "so8t/llm/train/cuda_engine.cuh"
#include "so8t/llm/train/trainer.hpp"
#include "support/cuda_test.hpp"
#include "llm/train/train_fixtures.hpp"

using namespace so8t::llm;

namespace {

// Seeded lines of text: enough windows for a few batches and a validation split.
std::string sample_text(std::size_t lines, std::uint64_t seed) {
  static const char* words[] = {"and", "the", "lord", "said", "unto", "moses", "in", "land", "of", "egypt"};
  Rng rng(seed);
  std::string s;
  for (std::size_t i = 0; i < lines; ++i) {
    const std::size_t n = 3 + rng.below(5);
    for (std::size_t w = 0; w < n; ++w) {
      s += words[rng.below(10)];
      s += w + 1 < n ? ' ' : '\n';
    }
  }
  return s;
}

LlamaConfig small_config() { return train_test::two_layer_config(2); }

TrainOptions small_options() { return train_test::short_run_options(6, 2); }

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("so8t_test_cuda_trainer_" + name)).string();
}

void expect_same_step(const StepReport& c, const StepReport& g) {
  EXPECT_EQ(g.step, c.step);
  EXPECT_EQ(g.lr, c.lr);                   // the schedules are the trainer's, not the engine's
  EXPECT_EQ(g.loss.lambda, c.loss.lambda);
  EXPECT_EQ(g.loss.pet_triples, c.loss.pet_triples);
  EXPECT_NEAR(g.loss.ce, c.loss.ce, 1e-3 * std::abs(c.loss.ce)) << "step " << c.step;
  EXPECT_NEAR(g.loss.pet, c.loss.pet, 1e-3 * std::abs(c.loss.pet) + 1e-6) << "step " << c.step;
  EXPECT_NEAR(g.grad_norm, c.grad_norm, 1e-3 * c.grad_norm) << "step " << c.step;
}

}  // namespace

TEST(CudaTrainerArgs, ConstructionWithoutDeviceThrowsCudaError) {
  if (so8t::cuda::device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_THROW(CudaTrainer t(small_config(), small_options()), so8t::CudaError);
}

TEST(CudaTrainer, FollowsTheCpuTrainerStepByStep) {
  SO8T_SKIP_WITHOUT_GPU();
  const SplitCorpus s = split_train_val(sample_text(400, 4), DocSplit::line);
  const TrainOptions opt = small_options();
  Trainer cpu(small_config(), opt);
  CudaTrainer gpu(small_config(), opt);
  EXPECT_EQ(gpu.num_params(), cpu.num_params());
  for (std::size_t i = 0; i < opt.steps; ++i) expect_same_step(cpu.train_step(s.train), gpu.train_step(s.train));
  const double ec = cpu.evaluate(s.val, 8), eg = gpu.evaluate(s.val, 8);
  EXPECT_NEAR(eg, ec, 1e-3 * ec);
}

TEST(CudaTrainer, CheckpointsResumeOnEitherEngine) {
  SO8T_SKIP_WITHOUT_GPU();
  const SplitCorpus s = split_train_val(sample_text(400, 5), DocSplit::line);
  const TrainOptions opt = small_options();
  Trainer ref(small_config(), opt);  // the uninterrupted CPU run
  std::vector<StepReport> want;
  for (std::size_t i = 0; i < opt.steps; ++i) want.push_back(ref.train_step(s.train));

  // CUDA for two steps, the CPU for two more, CUDA again for the last two
  const std::string p1 = temp_path("a.gguf"), p2 = temp_path("b.gguf");
  CudaTrainer g1(small_config(), opt);
  for (int i = 0; i < 2; ++i) expect_same_step(want[std::size_t(i)], g1.train_step(s.train));
  g1.save(p1);
  Trainer c(small_config(), opt);
  c.resume(p1);
  EXPECT_EQ(c.step(), 2u);
  for (int i = 2; i < 4; ++i) expect_same_step(want[std::size_t(i)], c.train_step(s.train));
  c.save(p2);
  CudaTrainer g2(small_config(), opt);
  g2.resume(p2);
  EXPECT_EQ(g2.step(), 4u);
  EXPECT_EQ(g2.engine().model().adam_steps(), 4u);
  for (int i = 4; i < 6; ++i) expect_same_step(want[std::size_t(i)], g2.train_step(s.train));
  std::filesystem::remove(p1);
  std::filesystem::remove(p2);
}
