// infer_cuda.cu: the CUDA side of so8t_infer (infer_backend.hpp): device probe, the linear layers on the GPU
// (so8t/llm/infer/cuda_linear.cuh) and the LLM.int8 offload backend (so8t/offload/executor.cuh). The CUDA kernel
// headers come first: they keep Eigen in host-only mode for this translation unit.
#include "so8t/llm/infer/cuda_linear.cuh"
#include "so8t/offload/executor.cuh"

#include <memory>

#include "infer_backend.hpp"

namespace so8t_infer {

GpuProbe probe_gpu() {
  GpuProbe p;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return p;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    (void)cudaGetLastError();
    return p;
  }
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    return p;
  }
  p.present = true;
  p.name = prop.name;
  p.free_bytes = free_b;
  p.total_bytes = total_b;
  return p;
}

std::unique_ptr<so8t::llm::LinearBackend> make_cuda_linear(const so8t::llm::LlamaModel& model) {
  return std::make_unique<so8t::llm::CudaLinear>(model);
}

std::unique_ptr<so8t::offload::GpuBackend> make_cuda_int8() { return std::make_unique<so8t::cuda::offload::CudaOffloadBackend>(); }

}  // namespace so8t_infer
