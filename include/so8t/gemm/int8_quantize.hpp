// so8t/gemm/int8_quantize.hpp: LLM.int8 quantization of weights (per output row) and activations (per
// token row, outlier columns excluded), after docs/int8-gemm-and-offload.md §1.1.
//
// Weights W[N,K]: sw[n] = max_k |W[n,k]|, q[n,k] = round_half_even(W[n,k] * (127 / sw[n])), in [-127, 127].
// Activations X[M,K] with threshold t > 0: column k is an outlier column when any |X[m,k]| >= t. Those
// columns are left out of the int8 product (their codes are 0) and go through the float path. For each
// row, sx[m] = max |X[m,k]| over the non-outlier columns, and q[m,k] = round_half_even(X[m,k] * (127 /
// sx[m])). Unlike bitsandbytes, which leaves out only the outlier *elements* when taking the absmax, so8t
// leaves out whole outlier columns (their codes are zeroed anyway), which can only give a finer scale.
// A row whose absmax is 0 (all zero, or all outliers) gets sx = 0 and codes 0: its int8 part is 0, never
// NaN. -128 is never produced, which keeps the AVX2 maddubs pairs from saturating. t <= 0 disables the
// outlier path. Non-finite values are rejected with InvalidArgument naming the row and column.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"

namespace so8t::gemm {

/// Default LLM.int8 outlier threshold (transformers' llm_int8_threshold).
inline constexpr float kDefaultOutlierThreshold = 6.0f;

namespace detail {

inline void check_shape(const char* fn, std::int64_t rows, std::int64_t cols, std::int64_t ld, const void* p) {
  if (rows < 0 || cols < 0)
    throw InvalidArgument(std::string(fn) + ": negative shape " + std::to_string(rows) + " x " + std::to_string(cols));
  if (ld < cols)
    throw InvalidArgument(std::string(fn) + ": leading dimension " + std::to_string(ld) + " < columns " +
                          std::to_string(cols));
  if (rows > 0 && cols > 0 && p == nullptr) throw InvalidArgument(std::string(fn) + ": null pointer");
}

/// round-half-even(v) for |v| <= 127.5 (the only range used here), clamped to [-127, 127].
inline std::int8_t round_to_s8(float v) {
  float r = std::nearbyint(v);  // default rounding mode: to nearest, ties to even
  if (r > 127.0f) r = 127.0f;
  if (r < -127.0f) r = -127.0f;
  return static_cast<std::int8_t>(r);
}

/// Symmetric absmax int8 of one row of k values: returns absmax (0 for an all-zero row, q left as is) and
/// sets q[j] = round(127 * x_j / absmax). Columns with skip[j] set (outliers; skip may be null) are left
/// out of absmax and get q[j] = 0. on_non_finite(j) is called for a non-finite value and must throw.
template <class OnNonFinite>
float quantize_row_absmax(const float* row, std::int64_t k, const unsigned char* skip, std::int8_t* q,
                          OnNonFinite&& on_non_finite) {
  float amax = 0.0f;
  for (std::int64_t j = 0; j < k; ++j) {
    if (skip != nullptr && skip[j]) continue;
    if (!std::isfinite(row[j])) on_non_finite(j);
    const float a = std::fabs(row[j]);
    amax = a > amax ? a : amax;
  }
  if (amax == 0.0f) return amax;
  const float inv = 127.0f / amax;
  for (std::int64_t j = 0; j < k; ++j)
    q[j] = skip != nullptr && skip[j] ? std::int8_t(0) : round_to_s8(fp::mul(row[j], inv));
  return amax;
}

}  // namespace detail

/// Int8 weight with one fp32 absmax per output row (vector-wise): W ~= q[n,k] * scale[n] / 127.
struct Int8Weight {
  std::int64_t n = 0, k = 0;
  std::vector<std::int8_t> q;   ///< [n, k] row-major
  std::vector<float> scale;     ///< [n]: absmax of row n (0 for an all-zero row)
};

/// Quantizes W[n, k] (row stride ldw) per output row.
inline Int8Weight quantize_weight_int8(const float* w, std::int64_t n, std::int64_t k, std::int64_t ldw) {
  detail::check_shape("so8t::gemm::quantize_weight_int8", n, k, ldw, w);
  Int8Weight r;
  r.n = n;
  r.k = k;
  r.q.assign(static_cast<std::size_t>(n * k), 0);
  r.scale.assign(static_cast<std::size_t>(n), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = w + i * ldw;
    r.scale[static_cast<std::size_t>(i)] =
        detail::quantize_row_absmax(row, k, nullptr, r.q.data() + i * k, [&](std::int64_t j) {
          throw InvalidArgument("so8t::gemm::quantize_weight_int8: W[" + std::to_string(i) + "][" +
                                std::to_string(j) + "] = " + std::to_string(row[j]) + " is not finite");
        });
  }
  return r;
}

/// Sorted indices of the columns of X[m, k] holding any |x| >= threshold; none when threshold <= 0.
/// Throws InvalidArgument on NaN (a NaN can be neither quantized nor classified).
inline std::vector<std::int32_t> find_outlier_columns(const float* x, std::int64_t m, std::int64_t k, std::int64_t ldx,
                                                      float threshold) {
  detail::check_shape("so8t::gemm::find_outlier_columns", m, k, ldx, x);
  std::vector<std::int32_t> cols;
  if (!(threshold > 0.0f)) return cols;
  std::vector<unsigned char> is_out(static_cast<std::size_t>(k), 0);
  for (std::int64_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    for (std::int64_t j = 0; j < k; ++j) {
      if (std::isnan(row[j]))
        throw InvalidArgument("so8t::gemm::find_outlier_columns: X[" + std::to_string(i) + "][" + std::to_string(j) +
                              "] is NaN");
      if (std::fabs(row[j]) >= threshold) is_out[static_cast<std::size_t>(j)] = 1;
    }
  }
  for (std::int64_t j = 0; j < k; ++j)
    if (is_out[static_cast<std::size_t>(j)]) cols.push_back(static_cast<std::int32_t>(j));
  return cols;
}

/// Row-quantized activations: X ~= q[m,k] * absmax[m] / 127 on the non-outlier columns.
struct Int8Activations {
  std::int64_t m = 0, k = 0;
  std::vector<std::int8_t> q;              ///< [m, k] row-major; outlier columns are 0
  std::vector<float> absmax;               ///< [m]
  std::vector<std::int32_t> outlier_cols;  ///< sorted
};

/// Quantizes X[m, k] (row stride ldx) per row with outlier columns (threshold, see top) excluded.
inline Int8Activations quantize_activations_int8(const float* x, std::int64_t m, std::int64_t k, std::int64_t ldx,
                                                 float threshold = kDefaultOutlierThreshold) {
  Int8Activations r;
  r.m = m;
  r.k = k;
  r.outlier_cols = find_outlier_columns(x, m, k, ldx, threshold);
  std::vector<unsigned char> is_out(static_cast<std::size_t>(k), 0);
  for (std::int32_t c : r.outlier_cols) is_out[static_cast<std::size_t>(c)] = 1;
  r.q.assign(static_cast<std::size_t>(m * k), 0);
  r.absmax.assign(static_cast<std::size_t>(m), 0.0f);
  for (std::int64_t i = 0; i < m; ++i) {
    const float* row = x + i * ldx;
    r.absmax[static_cast<std::size_t>(i)] =
        detail::quantize_row_absmax(row, k, is_out.data(), r.q.data() + i * k, [&](std::int64_t j) {
          throw InvalidArgument("so8t::gemm::quantize_activations_int8: X[" + std::to_string(i) + "][" +
                                std::to_string(j) + "] = " + std::to_string(row[j]) +
                                " is not finite (and not an outlier: threshold " + std::to_string(threshold) + ")");
        });
  }
  return r;
}

}  // namespace so8t::gemm
