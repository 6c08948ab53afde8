// infer_backend.hpp: what so8t_infer needs from the CUDA side, so that so8t_infer.cpp stays a host-only
// translation unit. infer_cuda_host.cpp implements it when the project is built with CUDA (the GPU backends
// from the module infer_cuda.cu builds, loaded on first use); infer_nocuda.cpp
// implements "no GPU" otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/offload/executor.hpp"

namespace so8t_infer {

struct GpuProbe {
  bool present = false;
  std::string name;
  std::uint64_t free_bytes = 0, total_bytes = 0;
};

/// Whether a CUDA device can be used (false when built without CUDA or no device is visible).
GpuProbe probe_gpu();

/// Linear layers of a GGUF model on the GPU: quantized weights stay in their ggml format on the device
/// (Q8_0 / Q4_K GEMV for up to 16 rows, dequantize + cuBLAS SGEMM otherwise; other types are dequantized
/// to fp32 once at load). Activations cross in host memory per call.
std::unique_ptr<so8t::llm::LinearBackend> make_cuda_linear(const so8t::llm::LlamaModel& model);

/// The LLM.int8 GPU backend for the offload executor (resident int8 layers, fp32 for skip-list layers).
std::unique_ptr<so8t::offload::GpuBackend> make_cuda_int8();

}  // namespace so8t_infer
