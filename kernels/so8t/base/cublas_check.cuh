// so8t/base/cublas_check.cuh: checking cuBLAS and cuBLASLt calls on the host (namespace so8t::cuda).
//
// SO8T_CUBLAS_CHECK(expr) throws so8t::CudaError whose code() is the cublasStatus_t, naming the call, file,
// line and the status (name and meaning, the strings cuBLASLt's cublasLtGetStatusName / String give). The
// names come from a table here, so this header needs only the cublasStatus_t declaration (cublas_api.h) and
// links nothing: include it only where cuBLAS or cuBLASLt is called (the SO(8) core kernels link cudart only).
#pragma once

#include <cublas_api.h>

#include <string>

#include "so8t/base/errors.hpp"

namespace so8t::cuda {

/// "CUBLAS_STATUS_..." for a status ("unrecognized status" for others).
inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: break;
  }
  return "unrecognized status";
}

/// What a status means.
inline const char* cublas_status_string(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an unsupported value or parameter was passed to the function";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "the function requires an architectural feature absent from the device";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the function failed to launch on the GPU";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the requested functionality is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "the license check failed";
    default: break;
  }
  return "unrecognized status";
}

inline void check_cublas(cublasStatus_t s, const char* expr, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw CudaError(static_cast<int>(s), std::string("so8t: cuBLAS call failed: ") + expr + " at " + file + ":" +
                                             std::to_string(line) + ": status " + std::to_string(static_cast<int>(s)) +
                                             " (" + cublas_status_name(s) + ": " + cublas_status_string(s) + ")");
}

}  // namespace so8t::cuda

#define SO8T_CUBLAS_CHECK(expr) ::so8t::cuda::check_cublas((expr), #expr, __FILE__, __LINE__)
