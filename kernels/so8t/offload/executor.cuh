// so8t/offload/executor.cuh (namespace so8t::cuda::offload): the CUDA GpuBackend of the offload Executor
// (include/so8t/offload/executor.hpp).
//
// - load(): a layer mapped to the GPU becomes resident. Quantized layers are quantized on the host exactly as
//   so8t::gemm::Int8Linear does and uploaded as int8 codes + scales + bias (cuda::gemm::Int8LinearCuda, llm_int8.cuh);
//   skip-list layers mapped to the GPU stay fp32 on the device.
// - run(): activations cross in PINNED host buffers (cudaHostAlloc): x is copied into the pinned input buffer,
//   sent with cudaMemcpyAsync on the backend's stream, the layer runs on that stream, the output comes back
//   with cudaMemcpyAsync into the pinned output buffer, then one cudaStreamSynchronize and a host copy to y.
// - run_streamed(): what HF accelerate does for a CPU-offloaded module: the layer's fp32 weights (and bias)
//   are copied to the GPU for this call (from the executor's pageable memory: the driver stages the copy),
//   the fp32 product runs on the GPU, and the weight buffer is kept for the next streamed layer (the planner
//   reserves room for the largest one; release_streaming_buffer() gives it back).
// All device buffers grow on demand and are reused. Argument errors (unknown layer, bad shapes, sizes that do
// not match) are InvalidArgument raised before any CUDA call; constructing the backend makes no CUDA call.
// CUDA failures are so8t::CudaError with the CUDA code; out-of-memory names the layer, the bytes asked for and
// the device's free / total memory.
#pragma once

// The host layer headers pull in Eigen, used on the host only. Eigen 3.4's CUDA annotations do not compile
// warning-free under nvcc 13 (--Werror=all-warnings), so a CUDA translation unit keeps Eigen in host-only
// mode (this must precede the first #include of Eigen in the TU).
#if defined(__CUDACC__) && !defined(EIGEN_NO_CUDA)
#  define EIGEN_NO_CUDA 1
#endif

#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gemm/llm_int8.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/gemm/llm_int8.cuh"
#include "so8t/offload/executor.hpp"

namespace so8t::cuda::offload {

/// Owning pinned host allocation (cudaHostAlloc), grow-only. Constructing an empty one makes no CUDA call.
class PinnedMem {
 public:
  PinnedMem() = default;
  ~PinnedMem() { reset(); }
  PinnedMem(const PinnedMem&) = delete;
  PinnedMem& operator=(const PinnedMem&) = delete;
  void reset() {
    if (p_ != nullptr) cudaFreeHost(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  /// The caller makes sure no queued copy still uses the old buffer.
  void grow(std::size_t bytes, const std::string& what) {
    if (bytes <= bytes_) return;
    reset();
    const cudaError_t e = cudaHostAlloc(&p_, bytes, cudaHostAllocDefault);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      p_ = nullptr;
      throw CudaError(static_cast<int>(e), "so8t: cannot allocate " + std::to_string(bytes) + " bytes of pinned host memory for " +
                                               what + " (" + cudaGetErrorName(e) + ")");
    }
    bytes_ = bytes;
  }
  float* f32() const { return static_cast<float*>(p_); }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

class CudaOffloadBackend final : public ::so8t::offload::GpuBackend {
 public:
  /// `backend`: the int8 GEMM used by resident quantized layers. No CUDA call here.
  explicit CudaOffloadBackend(gemm::Backend backend = gemm::Backend::mma) : backend_(backend) {}
  ~CudaOffloadBackend() override {
    if (stream_ != nullptr) {
      cudaStreamSynchronize(stream_);
      cudaStreamDestroy(stream_);
    }
  }
  CudaOffloadBackend(const CudaOffloadBackend&) = delete;
  CudaOffloadBackend& operator=(const CudaOffloadBackend&) = delete;

  void load(std::size_t index, const ::so8t::offload::LayerWeights& layer, bool quantized,
            const ::so8t::gemm::Int8Options& opt) override {
    check_layer("load", layer);
    if (index > (1u << 24)) throw InvalidArgument("so8t::cuda::offload::CudaOffloadBackend::load: index " + std::to_string(index) + " is too large");
    auto r = std::make_unique<Resident>();
    r->name = layer.name;
    r->n = layer.n;
    r->k = layer.k;
    r->quantized = quantized;
    r->opt.threshold = opt.threshold;
    r->opt.backend = backend_;
    const float* b = layer.bias.empty() ? nullptr : layer.bias.data();
    ensure_stream();
    // Uploads go through copy_to_device on stream_ (complete on return), never the legacy default stream that
    // stream_ (non-blocking) would not wait for.
    if (quantized) {
      r->i8 = gemm::Int8LinearCuda::from_float(layer.w.data(), layer.n, layer.k, b, layer.name, stream_);
    } else {
      const std::string shape = " (" + std::to_string(layer.n) + " x " + std::to_string(layer.k) + " fp32)";
      r->wf = DeviceBuffer<>(4 * layer.w.size(), "layer '" + layer.name + "' weights" + shape);
      copy_to_device(r->wf.as<void>(), layer.w.data(), 4 * layer.w.size(), stream_);
      if (b != nullptr) {
        r->bias = DeviceBuffer<>(4 * layer.bias.size(), "layer '" + layer.name + "' bias" + shape);
        copy_to_device(r->bias.as<void>(), b, 4 * layer.bias.size(), stream_);
      }
    }
    if (layers_.size() <= index) layers_.resize(index + 1);
    layers_[index] = std::move(r);
  }

  void run(std::size_t index, const float* x, std::int64_t m, float* y) override {
    if (index >= layers_.size() || !layers_[index])
      throw InvalidArgument("so8t::cuda::offload::CudaOffloadBackend::run: layer " + std::to_string(index) + " is not loaded");
    const Resident& r = *layers_[index];
    check_call("run", r.name, x, m, y);
    if (m == 0) return;
    stage_in(x, m, r.k, r.n, r.name);
    if (r.quantized) {
      r.i8.forward(dx_.as<float>(), m, dy_.as<float>(), ws_, r.opt, stream_);
    } else {
      gemm::FloatGemmArgs a;
      a.x = dx_.as<float>();
      a.ldx = r.k;
      a.wf = r.wf.as<float>();
      a.ldw = r.k;
      a.kdim = static_cast<int>(r.k);
      a.bias = r.bias.as<float>();
      a.y = dy_.as<float>();
      a.m = static_cast<int>(m);
      a.n = static_cast<int>(r.n);
      gemm::launch_float_gemm_tn(a, stream_);
    }
    stage_out(y, m, r.n);
  }

  void run_streamed(const ::so8t::offload::LayerWeights& layer, const float* x, std::int64_t m, float* y) override {
    check_layer("run_streamed", layer);
    check_call("run_streamed", layer.name, x, m, y);
    if (m == 0) return;
    stage_in(x, m, layer.k, layer.n, layer.name);
    const std::string shape = " (" + std::to_string(layer.n) + " x " + std::to_string(layer.k) + " fp32, streamed)";
    dw_.grow(4 * layer.w.size(), "layer '" + layer.name + "' weights" + shape);
    SO8T_CUDA_CHECK(cudaMemcpyAsync(dw_.as<void>(), layer.w.data(), 4 * layer.w.size(), cudaMemcpyHostToDevice, stream_));
    if (!layer.bias.empty()) {
      dbias_.grow(4 * layer.bias.size(), "layer '" + layer.name + "' bias" + shape);
      SO8T_CUDA_CHECK(cudaMemcpyAsync(dbias_.as<void>(), layer.bias.data(), 4 * layer.bias.size(), cudaMemcpyHostToDevice,
                                      stream_));
    }
    gemm::FloatGemmArgs a;
    a.x = dx_.as<float>();
    a.ldx = layer.k;
    a.wf = dw_.as<float>();
    a.ldw = layer.k;
    a.kdim = static_cast<int>(layer.k);
    a.bias = layer.bias.empty() ? nullptr : dbias_.as<float>();
    a.y = dy_.as<float>();
    a.m = static_cast<int>(m);
    a.n = static_cast<int>(layer.n);
    gemm::launch_float_gemm_tn(a, stream_);
    stage_out(y, m, layer.n);  // synchronises: the pageable weights are no longer read after this returns
  }

  /// Device bytes held by resident layers.
  std::uint64_t resident_bytes() const {
    std::uint64_t s = 0;
    for (const auto& r : layers_)
      if (r) s += r->i8.device_bytes() + r->wf.bytes() + r->bias.bytes();
    return s;
  }
  /// Frees the weight buffer kept for streamed layers.
  void release_streaming_buffer() {
    if (stream_ != nullptr) SO8T_CUDA_CHECK(cudaStreamSynchronize(stream_));
    dw_.reset();
    dbias_.reset();
  }
  cudaStream_t stream() const { return stream_; }

 private:
  struct Resident {
    std::string name;
    std::int64_t n = 0, k = 0;
    bool quantized = true;
    gemm::Int8CudaOptions opt{};
    gemm::Int8LinearCuda i8;
    DeviceBuffer<> wf, bias;
  };

  static void check_layer(const char* fn, const ::so8t::offload::LayerWeights& l) {
    const std::string f = std::string("so8t::cuda::offload::CudaOffloadBackend::") + fn + " ('" + l.name + "')";
    if (l.n <= 0 || l.k <= 0 || l.n > INT_MAX || l.k > 66000)
      throw InvalidArgument(f + ": bad shape " + std::to_string(l.n) + " x " + std::to_string(l.k));
    if (static_cast<std::int64_t>(l.w.size()) != l.n * l.k)
      throw InvalidArgument(f + ": " + std::to_string(l.w.size()) + " weights for " + std::to_string(l.n) + " x " +
                            std::to_string(l.k));
    if (!l.bias.empty() && static_cast<std::int64_t>(l.bias.size()) != l.n)
      throw InvalidArgument(f + ": bias has " + std::to_string(l.bias.size()) + " values for " + std::to_string(l.n) +
                            " outputs");
  }
  static void check_call(const char* fn, const std::string& name, const float* x, std::int64_t m, const float* y) {
    const std::string f = std::string("so8t::cuda::offload::CudaOffloadBackend::") + fn + " ('" + name + "')";
    if (m < 0 || m > gemm::kMaxRows) throw InvalidArgument(f + ": m = " + std::to_string(m) + " is out of range");
    if (m > 0 && (x == nullptr || y == nullptr)) throw InvalidArgument(f + ": null pointer");
  }

  /// The backend's non-blocking stream, created on first use (constructing the backend makes no CUDA call).
  void ensure_stream() {
    if (stream_ == nullptr) SO8T_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }

  /// x (host, m x k) -> pinned -> device (async on stream_).
  void stage_in(const float* x, std::int64_t m, std::int64_t k, std::int64_t n, const std::string& name) {
    ensure_stream();
    const std::size_t xb = 4 * static_cast<std::size_t>(m * k), yb = 4 * static_cast<std::size_t>(m * n);
    // Every earlier call ended with a stream synchronisation, so growing (freeing) buffers here is safe.
    hx_.grow(xb, "activations into layer '" + name + "'");
    hy_.grow(yb, "activations out of layer '" + name + "'");
    dx_.grow(xb, "activations into layer '" + name + "' (" + std::to_string(m) + " x " + std::to_string(k) + ")");
    dy_.grow(yb, "activations out of layer '" + name + "' (" + std::to_string(m) + " x " + std::to_string(n) + ")");
    std::memcpy(hx_.f32(), x, xb);
    SO8T_CUDA_CHECK(cudaMemcpyAsync(dx_.as<void>(), hx_.f32(), xb, cudaMemcpyHostToDevice, stream_));
  }
  /// device -> pinned (async on stream_), synchronise, pinned -> y.
  void stage_out(float* y, std::int64_t m, std::int64_t n) {
    const std::size_t yb = 4 * static_cast<std::size_t>(m * n);
    SO8T_CUDA_CHECK(cudaMemcpyAsync(hy_.f32(), dy_.as<void>(), yb, cudaMemcpyDeviceToHost, stream_));
    SO8T_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::memcpy(y, hy_.f32(), yb);
  }

  gemm::Backend backend_;
  cudaStream_t stream_ = nullptr;
  std::vector<std::unique_ptr<Resident>> layers_;
  PinnedMem hx_, hy_;
  DeviceBuffer<> dx_, dy_, dw_, dbias_;
  gemm::Int8Workspace ws_;
};

}  // namespace so8t::cuda::offload
