// Data split and PET document masking, checkpoint resume (bitwise-identical continuation) and the CI micro
// training run (the loss must fall well below the untrained model's, measured in the same run).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "so8t/llm/train/trainer.hpp"
#include "llm/train/train_fixtures.hpp"

using namespace so8t::llm;

namespace {

// A small generated text: sentences from a fixed vocabulary, one per line (seeded, so every run is the same).
std::string generated_text(std::size_t lines, std::uint64_t seed) {
  static const char* subj[] = {"the king", "a man", "the people", "my lord", "the children", "his servant"};
  static const char* verb[] = {"said unto", "went to", "gave bread to", "spake unto", "came before", "blessed"};
  static const char* obj[] = {"the city", "the land", "his house", "the priest", "all israel", "the river"};
  Rng rng(seed);
  std::string s;
  for (std::size_t i = 0; i < lines; ++i) {
    s += subj[rng.below(6)];
    s += ' ';
    s += verb[rng.below(6)];
    s += ' ';
    s += obj[rng.below(6)];
    s += rng.below(2) ? ", and it was good.\n" : ".\n";
  }
  return s;
}

LlamaConfig ci_config() { return train_test::two_layer_config(1); }

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("so8t_test_train_" + name)).string();
}

}  // namespace

TEST(TrainData, DocumentsSplitAndSegments) {
  const std::string text = "one\ntwo\n\nthree\nfour\n\n\nfive";
  const auto lines = split_documents(text, DocSplit::line);
  ASSERT_EQ(lines.size(), 8u);  // "one\n" "two\n" "\n" "three\n" "four\n" "\n" "\n" "five"
  const auto paras = split_documents(text, DocSplit::blank);
  ASSERT_EQ(paras.size(), 3u);
  EXPECT_EQ(text.substr(paras[0].first, paras[0].second - paras[0].first), "one\ntwo\n\n");
  EXPECT_EQ(text.substr(paras[2].first), "five");
  EXPECT_EQ(split_documents(text, DocSplit::none).size(), 1u);

  const std::string g = generated_text(2000, 1);
  const SplitCorpus s = split_train_val(g, DocSplit::line, 10, 64);
  EXPECT_EQ(s.train.size() + s.val.size(), g.size());
  EXPECT_EQ(s.train.documents + s.val.documents, 2000u);
  EXPECT_NEAR(double(s.val.documents) / 2000.0, 0.1, 0.03);
  for (const Corpus* c : {&s.train, &s.val})
    for (std::size_t i = 1; i < c->size(); ++i) {
      ASSERT_LE(c->doc[i - 1], c->doc[i]);
      if (c->doc[i] != c->doc[i - 1]) {
        ASSERT_EQ(c->bytes[i - 1], '\n');  // a new document starts after a newline
      }
    }
  // batches carry the document ids: PET counts exactly the triples inside one document
  Rng rng(5);
  const Batch b = random_batch(s.train, 4, 32, rng);
  so8t::PetMask mask;
  mask.segment_ids = b.segments.data();
  std::size_t expect = 0;
  for (int r = 0; r < b.B; ++r)
    for (int t = 1; t + 1 < b.T; ++t) {
      const std::int32_t* sg = &b.segments[std::size_t(r) * b.T];
      expect += (sg[t - 1] == sg[t] && sg[t] == sg[t + 1]) ? 1 : 0;
      ASSERT_EQ(b.targets[std::size_t(r) * b.T + t - 1], b.tokens[std::size_t(r) * b.T + t]);
    }
  EXPECT_EQ(so8t::pet_valid_triples(4, 32, mask), expect);
  EXPECT_LT(expect, std::size_t(4 * 30));  // 32-byte windows of ~40-byte lines always cross a boundary
  LlamaCpu<float> m(ci_config());
  llama_init(m.config(), m.layout(), m.params.data(), 1);
  EXPECT_EQ(m.forward(b.tokens.data(), b.targets.data(), b.segments.data(), b.B, b.T, 0.1).pet_triples, expect);
}

TEST(TrainCheckpoint, ResumeContinuesBitForBit) {
  const SplitCorpus s = split_train_val(generated_text(600, 2), DocSplit::line);
  const TrainOptions opt = train_test::short_run_options(10, 3);
  LlamaConfig cfg = ci_config();
  cfg.gate_stack = 2;
  Trainer a(cfg, opt);
  for (int i = 0; i < 10; ++i) a.train_step(s.train);

  Trainer b(cfg, opt);
  for (int i = 0; i < 4; ++i) b.train_step(s.train);
  const std::string path = temp_path("resume.gguf");
  b.save(path);
  Trainer c(cfg, opt);
  c.resume(path);
  EXPECT_EQ(c.step(), 4u);
  StepReport last{};
  for (int i = 0; i < 6; ++i) last = c.train_step(s.train);
  EXPECT_EQ(c.step(), 10u);
  ASSERT_EQ(a.model().params.size(), c.model().params.size());
  EXPECT_EQ(std::memcmp(a.model().params.data(), c.model().params.data(), a.model().params.size() * sizeof(float)), 0)
      << "resumed run differs from the uninterrupted one";

  // the file is a GGUF with the unbaked architecture and the gates as extra tensors
  const Checkpoint ck = load_checkpoint(path);
  EXPECT_TRUE(ck.has_train_state);
  EXPECT_EQ(ck.state.step, 4u);
  const so8t::gguf::Reader r = so8t::gguf::Reader::open(path);
  EXPECT_EQ(r.metadata().get<std::string>("general.architecture"), "llama-so8t-unbaked");
  EXPECT_FALSE(r.metadata().get<bool>("so8t.gates_baked"));
  const auto* gate = r.find_tensor("blk.1.so8_gate_cmd");
  ASSERT_NE(gate, nullptr);
  EXPECT_EQ(gate->ne[0], 28);
  EXPECT_EQ(gate->ne[1], cfg.dim / 8);
  ASSERT_NE(r.find_tensor("blk.0.attn_q.weight"), nullptr);
  EXPECT_EQ(r.find_tensor("blk.0.attn_k.weight")->ne[1], cfg.kv_dim());
  std::filesystem::remove(path);
}

TEST(TrainMicroRun, LossFallsWellBelowTheUntrainedModel) {
  const SplitCorpus s = split_train_val(generated_text(3000, 3), DocSplit::line);
  TrainOptions opt;
  opt.batch = 8;
  opt.steps = 200;
  opt.warmup = 20;
  opt.lr = 1e-2;
  opt.min_lr = 1e-3;
  Trainer t(ci_config(), opt);
  const double before = t.evaluate(s.val, 32);
  double first_ce = 0.0, last_ce = 0.0;
  for (std::size_t i = 0; i < opt.steps; ++i) {
    const StepReport r = t.train_step(s.train);
    ASSERT_TRUE(std::isfinite(r.loss.loss)) << "step " << r.step;
    if (i == 0) first_ce = r.loss.ce;
    last_ce = r.loss.ce;
  }
  const double after = t.evaluate(s.val, 32);
  std::printf("micro run: val loss %.4f -> %.4f nats/byte (train ce %.4f -> %.4f)\n", before, after, first_ce, last_ce);
  EXPECT_NEAR(before, std::log(double(kVocab)), 0.3);  // the untrained model is close to uniform
  EXPECT_LT(after, 0.5 * before) << "val loss " << before << " -> " << after;
}
