// infer_cuda.cu: the CUDA side of so8t_infer (infer_backend.hpp).
//
// CudaLinear keeps every weight matrix on the device: Q8_0 and Q4_K rows in their ggml layout (the qgemv
// kernels for up to 16 activation rows; for more rows the matrix is dequantized on the device into a scratch
// buffer by the shared per-block decoders and multiplied with cuBLAS SGEMM), every other type dequantized to
// fp32 once at load. Norms, RoPE and attention stay on the host (LlamaInfer); activations cross per call.
// The CUDA kernel headers come first: they keep Eigen in host-only mode for this translation unit.
#include "so8t/kernels/cuda_check.cuh"
#include "so8t/kernels/offload_cuda.cuh"
#include "so8t/kernels/qgemv.cuh"
#include "so8t/kernels/quant_kernels.cuh"

#include <cublas_v2.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "infer_backend.hpp"
#include "so8t/quant/quantize.hpp"

namespace so8t_infer {
namespace {

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw so8t::CudaError(static_cast<int>(s), std::string("so8t_infer: cuBLAS call failed: ") + what + " (status " +
                                                   std::to_string(static_cast<int>(s)) + ")");
}

class CudaLinear final : public so8t::model::LinearBackend {
 public:
  explicit CudaLinear(const so8t::model::LlamaModel& model) {
    check_cublas(cublasCreate(&handle_), "cublasCreate");
    std::size_t max_elems = 0;
    for (const so8t::model::WeightView* w : model.matrices()) {
      Resident r;
      r.type = w->type;
      r.rows = w->rows;
      r.cols = w->cols;
      if (w->type == so8t::quant::Type::q8_0 || w->type == so8t::quant::Type::q4_k) {
        r.w = so8t::cuda::DeviceMem(w->bytes, "weight '" + w->name + "'");
        SO8T_CUDA_CHECK(cudaMemcpy(r.w.as<void>(), w->data, w->bytes, cudaMemcpyHostToDevice));
        max_elems = std::max<std::size_t>(max_elems, std::size_t(w->rows * w->cols));
      } else {
        std::vector<float> f(std::size_t(w->rows * w->cols));
        so8t::quant::dequantize(w->type, w->data, f.data(), w->rows, w->cols);
        r.type = so8t::quant::Type::f32;
        r.w = so8t::cuda::DeviceMem(4 * f.size(), "weight '" + w->name + "' (fp32)");
        SO8T_CUDA_CHECK(cudaMemcpy(r.w.as<void>(), f.data(), 4 * f.size(), cudaMemcpyHostToDevice));
      }
      resident_.emplace(w->name, std::move(r));
    }
    if (max_elems > 0) scratch_ = so8t::cuda::DeviceMem(4 * max_elems, "dequantization scratch");
  }
  ~CudaLinear() override {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }
  CudaLinear(const CudaLinear&) = delete;
  CudaLinear& operator=(const CudaLinear&) = delete;

  void matmul(const so8t::model::WeightView& w, const float* x, std::int64_t m, float* y) override {
    const auto it = resident_.find(w.name);
    if (it == resident_.end()) throw so8t::InvalidArgument("so8t_infer: no resident weight '" + w.name + "'");
    Resident& r = it->second;
    if (m <= 0) return;
    const std::size_t xb = 4 * std::size_t(m * r.cols), yb = 4 * std::size_t(m * r.rows);
    if (x_.bytes() < xb) x_ = so8t::cuda::DeviceMem(xb, "activations in");
    if (y_.bytes() < yb) y_ = so8t::cuda::DeviceMem(yb, "activations out");
    SO8T_CUDA_CHECK(cudaMemcpy(x_.as<float>(), x, xb, cudaMemcpyHostToDevice));
    const int n = int(r.rows), k = int(r.cols), mi = int(m);
    if (r.type != so8t::quant::Type::f32 && m <= so8t::cuda::qgemv::kMaxRows) {
      so8t::cuda::qgemv::qgemv(r.type, r.w.as<void>(), n, k, x_.as<float>(), mi, y_.as<float>());
    } else {
      const float* wf = r.w.as<float>();
      if (r.type != so8t::quant::Type::f32) {
        so8t::cuda::quant::dequantize(r.type, r.w.as<void>(), scratch_.as<float>(), r.rows, r.cols);
        wf = scratch_.as<float>();
      }
      const float one = 1.0f, zero = 0.0f;
      check_cublas(cublasSgemm(handle_, CUBLAS_OP_T, CUBLAS_OP_N, n, mi, k, &one, wf, k, x_.as<float>(), k, &zero,
                               y_.as<float>(), n),
                   "cublasSgemm");
    }
    SO8T_CUDA_CHECK(cudaMemcpy(y, y_.as<float>(), yb, cudaMemcpyDeviceToHost));
  }

 private:
  struct Resident {
    so8t::quant::Type type = so8t::quant::Type::f32;
    std::int64_t rows = 0, cols = 0;
    so8t::cuda::DeviceMem w;
  };
  cublasHandle_t handle_ = nullptr;
  std::map<std::string, Resident> resident_;
  so8t::cuda::DeviceMem scratch_, x_, y_;
};

}  // namespace

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

std::unique_ptr<so8t::model::LinearBackend> make_cuda_linear(const so8t::model::LlamaModel& model) {
  return std::make_unique<CudaLinear>(model);
}

std::unique_ptr<so8t::offload::GpuBackend> make_cuda_int8() { return std::make_unique<so8t::cuda::CudaOffloadBackend>(); }

}  // namespace so8t_infer
