// so8t/llm/infer/cuda_linear.cuh: so8t::llm::CudaLinear, the linear layers of so8t::llm::LlamaInfer on a CUDA
// device (so8t_infer's default where a GPU is present).
//
// Every weight matrix of the model is made resident once: Q8_0 and Q4_K rows in their ggml layout (qgemm.cuh
// for up to 16 activation rows, i.e. decode; for more rows the matrix is dequantized on the device into a
// scratch buffer by the quantizers' shared per-block decoders, so8t/quant/quantize.cuh, and multiplied with cuBLAS
// SGEMM), every other type dequantized to fp32 on the host at load. Activations are fp32 (no q8 rounding, as
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
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/gemm/qgemm.cuh"
#include "so8t/quant/quantize.cuh"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/llm/infer/llama_infer.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t::llm {

class CudaLinear final : public LinearBackend {
 public:
  explicit CudaLinear(const LlamaModel& model) {
    std::size_t max_elems = 0;
    for (const WeightView* w : model.matrices()) {
      Resident r;
      r.type = w->type;
      r.rows = w->rows;
      r.cols = w->cols;
      if (w->type == so8t::quant::Type::q8_0 || w->type == so8t::quant::Type::q4_k) {
        r.w = Buffer(w->bytes, "weight '" + w->name + "'");
        SO8T_CUDA_CHECK(cudaMemcpy(r.w.as<void>(), w->data, w->bytes, cudaMemcpyHostToDevice));
        max_elems = std::max<std::size_t>(max_elems, std::size_t(w->rows * w->cols));
      } else {
        std::vector<float> f(std::size_t(w->rows * w->cols));
        so8t::quant::dequantize(w->type, w->data, f.data(), w->rows, w->cols);
        r.type = so8t::quant::Type::f32;
        r.w = Buffer(4 * f.size(), "weight '" + w->name + "' (fp32)");
        SO8T_CUDA_CHECK(cudaMemcpy(r.w.as<void>(), f.data(), 4 * f.size(), cudaMemcpyHostToDevice));
      }
      resident_.emplace(w->name, std::move(r));
    }
    if (max_elems > 0) scratch_ = Buffer(4 * max_elems, "dequantization scratch");
    SO8T_CUBLAS_CHECK(cublasCreate(&handle_));  // last: nothing after it can throw
  }
  ~CudaLinear() override {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }
  CudaLinear(const CudaLinear&) = delete;
  CudaLinear& operator=(const CudaLinear&) = delete;

  void matmul(const WeightView& w, const float* x, std::int64_t m, float* y) override {
    const auto it = resident_.find(w.name);
    if (it == resident_.end()) throw so8t::InvalidArgument("so8t::llm::CudaLinear: no resident weight '" + w.name + "'");
    Resident& r = it->second;
    if (m <= 0) return;
    const std::size_t xb = 4 * std::size_t(m * r.cols), yb = 4 * std::size_t(m * r.rows);
    if (x_.bytes() < xb) x_ = Buffer(xb, "activations in");
    if (y_.bytes() < yb) y_ = Buffer(yb, "activations out");
    SO8T_CUDA_CHECK(cudaMemcpy(x_.as<float>(), x, xb, cudaMemcpyHostToDevice));
    const int n = int(r.rows), k = int(r.cols), mi = int(m);
    if (r.type != so8t::quant::Type::f32 && m <= ::so8t::cuda::gemm::kQgemvMaxRows) {
      ::so8t::cuda::gemm::qgemv(r.type, r.w.as<void>(), n, k, x_.as<float>(), mi, y_.as<float>());
    } else {
      const float* wf = r.w.as<float>();
      if (r.type != so8t::quant::Type::f32) {
        ::so8t::cuda::quant::dequantize(r.type, r.w.as<void>(), scratch_.as<float>(), r.rows, r.cols);
        wf = scratch_.as<float>();
      }
      const float one = 1.0f, zero = 0.0f;
      SO8T_CUBLAS_CHECK(cublasSgemm(handle_, CUBLAS_OP_T, CUBLAS_OP_N, n, mi, k, &one, wf, k, x_.as<float>(), k, &zero,
                                    y_.as<float>(), n));
    }
    SO8T_CUDA_CHECK(cudaMemcpy(y, y_.as<float>(), yb, cudaMemcpyDeviceToHost));
  }

 private:
  using Buffer = ::so8t::cuda::DeviceBuffer<>;  ///< raw device bytes
  struct Resident {
    so8t::quant::Type type = so8t::quant::Type::f32;
    std::int64_t rows = 0, cols = 0;
    Buffer w;
  };
  cublasHandle_t handle_ = nullptr;
  std::map<std::string, Resident> resident_;
  Buffer scratch_, x_, y_;
};

}  // namespace so8t::llm
