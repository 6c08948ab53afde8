// so8t/offload/executor.hpp: runs a stack of linear layers (output of layer i feeds layer i+1) on the
// devices a DeviceMap assigns.
//
// - CPU layers compute in fp32 on the CPU (gemm::FloatLinear, Eigen), as without offload.
// - GPU layers run through a GpuBackend (the CUDA side implements it: resident int8 weights,
//   activations crossing in pinned buffers). Under OffloadPolicy::stream_to_gpu, CPU layers are handed
//   to the backend with their fp32 weights for each call instead (HF accelerate's behaviour).
// - Without a backend (no GPU), GPU-mapped layers run the CPU LLM.int8 path and CPU layers stay fp32;
//   the executor says so once on stderr. A streaming policy without a backend falls back to CPU compute
//   and says so once too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gemm/llm_int8.hpp"
#include "so8t/offload/planner.hpp"

namespace so8t::offload {

/// One layer's float weights as handed to the executor: W[n, k] row-major and an optional bias[n].
struct LayerWeights {
  std::string name;
  std::int64_t n = 0, k = 0;
  std::vector<float> w, bias;
  /// The planner's view of this layer: int8 + row scales on the GPU, fp32 on the CPU, workspace for
  /// `max_tokens` rows of input and output activations in fp32.
  LayerSpec spec(std::int64_t max_tokens = 1) const {
    LayerSpec s;
    s.name = name;
    s.weight_bytes = static_cast<std::uint64_t>(n * k + 4 * n + 4 * static_cast<std::int64_t>(bias.size()));
    s.fp32_bytes = static_cast<std::uint64_t>(4 * (n * k + static_cast<std::int64_t>(bias.size())));
    s.workspace_bytes = static_cast<std::uint64_t>(4 * max_tokens * (n + k));
    return s;
  }
};

/// What a GPU implementation provides to the executor.
class GpuBackend {
 public:
  virtual ~GpuBackend() = default;
  /// Makes layer `index` resident (int8 when quantized, else fp16/fp32 as the backend chooses).
  virtual void load(std::size_t index, const LayerWeights& layer, bool quantized, const gemm::Int8Options& opt) = 0;
  /// y[m, n] = layer(x[m, k]) for a resident layer; x and y are host memory.
  virtual void run(std::size_t index, const float* x, std::int64_t m, float* y) = 0;
  /// Copies the fp32 weights to the GPU, computes, and frees them (stream_to_gpu policy).
  virtual void run_streamed(const LayerWeights& layer, const float* x, std::int64_t m, float* y) = 0;
};

/// Counts of where the last forward ran each layer.
struct ExecStats {
  std::size_t cpu_fp32 = 0, cpu_int8 = 0, gpu_resident = 0, gpu_streamed = 0;
};

class Executor {
 public:
  /// Takes the layers (in order, shapes must chain) and the map from plan_device_map for them.
  Executor(std::vector<LayerWeights> layers, DeviceMap map, GpuBackend* gpu = nullptr, gemm::Int8Options opt = {})
      : layers_(std::move(layers)), map_(std::move(map)), gpu_(gpu), opt_(opt) {
    if (layers_.size() != map_.layers.size())
      throw InvalidArgument("so8t::offload::Executor: " + std::to_string(layers_.size()) + " layers but the map has " +
                            std::to_string(map_.layers.size()));
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto& l = layers_[i];
      if (l.name != map_.layers[i].name)
        throw InvalidArgument("so8t::offload::Executor: layer " + std::to_string(i) + " is '" + l.name +
                              "' but the map has '" + map_.layers[i].name + "'");
      if (static_cast<std::int64_t>(l.w.size()) != l.n * l.k || (!l.bias.empty() && static_cast<std::int64_t>(l.bias.size()) != l.n))
        throw InvalidArgument("so8t::offload::Executor: layer '" + l.name + "' has " + std::to_string(l.w.size()) +
                              " weights for " + std::to_string(l.n) + " x " + std::to_string(l.k));
      if (i > 0 && layers_[i - 1].n != l.k)
        throw InvalidArgument("so8t::offload::Executor: layer '" + l.name + "' takes " + std::to_string(l.k) +
                              " inputs but '" + layers_[i - 1].name + "' gives " + std::to_string(layers_[i - 1].n));
    }
    const float* nob = nullptr;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto& l = layers_[i];
      const auto& p = map_.layers[i];
      const float* b = l.bias.empty() ? nob : l.bias.data();
      cpu_f32_.emplace_back();
      cpu_i8_.emplace_back();
      if (p.device == Device::cuda && gpu_ != nullptr) {
        gpu_->load(i, l, p.quantized, opt_);
      } else if (p.device == Device::cuda && p.quantized) {
        cpu_i8_.back() = std::make_unique<gemm::Int8Linear>(gemm::Int8Linear::from_float(l.w.data(), l.n, l.k, b));
      } else if (!(p.device == Device::cpu && map_.policy == OffloadPolicy::stream_to_gpu && gpu_ != nullptr)) {
        cpu_f32_.back() = std::make_unique<gemm::FloatLinear>(gemm::FloatLinear::from_float(l.w.data(), l.n, l.k, b));
      }
    }
    if (gpu_ == nullptr && map_.count(Device::cuda) > 0)
      say_once("so8t offload: no GPU backend; layers mapped to cuda run the CPU LLM.int8 path");
    if (gpu_ == nullptr && map_.policy == OffloadPolicy::stream_to_gpu && map_.count(Device::cpu) > 0)
      say_once("so8t offload: stream_to_gpu requested without a GPU; CPU layers compute in fp32 on the CPU");
  }

  const DeviceMap& map() const { return map_; }
  std::int64_t in_features() const { return layers_.empty() ? 0 : layers_.front().k; }
  std::int64_t out_features() const { return layers_.empty() ? 0 : layers_.back().n; }

  /// y[m, out_features] = layers(x[m, in_features]).
  ExecStats forward(const float* x, std::int64_t m, float* y) const {
    ExecStats st;
    if (layers_.empty()) return st;
    if (m < 0) throw InvalidArgument("so8t::offload::Executor::forward: m = " + std::to_string(m));
    std::vector<float> cur(x, x + m * in_features()), next;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const auto& l = layers_[i];
      next.assign(static_cast<std::size_t>(m * l.n), 0.0f);
      const bool on_gpu = map_.layers[i].device == Device::cuda;
      if (on_gpu && gpu_ != nullptr) {
        gpu_->run(i, cur.data(), m, next.data());
        ++st.gpu_resident;
      } else if (!on_gpu && gpu_ != nullptr && map_.policy == OffloadPolicy::stream_to_gpu) {
        gpu_->run_streamed(l, cur.data(), m, next.data());
        ++st.gpu_streamed;
      } else if (cpu_i8_[i]) {
        cpu_i8_[i]->forward(cur.data(), m, next.data(), opt_);
        ++st.cpu_int8;
      } else {
        cpu_f32_[i]->forward(cur.data(), m, next.data());
        ++st.cpu_fp32;
      }
      cur.swap(next);
    }
    std::copy(cur.begin(), cur.end(), y);
    return st;
  }

 private:
  std::vector<LayerWeights> layers_;
  DeviceMap map_;
  GpuBackend* gpu_;
  gemm::Int8Options opt_;
  std::vector<std::unique_ptr<gemm::FloatLinear>> cpu_f32_;
  std::vector<std::unique_ptr<gemm::Int8Linear>> cpu_i8_;
};

}  // namespace so8t::offload
