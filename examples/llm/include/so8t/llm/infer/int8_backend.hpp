// so8t/llm/infer/int8_backend.hpp: LLM.int8 linear layers for LlamaInfer (so8t_infer --int8), placed by the
// offload planner under a GPU memory budget.
//
// Every weight matrix of the model is dequantized to fp32 and handed to offload::plan_device_map in execution
// order (per layer q, k, v, o, gate, up, down, then output). Layers the planner puts on the GPU run LLM.int8
// (int8 weights with row scales, outlier columns over the threshold in fp32; Dettmers et al. 2022); layers that
// do not fit run in fp32 on the CPU. The output matrix ("output", llama.cpp's lm_head) is on
// the skip list by default and stays in floating point wherever it lands.
//
// Where the layers computed: with an offload::GpuBackend (the CUDA side, offload_cuda.cuh) GPU layers run on
// the GPU; without one (a CPU-only host) the plan is made against a simulated device of the given budget and
// the GPU-mapped layers run the CPU LLM.int8 kernels (gemm/llm_int8.hpp) instead, which exercises the same
// plan and the same int8 arithmetic; the device map says so.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "so8t/gemm/llm_int8.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/offload/executor.hpp"
#include "so8t/offload/planner.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t::llm {

/// "blk.0.attn_q.weight" -> "blk.0.attn_q" (the module name the planner and the skip list use).
inline std::string module_name(const std::string& tensor) {
  const std::string suffix = ".weight";
  if (tensor.size() > suffix.size() && tensor.compare(tensor.size() - suffix.size(), suffix.size(), suffix) == 0)
    return tensor.substr(0, tensor.size() - suffix.size());
  return tensor;
}

struct Int8BackendOptions {
  gemm::Int8Options int8{};                       ///< threshold (6.0), CPU kernel
  std::vector<std::string> skip_modules{"output"};  ///< kept in floating point
  offload::GpuBudget gpu_budget = offload::GpuBudget::fraction_of_free(0.81);
  std::uint64_t cpu_budget = ~std::uint64_t(0);   ///< bytes of fp32 weights the CPU may hold
  std::int64_t max_tokens = 512;                  ///< rows per call the workspace is sized for
  /// The GPU as seen by the caller (the CUDA side fills it from cudaMemGetInfo). When absent and
  /// `simulate_gpu_bytes` > 0, the plan is made against a device of that many free bytes.
  offload::GpuInfo gpu{};
  std::uint64_t simulate_gpu_bytes = 0;
};

class Int8Backend final : public LinearBackend {
 public:
  /// `gpu` may be null (see the file comment). Throws offload::DoesNotFit when a layer fits nowhere.
  Int8Backend(const LlamaModel& model, const Int8BackendOptions& o, offload::GpuBackend* gpu = nullptr)
      : opt_(o), gpu_(gpu) {
    std::vector<offload::LayerSpec> specs;
    std::vector<offload::LayerWeights> layers;
    for (const WeightView* w : model.matrices()) {
      offload::LayerWeights lw;
      lw.name = module_name(w->name);
      lw.n = w->rows;
      lw.k = w->cols;
      lw.w.resize(std::size_t(w->rows * w->cols));
      quant::dequantize(w->type, w->data, lw.w.data(), w->rows, w->cols);
      specs.push_back(lw.spec(o.max_tokens));
      index_[w->name] = layers.size();
      layers.push_back(std::move(lw));
    }
    offload::PlanOptions po;
    po.gpu = o.gpu;
    simulated_ = !o.gpu.present && o.simulate_gpu_bytes > 0;
    if (simulated_) po.gpu = offload::GpuInfo{true, o.simulate_gpu_bytes, o.simulate_gpu_bytes};
    po.gpu_budget = o.gpu_budget;
    po.cpu_budget = o.cpu_budget;
    po.skip_modules = o.skip_modules;
    map_ = offload::plan_device_map(specs, po);
    cpu_i8_.resize(layers.size());
    cpu_f32_.resize(layers.size());
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& p = map_.layers[i];
      const auto& l = layers[i];
      if (p.device == offload::Device::cuda && gpu_ != nullptr) {
        gpu_->load(i, l, p.quantized, o.int8);
      } else if (p.device == offload::Device::cuda && p.quantized) {
        cpu_i8_[i] = std::make_unique<gemm::Int8Linear>(gemm::Int8Linear::from_float(l.w.data(), l.n, l.k));
      } else {
        cpu_f32_[i] = std::make_unique<gemm::FloatLinear>(gemm::FloatLinear::from_float(l.w.data(), l.n, l.k));
      }
    }
  }

  const offload::DeviceMap& map() const { return map_; }
  bool simulated_gpu() const { return simulated_; }

  /// The device map with a line on where GPU-mapped layers really run.
  std::string describe() const {
    std::string s = map_.table();
    if (gpu_ != nullptr) s += "GPU-mapped layers run on the CUDA device (LLM.int8, threshold " + std::to_string(opt_.int8.threshold) + ")\n";
    else if (map_.count(offload::Device::cuda) > 0)
      s += std::string(simulated_ ? "no CUDA device: planned against a simulated GPU budget; " : "no GPU backend: ") +
           "GPU-mapped layers run the CPU LLM.int8 kernels (threshold " + std::to_string(opt_.int8.threshold) + ")\n";
    return s;
  }

  /// How many calls ran where (for the run summary).
  std::uint64_t calls_int8 = 0, calls_fp32 = 0, calls_gpu = 0;

  void matmul(const WeightView& w, const float* x, std::int64_t m, float* y) override {
    const auto it = index_.find(w.name);
    if (it == index_.end()) throw InvalidArgument("so8t::llm::Int8Backend: no layer for tensor '" + w.name + "'");
    const std::size_t i = it->second;
    if (map_.layers[i].device == offload::Device::cuda && gpu_ != nullptr) {
      gpu_->run(i, x, m, y);
      ++calls_gpu;
    } else if (cpu_i8_[i]) {
      cpu_i8_[i]->forward(x, m, y, opt_.int8);
      ++calls_int8;
    } else {
      cpu_f32_[i]->forward(x, m, y);
      ++calls_fp32;
    }
  }

 private:
  Int8BackendOptions opt_;
  offload::GpuBackend* gpu_;
  offload::DeviceMap map_;
  bool simulated_ = false;
  std::map<std::string, std::size_t> index_;
  std::vector<std::unique_ptr<gemm::Int8Linear>> cpu_i8_;
  std::vector<std::unique_ptr<gemm::FloatLinear>> cpu_f32_;
};

}  // namespace so8t::llm
