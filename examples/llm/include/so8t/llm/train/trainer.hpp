// so8t/model/trainer.hpp: one training run on the CPU: batches, loss = CE + lambda(step) * PET, backward,
// clipping, AdamW with warm-up + cosine learning rate, validation, checkpoint save and resume.
//
// Reproducible: single-threaded, the batch RNG (one uint64_t) and the optimizer state are in the checkpoint,
// so run(N) == run(k) + save + load + run(N - k), bit for bit.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "so8t/llm/train/adamw.hpp"
#include "so8t/llm/model/checkpoint.hpp"
#include "so8t/llm/io/text_data.hpp"
#include "so8t/llm/train/llama_cpu.hpp"
#include "so8t/llm/train/lr_schedule.hpp"
#include "so8t/llm/train/rng.hpp"
#include "so8t/pet/schedule.hpp"

namespace so8t::llm {

struct TrainOptions {
  int batch = 16;
  std::size_t steps = 1000;
  double lr = 2e-3;
  double min_lr = 2e-4;
  std::size_t warmup = 100;
  double clip = 1.0;
  AdamWConfig adamw{};
  std::uint64_t seed = 1337;
  bool pet = true;                  ///< false: lambda = 0 throughout
  PetScheduleConfig pet_schedule{}; ///< three phases (explore / transition / stabilize)
  double gate_init_std = 0.0;       ///< 0: the gates start as the identity

  std::string json() const {
    std::ostringstream o;
    o << "{\"batch\":" << batch << ",\"steps\":" << steps << ",\"lr\":" << lr << ",\"min_lr\":" << min_lr
      << ",\"warmup\":" << warmup << ",\"clip\":" << clip << ",\"weight_decay\":" << adamw.weight_decay
      << ",\"beta1\":" << adamw.beta1 << ",\"beta2\":" << adamw.beta2 << ",\"seed\":" << seed
      << ",\"pet\":" << (pet ? "true" : "false") << ",\"lambda\":[" << pet_schedule.lambda_explore << ","
      << pet_schedule.lambda_transition << "," << pet_schedule.lambda_stabilize << "]}";
    return o.str();
  }
};

struct StepReport {
  std::size_t step = 0;  ///< 1-based number of the step just done
  LossParts loss;
  double lr = 0.0;
  double grad_norm = 0.0;
};

class Trainer {
 public:
  Trainer(const LlamaConfig& cfg, const TrainOptions& opt)
      : opt_(opt), model_(cfg), adam_(model_.layout(), opt.adamw), rng_(opt.seed) {
    llama_init(cfg, model_.layout(), model_.params.data(), opt.seed, opt.gate_init_std);
  }

  const LlamaConfig& config() const { return model_.config(); }
  LlamaCpu<float>& model() { return model_; }
  std::size_t step() const { return step_; }
  const TrainOptions& options() const { return opt_; }

  double lambda_at(std::size_t step) const {
    if (!opt_.pet) return 0.0;
    return pet_schedule(std::min(step, opt_.steps), std::max<std::size_t>(opt_.steps, 1), opt_.pet_schedule);
  }

  StepReport train_step(const Corpus& train) {
    const int T = config().ctx;
    const Batch b = random_batch(train, opt_.batch, T, rng_);
    StepReport r;
    r.loss = model_.forward(b.tokens.data(), b.targets.data(), b.segments.data(), b.B, b.T, lambda_at(step_));
    model_.backward();
    r.grad_norm = clip_grad_norm(model_.grads.data(), model_.grads.size(), opt_.clip);
    LrSchedule s{opt_.lr, opt_.min_lr, opt_.warmup, opt_.steps};
    r.lr = s.at(step_);
    adam_.step(model_.params.data(), model_.grads.data(), r.lr);
    r.step = ++step_;
    return r;
  }

  /// Mean cross-entropy (nats per byte) over up to max_windows context windows of the split.
  double evaluate(const Corpus& c, std::size_t max_windows) {
    double sum = 0.0;
    std::size_t n = 0;
    for (const Batch& b : eval_batches(c, opt_.batch, config().ctx, max_windows)) {
      const LossParts l = model_.forward(b.tokens.data(), b.targets.data(), b.segments.data(), b.B, b.T, 0.0);
      sum += l.ce * double(b.B) * b.T;
      n += std::size_t(b.B) * b.T;
    }
    return n ? sum / double(n) : 0.0;
  }

  void save(const std::string& path) const {
    TrainState st;
    st.step = step_;
    st.rng_state = rng_.state;
    st.seed = opt_.seed;
    st.adam_t = adam_.t;
    st.run = opt_.json();
    save_checkpoint(path, model_.config(), model_.params.data(), &st, &adam_);
  }

  /// Continues from a checkpoint of the same config (weights, AdamW moments, step, batch RNG).
  void resume(const std::string& path) {
    Checkpoint ck = load_checkpoint(path);
    const LlamaConfig& a = ck.cfg;
    const LlamaConfig& b = config();
    if (a.dim != b.dim || a.n_layers != b.n_layers || a.n_heads != b.n_heads || a.n_kv_heads != b.n_kv_heads ||
        a.ffn != b.ffn || a.ctx != b.ctx || a.vocab != b.vocab || a.gate_stack != b.gate_stack)
      throw InvalidArgument("so8t::llm::Trainer::resume: '" + path + "' holds a different model config");
    if (!ck.has_train_state)
      throw InvalidArgument("so8t::llm::Trainer::resume: '" + path + "' has no training state (model-only file)");
    model_.params = std::move(ck.params);
    adam_.m = std::move(ck.adam_m);
    adam_.v = std::move(ck.adam_v);
    adam_.t = std::size_t(ck.state.adam_t);
    step_ = std::size_t(ck.state.step);
    rng_.state = ck.state.rng_state;
  }

 private:
  TrainOptions opt_;
  LlamaCpu<float> model_;
  AdamW<float> adam_;
  Rng rng_;
  std::size_t step_ = 0;
};

}  // namespace so8t::llm
