// so8t/gemm/fp32_gemm.hpp: the floating-point path, Y[M,N] = X[M,K] . W[N,K]^T (+ bias), through Eigen.
//
// Used for skip modules, CPU-offloaded layers and the dequantize-then-GEMM hand-over of the quantized
// weight matmul. All matrices row-major and contiguous (torch layout).
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <string>

#include "so8t/base/errors.hpp"

namespace so8t::gemm {

/// Y = X . W^T (+ bias[n] when bias is non-null). Y must not alias X or W.
inline void gemm_f32(const float* x, std::int64_t m, std::int64_t k, const float* w, std::int64_t n, float* y,
                     const float* bias = nullptr) {
  if (m < 0 || n < 0 || k < 0)
    throw InvalidArgument("so8t::gemm::gemm_f32: negative shape m = " + std::to_string(m) + ", n = " +
                          std::to_string(n) + ", k = " + std::to_string(k));
  if (m == 0 || n == 0) return;
  if (y == nullptr || (k > 0 && (x == nullptr || w == nullptr))) throw InvalidArgument("so8t::gemm::gemm_f32: null pointer");
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMat> X(x, m, k), W(w, n, k);
  Eigen::Map<RowMat> Y(y, m, n);
  if (k == 0) Y.setZero();
  else if (m == 1) Y.row(0).noalias() = (W * X.row(0).transpose()).transpose();
  else Y.noalias() = X * W.transpose();
  if (bias != nullptr) Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, n);
}

}  // namespace so8t::gemm
