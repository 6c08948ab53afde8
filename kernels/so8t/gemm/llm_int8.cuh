// so8t/gemm/llm_int8.cuh (namespace so8t::cuda::gemm): the whole LLM.int8 linear layer on CUDA,
// Y[M,N] = X[M,K] . W[N,K]^T (+ bias),
// with the same definition as the CPU so8t::gemm::Int8Linear::forward (include/so8t/gemm/llm_int8.hpp):
//
//   1. outlier columns: flags[k] = any_m |X[m,k]| >= threshold (threshold <= 0: none), compacted on the GPU
//      into a sorted column list and a device-side count (no host round trip);
//   2. X quantized per row with the outlier columns excluded: sx = absmax/127, codes rint(x * 127/absmax)
//      (int8_kernels.cuh quantize_activations; the same IEEE steps as the CPU quantizer, so codes and row
//      scales are bit-equal to so8t::gemm::quantize_activations_int8);
//   3. outlier product in fp32: addend[m,n] = sum_c X[m,cols[c]] * Wdq[n,cols[c]], Wdq = fp::mul(q, sw/127)
//      (exact activations, int8-rounded weights, as bitsandbytes does); skipped on the GPU when count == 0;
//   4. int8 GEMM with int32 accumulation, mma.sync kernel or cuBLASLt (chosen per call; cuBLASLt needs
//      N % 4 == 0 and K % 4 == 0, else the mma kernel runs and forward() says so in its return value);
//   5. fused epilogue y = fp::mul(float(acc) * sx[m], sw[n]/127) (+ addend) (+ bias): the CPU epilogue's
//      arithmetic step for step. The int32 part is exact, so without outlier columns the output equals the
//      CPU layer bit for bit; with outliers only the fp32 summation order of the outlier product differs.
//
// Everything after argument checks runs asynchronously on the caller's stream. Argument errors are
// InvalidArgument and are raised before any CUDA call; CUDA/cuBLAS failures are so8t::CudaError (code =
// cudaError_t / cublasStatus_t), allocation failures name what was being allocated and the free/total memory
// (DeviceBuffer, so8t/base/device_buffer.cuh).
// Unlike the CPU quantizer the GPU path does not reject non-finite activations (that would need a host
// synchronisation per call); callers who need that check validate X on the host.
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
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/gemm/llm_int8.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/gemm/int8_kernels.cuh"
#include "so8t/gemm/int8_cublaslt.cuh"

namespace so8t::cuda::gemm {

// ---------------------------------------------------------------- kernels

/// cols[0..count) = the indices j < k with flags[j] != 0, ascending; *count = how many. One block of
/// exactly 1024 threads (32 warps), 1024 flags per step: ballot + per-warp prefix.
static __global__ void __launch_bounds__(1024) compact_flags_kernel(const int* __restrict__ flags, int k, int* __restrict__ cols,
                                                             int* __restrict__ count) {
  __shared__ int warp_off[32];
  __shared__ int base, step_total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (threadIdx.x == 0) base = 0;
  __syncthreads();
  for (int c0 = 0; c0 < k; c0 += 1024) {
    const int j = c0 + static_cast<int>(threadIdx.x);
    const bool f = j < k && flags[j] != 0;
    const unsigned ballot = __ballot_sync(0xffffffffu, f);
    if (lane == 0) warp_off[warp] = __popc(ballot);
    __syncthreads();
    if (threadIdx.x == 0) {
      int s = 0;
      for (int w = 0; w < 32; ++w) {
        const int t = warp_off[w];
        warp_off[w] = s;
        s += t;
      }
      step_total = s;
    }
    __syncthreads();
    if (f) cols[base + warp_off[warp] + __popc(ballot & ((1u << lane) - 1u))] = j;
    __syncthreads();  // everyone has read base / warp_off before they change
    if (threadIdx.x == 0) base += step_total;
    __syncthreads();
  }
  if (threadIdx.x == 0) *count = base;
}

/// Arguments of float_gemm_tn_kernel: y[m, n] = sum_c x[m, col(c)] * w[n, col(c)] (+ bias[n]) in fp32, where
/// col(c) = cols[c] (gathered) or c, c < (*count or kdim), and w is fp32 (wf) or int8 dequantized as
/// fp::mul(float(wq), wscale[n]). With `count` set and *count == 0 the kernel writes nothing (the consumer
/// reads the same count and ignores y).
struct FloatGemmArgs {
  const float* x = nullptr;
  long long ldx = 0;
  const float* wf = nullptr;
  const std::int8_t* wq = nullptr;
  const float* wscale = nullptr;
  long long ldw = 0;
  const int* cols = nullptr;
  const int* count = nullptr;
  int kdim = 0;
  const float* bias = nullptr;
  float* y = nullptr;
  int m = 0, n = 0;
};

constexpr int kFTile = 64, kFK = 16, kFThreads = 256;

/// 64 x 64 output tile per block, 256 threads of 4 x 4 outputs (rows ty + 16 i, columns tx + 16 j), K step 16
/// staged k-major in shared memory (+1 padding: conflict-light stores, broadcast / consecutive loads).
static __global__ void __launch_bounds__(kFThreads) float_gemm_tn_kernel(FloatGemmArgs a) {
  __shared__ float xs[kFK][kFTile + 1];
  __shared__ float ws[kFK][kFTile + 1];
  const int kd = a.count != nullptr ? *a.count : a.kdim;
  if (a.count != nullptr && kd == 0) return;  // uniform over the grid: no barrier is skipped by part of a block
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const int m0 = blockIdx.y * kFTile, n0 = blockIdx.x * kFTile;
  float acc[4][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;
  for (int c0 = 0; c0 < kd; c0 += kFK) {
    for (int l = 0; l < (kFTile * kFK) / kFThreads; ++l) {
      const int e = static_cast<int>(threadIdx.x) + kFThreads * l;
      const int r = e >> 4, kk = e & 15;
      const int c = c0 + kk;
      float xv = 0.0f, wv = 0.0f;
      if (c < kd) {
        const long long col = a.cols != nullptr ? a.cols[c] : c;
        if (m0 + r < a.m) xv = a.x[static_cast<long long>(m0 + r) * a.ldx + col];
        if (n0 + r < a.n) {
          const long long o = static_cast<long long>(n0 + r) * a.ldw + col;
          wv = a.wq != nullptr ? fp::mul(static_cast<float>(a.wq[o]), a.wscale[n0 + r]) : a.wf[o];
        }
      }
      xs[kk][r] = xv;
      ws[kk][r] = wv;
    }
    __syncthreads();
    for (int kk = 0; kk < kFK; ++kk) {
      float xr[4], wr[4];
      for (int i = 0; i < 4; ++i) xr[i] = xs[kk][ty + 16 * i];
      for (int j = 0; j < 4; ++j) wr[j] = ws[kk][tx + 16 * j];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(xr[i], wr[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i) {
    const int row = m0 + ty + 16 * i;
    if (row >= a.m) continue;
    for (int j = 0; j < 4; ++j) {
      const int col = n0 + tx + 16 * j;
      if (col >= a.n) continue;
      float v = acc[i][j];
      if (a.bias != nullptr) v = fp::add(v, a.bias[col]);
      a.y[static_cast<long long>(row) * a.n + col] = v;
    }
  }
}

/// Launches float_gemm_tn_kernel on `stream` (a.m, a.n > 0; a.m <= 65535 * 64).
inline void launch_float_gemm_tn(const FloatGemmArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((a.n + kFTile - 1) / kFTile), static_cast<unsigned>((a.m + kFTile - 1) / kFTile));
  float_gemm_tn_kernel<<<grid, kFThreads, 0, stream>>>(a);
  SO8T_CUDA_CHECK(cudaGetLastError());
}

/// Largest M one launch handles (grid.y of the 64-row tiles).
constexpr std::int64_t kMaxRows = 65535LL * 64;

// ---------------------------------------------------------------- the layer

/// Per-call options of the CUDA layer.
struct Int8CudaOptions {
  float threshold = ::so8t::gemm::kDefaultOutlierThreshold;  ///< outlier threshold; <= 0 disables the fp path
  Backend backend = Backend::mma;                            ///< int8 GEMM: mma.sync kernel or cuBLASLt
};

/// Scratch of a forward pass (grow-only), shareable by layers that run on the same stream one after another.
/// After forward() has completed (stream synchronised) it holds that call's activation quantization, for
/// inspection: codes [m, k], row scales [m] (= absmax/127), the sorted outlier columns and their count.
class Int8Workspace {
 public:
  Int8Workspace() = default;  // no CUDA call
  Int8Workspace(Int8Workspace&&) noexcept = default;
  Int8Workspace& operator=(Int8Workspace&&) noexcept = default;

  /// Grows the buffers for an [m, k] x [n, k]^T call; the outlier product (m x n fp32) only when
  /// `need_addend`, the int32 accumulators (m x n) only when `need_int32` (cuBLASLt).
  void reserve(std::int64_t m, std::int64_t n, std::int64_t k, bool need_addend, bool need_int32) {
    const std::size_t mm = static_cast<std::size_t>(m), nn = static_cast<std::size_t>(n), kk = static_cast<std::size_t>(k);
    codes_.grow(mm * kk + 16, "LLM.int8 activation codes");
    row_scale_.grow(4 * mm, "LLM.int8 row scales");
    flags_.grow(4 * kk, "LLM.int8 outlier flags");
    cols_.grow(4 * kk, "LLM.int8 outlier columns");
    count_.grow(4, "LLM.int8 outlier count");
    if (need_addend) addend_.grow(4 * mm * nn, "LLM.int8 outlier product");
    if (need_int32) c32_.grow(4 * mm * nn, "LLM.int8 int32 accumulators (cuBLASLt)");
  }
  /// The cuBLASLt backend, created on first use with `options` (later calls return the same one).
  CublasLtInt8& cublaslt(const CublasLtOptions& options = {}) {
    if (!lt_) lt_ = std::make_unique<CublasLtInt8>(options);
    return *lt_;
  }

  const std::int8_t* codes() const { return codes_.as<std::int8_t>(); }
  const float* row_scales() const { return row_scale_.as<float>(); }
  const int* outlier_cols() const { return cols_.as<int>(); }
  const int* outlier_count() const { return count_.as<int>(); }

 private:
  friend class Int8LinearCuda;
  DeviceBuffer<> codes_, row_scale_, flags_, cols_, count_, addend_, c32_;
  std::unique_ptr<CublasLtInt8> lt_;
};

/// The LLM.int8 layer resident on the GPU: int8 codes [N, K], column scales sw[n]/127 and the optional
/// bias, all on the current device. Move-only.
class Int8LinearCuda {
 public:
  Int8LinearCuda() = default;  // empty; no CUDA call
  Int8LinearCuda(Int8LinearCuda&&) noexcept = default;
  Int8LinearCuda& operator=(Int8LinearCuda&&) noexcept = default;

  /// Copies a host layer (its int8 codes, scales and bias) to the device, complete on return (copy_to_device
  /// on `stream`, so kernels on any stream see the weights). `name` appears in errors.
  static Int8LinearCuda upload(const ::so8t::gemm::Int8Linear& l, const std::string& name = "int8 layer",
                               cudaStream_t stream = nullptr) {
    const std::int64_t n = l.out_features(), k = l.in_features();
    check_shape(n, k, name);
    Int8LinearCuda d;
    d.n_ = n;
    d.k_ = k;
    d.name_ = name;
    const std::string shape = " (" + std::to_string(n) + " x " + std::to_string(k) + ")";
    std::vector<float> cs(static_cast<std::size_t>(n));
    for (std::int64_t j = 0; j < n; ++j) cs[static_cast<std::size_t>(j)] = l.weight().scale[static_cast<std::size_t>(j)] / 127.0f;
    d.w_ = DeviceBuffer<>(static_cast<std::size_t>(n * k) + 16, "layer '" + name + "' int8 weights" + shape);
    d.col_scale_ = DeviceBuffer<>(4 * static_cast<std::size_t>(n), "layer '" + name + "' weight scales" + shape);
    copy_to_device(d.w_.as<void>(), l.weight().q.data(), static_cast<std::size_t>(n * k), stream);
    copy_to_device(d.col_scale_.as<void>(), cs.data(), 4 * cs.size(), stream);
    if (!l.bias().empty()) {
      d.bias_ = DeviceBuffer<>(4 * static_cast<std::size_t>(n), "layer '" + name + "' bias" + shape);
      copy_to_device(d.bias_.as<void>(), l.bias().data(), 4 * static_cast<std::size_t>(n), stream);
    }
    return d;
  }

  /// Quantizes W[n, k] (host, row-major) per output row exactly as so8t::gemm::Int8Linear does, then uploads.
  static Int8LinearCuda from_float(const float* w, std::int64_t n, std::int64_t k, const float* bias = nullptr,
                                   const std::string& name = "int8 layer", cudaStream_t stream = nullptr) {
    check_shape(n, k, name);
    return upload(::so8t::gemm::Int8Linear::from_float(w, n, k, bias), name, stream);  // validates w (null, non-finite) first
  }

  bool empty() const { return n_ == 0; }
  std::int64_t in_features() const { return k_; }
  std::int64_t out_features() const { return n_; }
  const std::string& name() const { return name_; }
  /// Device bytes of the resident layer.
  std::uint64_t device_bytes() const { return w_.bytes() + col_scale_.bytes() + bias_.bytes(); }
  const std::int8_t* weight_codes() const { return w_.as<std::int8_t>(); }
  const float* column_scales() const { return col_scale_.as<float>(); }

  /// y[m, n] = layer(x[m, k]); x and y are device pointers, row-major and contiguous. Runs on `stream`
  /// using `ws` as scratch (ws must not be used by another stream meanwhile). Returns the int8 backend that
  /// ran: cuBLASLt when asked, the shape allows it (N % 4 == 0, K % 4 == 0) and its heuristic has an
  /// algorithm, else the mma kernel.
  Backend forward(const float* x, std::int64_t m, float* y, Int8Workspace& ws, const Int8CudaOptions& opt = {},
                        cudaStream_t stream = nullptr) const {
    const std::string fn = "so8t::cuda::gemm::Int8LinearCuda::forward ('" + name_ + "')";
    if (empty()) throw InvalidArgument(fn + ": the layer is empty (use upload or from_float)");
    if (m < 0 || m > kMaxRows)
      throw InvalidArgument(fn + ": m = " + std::to_string(m) + " is outside [0, " + std::to_string(kMaxRows) + "]");
    const int mi = static_cast<int>(m), ni = static_cast<int>(n_), ki = static_cast<int>(k_);
    const bool use_lt = opt.backend == Backend::cublaslt && CublasLtInt8::supports(mi, ni, ki);
    const Backend ran = use_lt ? Backend::cublaslt : Backend::mma;
    if (m == 0) return ran;
    if (x == nullptr || y == nullptr) throw InvalidArgument(fn + ": null pointer");

    const bool outliers = opt.threshold > 0.0f;
    ws.reserve(m, n_, k_, outliers, use_lt);
    quantize_activations(x, mi, ki, opt.threshold, ws.flags_.as<int>(), ws.codes_.as<std::int8_t>(),
                               ws.row_scale_.as<float>(), stream);
    Epilogue ep;
    ep.y = y;
    ep.row_scale = ws.row_scale_.as<float>();
    ep.col_scale = col_scale_.as<float>();
    ep.bias = bias_.as<float>();
    if (outliers) {
      compact_flags_kernel<<<1, 1024, 0, stream>>>(ws.flags_.as<int>(), ki, ws.cols_.as<int>(), ws.count_.as<int>());
      SO8T_CUDA_CHECK(cudaGetLastError());
      FloatGemmArgs a;
      a.x = x;
      a.ldx = k_;
      a.wq = w_.as<std::int8_t>();
      a.wscale = col_scale_.as<float>();
      a.ldw = k_;
      a.cols = ws.cols_.as<int>();
      a.count = ws.count_.as<int>();
      a.kdim = ki;
      a.y = ws.addend_.as<float>();
      a.m = mi;
      a.n = ni;
      launch_float_gemm_tn(a, stream);
      ep.addend = ws.addend_.as<float>();
      ep.addend_count = ws.count_.as<int>();
    }
    // cuBLASLt may have no algorithm for a shape (small M): then the mma kernel runs, and the return says so.
    const bool lt_ran = use_lt && ws.cublaslt().try_gemm(ws.codes_.as<std::int8_t>(), w_.as<std::int8_t>(), mi, ni, ki,
                                                         ws.c32_.as<std::int32_t>(), ep, stream);
    if (!lt_ran) gemm_s8_mma(ws.codes_.as<std::int8_t>(), w_.as<std::int8_t>(), mi, ni, ki, ep, stream);
    return lt_ran ? Backend::cublaslt : Backend::mma;
  }

  /// As above with a workspace owned by the layer.
  Backend forward(const float* x, std::int64_t m, float* y, const Int8CudaOptions& opt = {},
                        cudaStream_t stream = nullptr) {
    if (!own_ws_) own_ws_ = std::make_unique<Int8Workspace>();
    return forward(x, m, y, *own_ws_, opt, stream);
  }

 private:
  static void check_shape(std::int64_t n, std::int64_t k, const std::string& name) {
    // 66000: the mma kernel's limit (127 * 127 * K stays below 2^31).
    if (n <= 0 || k <= 0 || n > INT_MAX || k > 66000)
      throw InvalidArgument("so8t::cuda::gemm::Int8LinearCuda ('" + name + "'): bad weight shape " + std::to_string(n) + " x " +
                            std::to_string(k) + " (need 0 < N < 2^31, 0 < K <= 66000)");
  }

  std::int64_t n_ = 0, k_ = 0;
  std::string name_;
  DeviceBuffer<> w_, col_scale_, bias_;
  std::unique_ptr<Int8Workspace> own_ws_;
};

}  // namespace so8t::cuda::gemm
