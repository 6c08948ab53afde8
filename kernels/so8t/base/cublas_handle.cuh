// so8t/base/cublas_handle.cuh: so8t::cuda::CublasHandle, the owning cuBLAS handle (so8t/base/library_handle.cuh),
// for classes that create one and then allocate (the handle is released whatever throws after it).
#pragma once

#include <cublas_v2.h>

#include "so8t/base/library_handle.cuh"

namespace so8t::cuda {

using CublasHandle = LibraryHandle<cublasHandle_t, cublasStatus_t, &cublasCreate_v2, &cublasDestroy_v2>;

}  // namespace so8t::cuda
