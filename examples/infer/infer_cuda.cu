// infer_cuda.cu: the CUDA side of so8t_infer, built as the module so8t_infer_cuda.so and loaded by
// infer_cuda_host.cpp when a GPU is used: the linear layers on the GPU (so8t/llm/infer/cuda_linear.cuh) and
// the LLM.int8 offload backend (so8t/offload/executor.cuh). Entry points have C names for dlsym; they return
// owning pointers (the host wraps them at once) and may throw (same C++ runtime on both sides). The CUDA
// kernel headers come first: they keep Eigen in host-only mode for this translation unit.
#include "so8t/llm/infer/cuda_linear.cuh"
#include "so8t/offload/executor.cuh"

#include "infer_backend.hpp"

extern "C" {

__attribute__((visibility("default"))) so8t::llm::LinearBackend* so8t_infer_cuda_linear(const so8t::llm::LlamaModel* model) {
  return new so8t::llm::CudaLinear(*model);
}

__attribute__((visibility("default"))) so8t::offload::GpuBackend* so8t_infer_cuda_int8() {
  return new so8t::cuda::offload::CudaOffloadBackend();
}

}  // extern "C"
