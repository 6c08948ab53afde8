// infer_nocuda.cpp: so8t_infer built without CUDA: no GPU, and asking for one is an error.
#include <stdexcept>

#include "infer_backend.hpp"

namespace so8t_infer {

GpuProbe probe_gpu() { return GpuProbe{}; }

std::unique_ptr<so8t::llm::LinearBackend> make_cuda_linear(const so8t::llm::LlamaModel&) {
  throw std::runtime_error("this so8t_infer was built without CUDA (configure with -DSO8T_ENABLE_CUDA=ON)");
}

std::unique_ptr<so8t::offload::GpuBackend> make_cuda_int8() {
  throw std::runtime_error("this so8t_infer was built without CUDA (configure with -DSO8T_ENABLE_CUDA=ON)");
}

}  // namespace so8t_infer
