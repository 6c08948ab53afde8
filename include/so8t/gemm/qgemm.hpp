// so8t/gemm/qgemm.hpp: Y[M,N] = X[M,K] . W[N,K]^T with W stored as GGUF Q8_0 or Q4_K rows (ggml layout:
// row n is row_bytes(t, K) bytes) and X in fp32 (or fp16, widened exactly).
//
// Decode (M <= crossover_m): each weight row is dequantized on the fly into a K-float buffer with the
// quantizers' own row decoders (so8t/quant/quantize.hpp: dequantize_row_q8_0 / dequantize_row_q4_k,
// no second copy of the block decoding) and dotted with the M activation rows while it is hot in L1,
// so the weights are read once from memory at ~1 or ~0.56 bytes per value. Prefill (M > crossover_m):
// the weight is dequantized once and handed to the fp32 GEMM (Eigen), which is faster once the GEMM is
// compute-bound. kQgemmCrossoverM = 64 comes from benchmarks/gemm (BM_qgemm, N = K = 4096, this project's
// 2-vCPU Zen 4): on the fly ~6 + 1.6 M ms, dequantize + GEMM ~75 + 0.55 M ms, so they cross near M = 64.
// The dot products use AVX2+FMA when the CPU has them (__attribute__((target)), no -march needed; the probe
// is so8t/base/cpu_features.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gemm/cpu_features.hpp"
#include "so8t/gemm/fp32_gemm.hpp"
#include "so8t/base/half.hpp"
#include "so8t/quant/quantize.hpp"

#if SO8T_GEMM_X86
#  include <immintrin.h>
#endif

namespace so8t::gemm {

/// Above this many activation rows, qgemm dequantizes W once and calls the fp32 GEMM.
inline constexpr std::int64_t kQgemmCrossoverM = 64;

struct QgemmOptions {
  std::int64_t crossover_m = kQgemmCrossoverM;  ///< M above which dequantize-then-GEMM is used
  bool allow_simd = true;                       ///< false: portable dot loop only (tests)
};

namespace detail {

inline float dot_f32_portable(const float* a, const float* b, std::int64_t k) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= k; i += 8)
    for (int j = 0; j < 8; ++j) s[j] = fp::madd(s[j], a[i + j], b[i + j]);
  for (const float *pa = a + i, *pb = b + i, *end = a + k; pa != end; ++pa, ++pb) s[0] = fp::madd(s[0], *pa, *pb);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#if SO8T_GEMM_X86
/// y[r] = <w, x_r> for `rows` activation rows (up to 4 at a time share each weight load).
__attribute__((target("avx2,fma"))) inline void dot_rows_avx2(const float* w, const float* x, std::int64_t ldx,
                                                              std::int64_t rows, std::int64_t k, float* y,
                                                              std::int64_t ldy) {
  std::int64_t r = 0;
  for (; r < rows; r += 4) {
    const int nr = static_cast<int>(rows - r < 4 ? rows - r : 4);
    __m256 acc[4][2];
    for (int i = 0; i < 4; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    std::int64_t t = 0;
    for (; t + 16 <= k; t += 16) {
      const __m256 w0 = _mm256_loadu_ps(w + t), w1 = _mm256_loadu_ps(w + t + 8);
      for (int i = 0; i < nr; ++i) {
        const float* xr = x + (r + i) * ldx + t;
        acc[i][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr), acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xr + 8), acc[i][1]);
      }
    }
    for (int i = 0; i < nr; ++i) {
      alignas(32) float tmp[8];
      _mm256_store_ps(tmp, _mm256_add_ps(acc[i][0], acc[i][1]));
      float s = ((tmp[0] + tmp[1]) + (tmp[2] + tmp[3])) + ((tmp[4] + tmp[5]) + (tmp[6] + tmp[7]));
      const float* xr = x + (r + i) * ldx;
      for (const float *pw = w + t, *px = xr + t, *end = w + k; pw != end; ++pw, ++px) s = fp::madd(s, *pw, *px);
      y[(r + i) * ldy] = s;
    }
  }
}
#endif

inline void dequant_row(quant::Type t, const void* row, float* out, std::int64_t k) {
  if (t == quant::Type::q8_0) quant::dequantize_row_q8_0(static_cast<const quant::BlockQ8_0*>(row), out, k / 32);
  else quant::dequantize_row_q4_k(static_cast<const quant::BlockQ4K*>(row), out, k / 256);
}

inline void check_qgemm(quant::Type t, const void* w, std::int64_t n, std::int64_t k, const void* x, std::int64_t m,
                        const float* y) {
  if (t != quant::Type::q8_0 && t != quant::Type::q4_k)
    throw InvalidArgument(std::string("so8t::gemm::qgemm: weight type ") + quant::type_name(t) +
                          " is not supported (q8_0 and q4_K are)");
  if (m < 0 || n < 0) throw InvalidArgument("so8t::gemm::qgemm: negative shape m = " + std::to_string(m) + ", n = " + std::to_string(n));
  (void)quant::row_bytes(t, k);  // throws for k not a multiple of the block size
  if (m * n > 0 && k > 0 && (w == nullptr || x == nullptr || y == nullptr))
    throw InvalidArgument("so8t::gemm::qgemm: null pointer");
}

}  // namespace detail

/// Y[m, n] = X[m, k] . dequant(W)^T for W of type q8_0 or q4_K (n rows of row_bytes(t, k) bytes).
inline void qgemm(quant::Type t, const void* w, std::int64_t n, std::int64_t k, const float* x, std::int64_t m,
                  float* y, const QgemmOptions& opt = {}) {
  detail::check_qgemm(t, w, n, k, x, m, y);
  if (m == 0 || n == 0) return;
  const std::size_t rb = quant::row_bytes(t, k);
  const auto* wb = static_cast<const unsigned char*>(w);
  if (m > opt.crossover_m) {
    std::vector<float> wf(static_cast<std::size_t>(n * k));
    quant::dequantize(t, w, wf.data(), n, k);
    gemm_f32(x, m, k, wf.data(), n, y);
    return;
  }
#if SO8T_GEMM_X86
  const bool simd = opt.allow_simd && cpu::has_avx2_fma();
#else
  const bool simd = false;
#endif
  std::vector<float> row(static_cast<std::size_t>(k));
  const bool aligned = reinterpret_cast<std::uintptr_t>(w) % 2 == 0 && rb % 2 == 0;
  for (std::int64_t j = 0; j < n; ++j) {
    if (aligned) detail::dequant_row(t, wb + static_cast<std::size_t>(j) * rb, row.data(), k);
    else quant::dequantize(t, wb + static_cast<std::size_t>(j) * rb, row.data(), 1, k);
#if SO8T_GEMM_X86
    if (simd) {
      detail::dot_rows_avx2(row.data(), x, k, m, k, y + j, n);
      continue;
    }
#endif
    for (std::int64_t i = 0; i < m; ++i) y[i * n + j] = detail::dot_f32_portable(row.data(), x + i * k, k);
  }
  (void)simd;
}

/// fp16 activations (widened exactly to fp32).
inline void qgemm(quant::Type t, const void* w, std::int64_t n, std::int64_t k, const half_t* x, std::int64_t m,
                  float* y, const QgemmOptions& opt = {}) {
  detail::check_qgemm(t, w, n, k, x, m, y);
  std::vector<float> xf(static_cast<std::size_t>(m * k));
  for (std::size_t i = 0; i < xf.size(); ++i) xf[i] = x[i].to_float();
  qgemm(t, w, n, k, xf.data(), m, y, opt);
}

}  // namespace so8t::gemm
