// so8t/base/device_buffer.cuh: the owning device allocation of the library (namespace so8t::cuda).
//
//   device_alloc(bytes, what)      cudaMalloc that names what it allocates: an out-of-memory CudaError says
//                                  what, how many bytes, and the device's free / total memory (not sticky)
//   DeviceBuffer<T>(n, what)       n elements of T on the device, freed on scope exit (move-only);
//   DeviceBuffer<>                 raw bytes (T = unsigned char), viewed as any type with as<U>()
// An empty buffer (default-constructed, or 0 elements) holds nullptr and makes no CUDA call. reset(n)
// reallocates to exactly n elements; grow(n) only grows, and synchronises the device before freeing the old
// allocation (queued work may still use it). upload / download copy whole host vectors (synchronous).
//   copy_to_device(dst, src, bytes, stream)   host -> device, complete on return for every stream
// Why copy_to_device: a plain cudaMemcpy from pageable memory runs on the legacy default stream and may return
// before its DMA has landed; a kernel queued next on a non-blocking stream does not wait for the legacy stream,
// so it could read weights still being written. Every weight upload goes through this one function.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "so8t/base/cuda_check.cuh"
#include "so8t/base/errors.hpp"

namespace so8t::cuda {

/// cudaMalloc that names what it allocates: an out-of-memory CudaError says what, how many bytes, and the
/// device's free / total memory. Returns nullptr for 0 bytes.
inline void* device_alloc(std::size_t bytes, const std::string& what) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaSuccess) return p;
  (void)cudaGetLastError();  // allocation failures are not sticky; clear them
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
  throw CudaError(static_cast<int>(e), std::string("so8t: ") +
                                           (e == cudaErrorMemoryAllocation ? "out of GPU memory" : "cudaMalloc failed") +
                                           " allocating " + std::to_string(bytes) + " bytes for " + what + " (" +
                                           cudaGetErrorName(e) + "; device free " + std::to_string(free_b) + " of " +
                                           std::to_string(total_b) + " bytes)");
}

/// Copies `bytes` from host memory to the device on `stream` and waits for that stream: on return the data
/// is on the device for work queued on any stream, and the host buffer may be freed.
inline void copy_to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream = nullptr) {
  if (bytes == 0) return;
  if (dst == nullptr || src == nullptr)
    throw InvalidArgument("so8t::cuda::copy_to_device: null pointer for " + std::to_string(bytes) + " bytes");
  SO8T_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  SO8T_CUDA_CHECK(cudaStreamSynchronize(stream));
}

/// Owning device allocation of n elements of T (move-only). Constructing an empty one makes no CUDA call.
template <class T = unsigned char>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n, const std::string& what = "a device buffer")
      : p_(static_cast<T*>(device_alloc(n * sizeof(T), what))), n_(n) {}
  /// A device copy of `host`, complete on return (copy_to_device on `stream`).
  explicit DeviceBuffer(const std::vector<T>& host, const std::string& what = "a device buffer",
                        cudaStream_t stream = nullptr)
      : DeviceBuffer(host.size(), what) {
    upload(host, stream);
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  /// Frees the allocation (no CUDA call when empty).
  void reset() noexcept {
    if (p_ != nullptr) (void)cudaFree(p_);
    p_ = nullptr;
    n_ = 0;
  }
  /// Frees, then allocates exactly n elements (contents are lost).
  void reset(std::size_t n, const std::string& what = "a device buffer") {
    reset();
    p_ = static_cast<T*>(device_alloc(n * sizeof(T), what));
    n_ = n;
  }
  /// Makes room for n elements (contents are lost when it grows). The caller makes sure no queued work still
  /// uses the old allocation; grow() synchronises the device before freeing to be safe.
  void grow(std::size_t n, const std::string& what) {
    if (n <= n_) return;
    if (p_ != nullptr) {
      SO8T_CUDA_CHECK(cudaDeviceSynchronize());
      reset();
    }
    p_ = static_cast<T*>(device_alloc(n * sizeof(T), what));
    n_ = n;
  }

  T* get() const { return p_; }
  /// The allocation seen as U (raw byte buffers: as<float>(), as<void>()).
  template <class U>
  U* as() const {
    return static_cast<U*>(static_cast<void*>(p_));
  }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }
  bool empty() const { return n_ == 0; }

  /// Copies host[0, host.size()) to the start of the buffer (host.size() <= size()), complete on return.
  void upload(const std::vector<T>& host, cudaStream_t stream = nullptr) {
    if (host.size() > n_)
      throw InvalidArgument("so8t::cuda::DeviceBuffer::upload: " + std::to_string(host.size()) +
                            " elements into a buffer of " + std::to_string(n_));
    copy_to_device(p_, host.data(), host.size() * sizeof(T), stream);
  }
  /// The whole buffer, copied to the host.
  std::vector<T> download() const {
    std::vector<T> host(n_);
    if (n_ > 0) SO8T_CUDA_CHECK(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace so8t::cuda
