// so8t/llm/infer/cuda_linear.cuh: so8t::llm::CudaLinear, the linear layers of so8t::llm::LlamaInfer on a CUDA
// device (so8t_infer's default where a GPU is present).
//
// Every weight matrix of the model is made resident once: Q8_0 and Q4_K rows in their ggml layout (qgemm.cuh
// for up to 16 activation rows, i.e. decode; for more rows the matrix is dequantized on the device by the
// quantizers' shared per-block decoders, so8t/quant/quantize.cuh, once, and the fp32 copy kept while
// CudaLinearOptions::keep_free_bytes stay free, else into a scratch buffer per call; then cuBLAS SGEMM),
// every other type dequantized to fp32 on the host at load. Activations are fp32 (no q8 rounding, as
// in InferOptions::quantize_activations = false) and cross in host memory per call; norms, RoPE and attention
// stay on the host. Kernels come from so8t::cuda::gemm and so8t::cuda::quant; cuBLAS statuses are checked with
// SO8T_CUBLAS_CHECK. Include before Eigen (see so8t/offload/executor.cuh).
#pragma once

#if defined(__CUDACC__) && !defined(EIGEN_NO_CUDA)
#  define EIGEN_NO_CUDA 1
#endif

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/base/cublas_check.cuh"
#include "so8t/base/cublas_handle.cuh"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/gemm/qgemm.cuh"
#include "so8t/quant/quantize.cuh"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t::llm {

/// Options of CudaLinear.
struct CudaLinearOptions {
  /// Device memory that must stay free after a dequantized copy is kept (bytes). A Q8_0 / Q4_K matrix used with
  /// more than 16 rows is dequantized once and its fp32 copy kept while this much memory remains free;
  /// beyond that it is dequantized into a shared scratch buffer on every such call.
  std::size_t keep_free_bytes = std::size_t(1) << 30;
};

class CudaLinear final : public LinearBackend {
 public:
  explicit CudaLinear(const LlamaModel& model, const CudaLinearOptions& opt = {}) : opt_(opt) {
    for (const WeightView* w : model.matrices()) {
      Resident r;
      r.type = w->type;
      r.rows = w->rows;
      r.cols = w->cols;
      if (w->type == so8t::quant::Type::q8_0 || w->type == so8t::quant::Type::q4_k) {
        r.w = Buffer(w->bytes, "weight '" + w->name + "'");
        ::so8t::cuda::copy_to_device(r.w.as<void>(), w->data, w->bytes);
      } else {
        std::vector<float> f(std::size_t(w->rows * w->cols));
        so8t::quant::dequantize(w->type, w->data, f.data(), w->rows, w->cols);
        r.type = so8t::quant::Type::f32;
        r.w = Buffer(4 * f.size(), "weight '" + w->name + "' (fp32)");
        ::so8t::cuda::copy_to_device(r.w.as<void>(), f.data(), 4 * f.size());
      }
      resident_.emplace(w->name, std::move(r));
    }
    SO8T_CUBLAS_CHECK(handle_.create());
  }
  CudaLinear(const CudaLinear&) = delete;
  CudaLinear& operator=(const CudaLinear&) = delete;

  void matmul(const WeightView& w, const float* x, std::int64_t m, float* y) override {
    const auto it = resident_.find(w.name);
    if (it == resident_.end()) throw so8t::InvalidArgument("so8t::llm::CudaLinear: no resident weight '" + w.name + "'");
    Resident& r = it->second;
    if (m <= 0) return;
    const std::size_t xb = 4 * std::size_t(m * r.cols), yb = 4 * std::size_t(m * r.rows);
    x_.grow(xb, "activations in");
    y_.grow(yb, "activations out");
    ::so8t::cuda::copy_to_device(x_.as<float>(), x, xb);
    const int n = int(r.rows), k = int(r.cols), mi = int(m);
    if (r.type != so8t::quant::Type::f32 && m <= ::so8t::cuda::gemm::kQgemvMaxRows) {
      ::so8t::cuda::gemm::qgemv(r.type, r.w.as<void>(), n, k, x_.as<float>(), mi, y_.as<float>());
    } else {
      const float one = 1.0f, zero = 0.0f;
      SO8T_CUBLAS_CHECK(cublasSgemm(handle_.get(), CUBLAS_OP_T, CUBLAS_OP_N, n, mi, k, &one, fp32_weights(w.name, r), k,
                                    x_.as<float>(), k, &zero, y_.as<float>(), n));
    }
    SO8T_CUDA_CHECK(cudaMemcpy(y, y_.as<float>(), yb, cudaMemcpyDeviceToHost));
  }

  /// Device bytes of the fp32 copies kept for prompt (m > 16) products, and how many matrices have one.
  std::size_t dequantized_bytes() const { return dequantized_bytes_; }
  std::size_t dequantized_matrices() const { return dequantized_count_; }
  /// Calls with m > 16 that had to dequantize into the scratch buffer (no room to keep a copy).
  std::size_t scratch_dequantizations() const { return scratch_dequantizations_; }

 private:
  using Buffer = ::so8t::cuda::DeviceBuffer<>;  ///< raw device bytes
  struct Resident {
    so8t::quant::Type type = so8t::quant::Type::f32;
    std::int64_t rows = 0, cols = 0;
    Buffer w;
    Buffer dequantized;  ///< fp32 copy of a quantized w, made on its first m > 16 call when memory allows
  };

  /// The fp32 weights for SGEMM: w itself, its kept dequantized copy (made now if there is room), or the
  /// scratch buffer dequantized for this call.
  const float* fp32_weights(const std::string& name, Resident& r) {
    if (r.type == so8t::quant::Type::f32) return r.w.as<float>();
    if (!r.dequantized.empty()) return r.dequantized.as<float>();
    const std::size_t bytes = 4 * std::size_t(r.rows * r.cols);
    std::size_t free_b = 0, total_b = 0;
    SO8T_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    Buffer* dst = &scratch_;
    if (free_b > bytes && free_b - bytes >= opt_.keep_free_bytes) {
      r.dequantized = Buffer(bytes, "weight '" + name + "' dequantized to fp32 for prompt products");
      dst = &r.dequantized;
      dequantized_bytes_ += bytes;
      ++dequantized_count_;
    } else {
      scratch_.grow(bytes, "dequantization scratch");
      ++scratch_dequantizations_;
    }
    ::so8t::cuda::quant::dequantize(r.type, r.w.as<void>(), dst->as<float>(), r.rows, r.cols);
    return dst->as<float>();
  }

  CudaLinearOptions opt_;
  ::so8t::cuda::CublasHandle handle_;
  std::map<std::string, Resident> resident_;
  Buffer scratch_, x_, y_;
  std::size_t dequantized_bytes_ = 0, dequantized_count_ = 0, scratch_dequantizations_ = 0;
};

}  // namespace so8t::llm
