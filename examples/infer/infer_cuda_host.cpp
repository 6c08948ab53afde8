// infer_cuda_host.cpp: infer_backend.hpp for a build with CUDA. The device probe uses the CUDA runtime
// directly; the GPU backends come from the module so8t_infer_cuda.so (infer_cuda.cu) beside the executable,
// loaded on first use, so that runs on the CPU never load cuBLAS (see CMakeLists.txt).
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <memory>
#include <stdexcept>
#include <string>

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

namespace {

/// The module's path: so8t_infer_cuda.so in the executable's folder.
std::string module_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string exe = n > 0 ? std::string(buf, std::size_t(n)) : std::string("./so8t_infer");
  const std::size_t slash = exe.rfind('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/so8t_infer_cuda.so";
}

/// The module's entry point `name`, loading the module the first time (never unloaded).
void* entry(const char* name) {
  static void* handle = nullptr;
  if (!handle) {
    const std::string path = module_path();
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      throw std::runtime_error("cannot load the CUDA backend '" + path + "': " + (why ? why : "unknown error"));
    }
  }
  void* f = ::dlsym(handle, name);
  if (!f) throw std::runtime_error(std::string("the CUDA backend module has no entry point '") + name + "'");
  return f;
}

}  // namespace

std::unique_ptr<so8t::llm::LinearBackend> make_cuda_linear(const so8t::llm::LlamaModel& model) {
  using Make = so8t::llm::LinearBackend* (*)(const so8t::llm::LlamaModel*);
  return std::unique_ptr<so8t::llm::LinearBackend>(reinterpret_cast<Make>(entry("so8t_infer_cuda_linear"))(&model));
}

std::unique_ptr<so8t::offload::GpuBackend> make_cuda_int8() {
  using Make = so8t::offload::GpuBackend* (*)();
  return std::unique_ptr<so8t::offload::GpuBackend>(reinterpret_cast<Make>(entry("so8t_infer_cuda_int8"))());
}

}  // namespace so8t_infer
