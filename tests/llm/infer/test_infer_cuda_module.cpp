// so8t_infer's GPU side is a module loaded on first use (examples/infer/CMakeLists.txt): it must load with
// every symbol resolved (RTLD_NOW, as infer_cuda_host.cpp loads it) and export both entry points. Needs no
// GPU: nothing is called.
#include <gtest/gtest.h>

#include <dlfcn.h>

TEST(InferCudaModule, LoadsAndExportsTheEntryPoints) {
  void* h = ::dlopen(SO8T_INFER_CUDA_MODULE, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << ::dlerror();
  EXPECT_NE(::dlsym(h, "so8t_infer_cuda_linear"), nullptr);
  EXPECT_NE(::dlsym(h, "so8t_infer_cuda_int8"), nullptr);
}
