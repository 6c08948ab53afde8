// so8t/llm/train/trainer.hpp: one training run: batches, loss = CE + lambda(step) * PET, backward, clipping,
// AdamW with warm-up + cosine learning rate, validation, checkpoint save and resume.
//
// BasicTrainer<Engine> is the loop, written once; the engine is where the model and the optimizer state
// live: CpuEngine (LlamaCpu<float> + AdamW<float>, below) or CudaEngine (LlamaCuda with its moments on the
// device, so8t/llm/train/cuda_engine.cuh, which also defines CudaTrainer).
// An engine offers config(), layout(), model(), set_params(p), forward(...), backward(), clip_grad_norm(c),
// adamw_step(lr), save_state(params, adam) and load_state(params, m, v, t); the trainer never sees where
// the numbers are.
//
// Reproducible: single-threaded, the batch RNG (one uint64_t) and the optimizer state are in the checkpoint,
// so run(N) == run(k) + save + load + run(N - k), bit for bit, and a checkpoint resumes on either engine.
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

/// The CPU engine: LlamaCpu<float> with its AdamW state.
class CpuEngine {
 public:
  CpuEngine(const LlamaConfig& cfg, const AdamWConfig& adamw) : model_(cfg), adam_(model_.layout(), adamw) {}

  const LlamaConfig& config() const { return model_.config(); }
  const ParamLayout& layout() const { return model_.layout(); }
  LlamaCpu<float>& model() { return model_; }
  std::size_t num_params() const { return model_.params.size(); }

  void set_params(const float* p, std::size_t n) { model_.params.assign(p, p + n); }
  LossParts forward(const std::int32_t* tok, const std::int32_t* tgt, const std::int32_t* seg, int B, int T,
                    double lambda) {
    return model_.forward(tok, tgt, seg, B, T, lambda);
  }
  void backward() { model_.backward(); }
  double clip_grad_norm(double max_norm) {
    return llm::clip_grad_norm(model_.grads.data(), model_.grads.size(), max_norm);
  }
  void adamw_step(double lr) { adam_.step(model_.params.data(), model_.grads.data(), lr); }

  /// Parameters and AdamW state for a checkpoint.
  void save_state(std::vector<float>& params, AdamW<float>& adam) const {
    params = model_.params;
    adam = adam_;
  }
  void load_state(std::vector<float> params, std::vector<float> m, std::vector<float> v, std::size_t t) {
    model_.params = std::move(params);
    adam_.m = std::move(m);
    adam_.v = std::move(v);
    adam_.t = t;
  }

 private:
  LlamaCpu<float> model_;
  AdamW<float> adam_;
};

template <class Engine>
class BasicTrainer {
 public:
  BasicTrainer(const LlamaConfig& cfg, const TrainOptions& opt) : opt_(opt), engine_(cfg, opt.adamw), rng_(opt.seed) {
    std::vector<float> p(engine_.layout().total);
    llama_init(cfg, engine_.layout(), p.data(), opt.seed, opt.gate_init_std);
    engine_.set_params(p.data(), p.size());
  }

  const LlamaConfig& config() const { return engine_.config(); }
  auto& model() { return engine_.model(); }
  Engine& engine() { return engine_; }
  std::size_t num_params() const { return engine_.num_params(); }
  std::size_t step() const { return step_; }
  const TrainOptions& options() const { return opt_; }

  double lambda_at(std::size_t step) const {
    if (!opt_.pet) return 0.0;
    return pet_schedule(std::min(step, opt_.steps), std::max<std::size_t>(opt_.steps, 1), opt_.pet_schedule);
  }

  StepReport train_step(const Corpus& train) {
    const Batch b = random_batch(train, opt_.batch, config().ctx, rng_);
    StepReport r;
    r.loss = engine_.forward(b.tokens.data(), b.targets.data(), b.segments.data(), b.B, b.T, lambda_at(step_));
    engine_.backward();
    r.grad_norm = engine_.clip_grad_norm(opt_.clip);
    LrSchedule s{opt_.lr, opt_.min_lr, opt_.warmup, opt_.steps};
    r.lr = s.at(step_);
    engine_.adamw_step(r.lr);
    r.step = ++step_;
    return r;
  }

  /// Mean cross-entropy (nats per byte) over up to max_windows context windows of the split.
  double evaluate(const Corpus& c, std::size_t max_windows) {
    double sum = 0.0;
    std::size_t n = 0;
    for (const Batch& b : eval_batches(c, opt_.batch, config().ctx, max_windows)) {
      const LossParts l = engine_.forward(b.tokens.data(), b.targets.data(), b.segments.data(), b.B, b.T, 0.0);
      sum += l.ce * double(b.B) * b.T;
      n += std::size_t(b.B) * b.T;
    }
    return n ? sum / double(n) : 0.0;
  }

  void save(const std::string& path) {
    std::vector<float> params;
    AdamW<float> adam(engine_.layout(), opt_.adamw);
    engine_.save_state(params, adam);
    TrainState st;
    st.step = step_;
    st.rng_state = rng_.state;
    st.seed = opt_.seed;
    st.adam_t = adam.t;
    st.run = opt_.json();
    save_checkpoint(path, config(), params.data(), &st, &adam);
  }

  /// Continues from a checkpoint of the same config (weights, AdamW moments, step, batch RNG).
  void resume(const std::string& path) {
    Checkpoint ck = load_checkpoint(path);
    if (ck.cfg != config())
      throw InvalidArgument("so8t::llm::Trainer::resume: '" + path + "' holds a different model config");
    if (!ck.has_train_state)
      throw InvalidArgument("so8t::llm::Trainer::resume: '" + path + "' has no training state (model-only file)");
    engine_.load_state(std::move(ck.params), std::move(ck.adam_m), std::move(ck.adam_v), std::size_t(ck.state.adam_t));
    step_ = std::size_t(ck.state.step);
    rng_.state = ck.state.rng_state;
  }

 private:
  TrainOptions opt_;
  Engine engine_;
  Rng rng_;
  std::size_t step_ = 0;
};

/// The CPU trainer.
using Trainer = BasicTrainer<CpuEngine>;

}  // namespace so8t::llm
