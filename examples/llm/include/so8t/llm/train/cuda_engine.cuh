// so8t/llm/train/cuda_engine.cuh: so8t::llm::CudaEngine, the engine of BasicTrainer (trainer.hpp) with the model
// and the AdamW moments on the GPU (LlamaCuda), and CudaTrainer = BasicTrainer<CudaEngine>.
//
//   CudaTrainer tr(cfg, opt);          // same init as Trainer (llama_init on the host, then uploaded)
//   tr.train_step(corpus);             // same batches, lambda and lr schedules, clipping, AdamW as Trainer
//   tr.save(path); tr.resume(path);    // the same checkpoint format: resumes on either engine
//
// The loop is BasicTrainer's, so the CUDA trainer cannot diverge from the CPU one in anything but the rounding
// of the device kernels. Needs a CUDA device (CudaError otherwise, from LlamaCuda). Includes trainer.hpp and
// hence Eigen: nvcc translation units need --expt-relaxed-constexpr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "so8t/llm/train/adamw.hpp"
#include "so8t/llm/train/llama_cuda.cuh"
#include "so8t/llm/train/loss.hpp"
#include "so8t/llm/train/trainer.hpp"

namespace so8t::llm {

/// LlamaCuda with its AdamW configuration; the interface of CpuEngine (trainer.hpp).
class CudaEngine {
 public:
  CudaEngine(const LlamaConfig& cfg, const AdamWConfig& adamw) : model_(cfg), adamw_(adamw) {}

  const LlamaConfig& config() const { return model_.config(); }
  const ParamLayout& layout() const { return model_.layout(); }
  LlamaCuda& model() { return model_; }
  std::size_t num_params() const { return model_.num_params(); }

  void set_params(const float* p, std::size_t n) { model_.upload_params(p, n); }
  LossParts forward(const std::int32_t* tok, const std::int32_t* tgt, const std::int32_t* seg, int B, int T,
                    double lambda) {
    return model_.forward(tok, tgt, seg, B, T, lambda);
  }
  void backward() { model_.backward(); }
  double clip_grad_norm(double max_norm) { return model_.clip_grad_norm(max_norm); }
  void adamw_step(double lr) { model_.adamw_step(lr, adamw_); }

  /// Parameters and AdamW state (moments and step count) downloaded for a checkpoint; before the first step
  /// the moments are zero, as a fresh AdamW<float>'s.
  void save_state(std::vector<float>& params, AdamW<float>& adam) const {
    params.resize(model_.num_params());
    model_.download_params(params.data(), params.size());
    model_.download_adam_state(adam.m, adam.v);
    adam.t = model_.adam_steps();
  }
  void load_state(std::vector<float> params, std::vector<float> m, std::vector<float> v, std::size_t t) {
    model_.upload_params(params.data(), params.size());
    model_.set_adam_state(m, v, t, adamw_);
  }

 private:
  LlamaCuda model_;
  AdamWConfig adamw_;
};

/// The CUDA trainer: BasicTrainer's loop over CudaEngine.
using CudaTrainer = BasicTrainer<CudaEngine>;

}  // namespace so8t::llm
