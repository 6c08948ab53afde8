// so8t/base/library_handle.cuh: so8t::cuda::LibraryHandle, the owning handle of a CUDA library context
// (cuBLAS, cuBLASLt), namespace so8t::cuda.
//
// Why: a class that creates a handle and then allocates in its constructor leaks the handle when the
// allocation throws (the destructor of a half-built object never runs). As a member, the handle is released
// by its own destructor whatever fails after it. It names no library header: the user instantiates it with
// the library's create / destroy functions, e.g.
//   using CublasHandle = LibraryHandle<cublasHandle_t, cublasStatus_t, &cublasCreate_v2, &cublasDestroy_v2>;
#pragma once

#include <utility>

namespace so8t::cuda {

template <class Handle, class Status, Status (*Create)(Handle*), Status (*Destroy)(Handle)>
class LibraryHandle {
 public:
  LibraryHandle() = default;  ///< empty: no library call
  ~LibraryHandle() { reset(); }
  LibraryHandle(LibraryHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  LibraryHandle& operator=(LibraryHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  LibraryHandle(const LibraryHandle&) = delete;
  LibraryHandle& operator=(const LibraryHandle&) = delete;

  /// Creates the handle (returns the library's status; the caller checks it, e.g. with SO8T_CUBLAS_CHECK).
  Status create() {
    reset();
    return Create(&h_);
  }
  void reset() noexcept {
    if (h_ != nullptr) (void)Destroy(h_);
    h_ = nullptr;
  }
  Handle get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  Handle h_ = nullptr;
};

}  // namespace so8t::cuda
