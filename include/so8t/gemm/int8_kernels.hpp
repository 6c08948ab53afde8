// so8t/gemm/int8_kernels.hpp: C_i32[M,N] = A_s8[M,K] . B_s8[N,K]^T on the CPU, three ways:
//   - scalar reference (gemm_s8s8_s32_ref): the definition every other path must equal exactly;
//   - AVX2: s8 x s8 with the sign trick, maddubs(|a|, sign(b, a)) -> madd(ones) -> add. Codes are in
//     [-127, 127] (int8_quantize.hpp), so a maddubs pair is at most 2*127*127 = 32258: no saturation;
//   - AVX512-VNNI: vpdpbusd on u8 x s8 with the activations shifted to u8 (a + 128) and the weight
//     column sums subtracted afterwards (128 * sum_k B[n,k]), all in exact int32 arithmetic.
// Both SIMD paths read the same packed weight (PackedInt8): panels of 16 output columns, [K/4][16][4]
// bytes, K padded to a multiple of 4 with zeros. The kernels hand each finished int32 tile to a sink
// (the fused epilogue), so no M x N int32 matrix is written unless the caller asks for one.
// Every int32 sum here is exact as long as K * 127 * 127 < 2^31, i.e. K <= 133,000 (checked).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/gemm/cpu_features.hpp"

#if SO8T_GEMM_X86
#  include <immintrin.h>
#endif

namespace so8t::gemm {

/// Largest K for which the int32 accumulators cannot overflow with codes in [-127, 127] (and the +128
/// shifted VNNI form, 255 * 127 per product).
inline constexpr std::int64_t kMaxInt8K = 66000;

/// Weight packed for the SIMD kernels: panel p holds columns 16p..16p+15 as [k4][16][4] bytes.
struct PackedInt8 {
  std::int64_t n = 0, k = 0, k4 = 0, panels = 0;
  std::vector<std::int8_t> data;   ///< panels * k4 * 64 bytes
  std::vector<std::int32_t> comp;  ///< [panels * 16]: 128 * sum_k B[n,k] (0 for padding columns)
  const std::int8_t* panel(std::int64_t p) const { return data.data() + p * k4 * 64; }
};

inline void check_int8_k(const char* fn, std::int64_t k) {
  if (k < 0 || k > kMaxInt8K)
    throw InvalidArgument(std::string(fn) + ": K = " + std::to_string(k) + " is outside [0, " +
                          std::to_string(kMaxInt8K) + "] (int32 accumulators could overflow)");
}

/// Packs B[n, k] (row stride ldb) for the AVX2 / VNNI kernels.
inline PackedInt8 pack_int8(const std::int8_t* b, std::int64_t n, std::int64_t k, std::int64_t ldb) {
  check_int8_k("so8t::gemm::pack_int8", k);
  if (n < 0 || ldb < k || (n > 0 && k > 0 && b == nullptr))
    throw InvalidArgument("so8t::gemm::pack_int8: bad shape n = " + std::to_string(n) + ", k = " + std::to_string(k) +
                          ", ldb = " + std::to_string(ldb));
  PackedInt8 p;
  p.n = n;
  p.k = k;
  p.k4 = (k + 3) / 4;
  p.panels = (n + 15) / 16;
  p.data.assign(static_cast<std::size_t>(p.panels * p.k4 * 64), 0);
  p.comp.assign(static_cast<std::size_t>(p.panels * 16), 0);
  for (std::int64_t c = 0; c < n; ++c) {
    const std::int64_t pan = c / 16, lane = c % 16;
    std::int8_t* dst = p.data.data() + pan * p.k4 * 64 + lane * 4;
    std::int32_t sum = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int8_t v = b[c * ldb + j];
      dst[(j / 4) * 64 + (j % 4)] = v;
      sum += v;
    }
    p.comp[static_cast<std::size_t>(c)] = 128 * sum;
  }
  return p;
}

/// The scalar reference: C[m, n] = sum_k A[m, k] * B[n, k] in int32.
inline void gemm_s8s8_s32_ref(const std::int8_t* a, std::int64_t lda, const std::int8_t* b, std::int64_t ldb,
                              std::int64_t m, std::int64_t n, std::int64_t k, std::int32_t* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      std::int32_t s = 0;
      for (std::int64_t t = 0; t < k; ++t) s += std::int32_t(a[i * lda + t]) * std::int32_t(b[j * ldb + t]);
      c[i * ldc + j] = s;
    }
}

/// A sink receives finished tiles: sink(m0, rows, n0, cols, tile, ld_tile) with tile[r * ld_tile + c] the
/// exact int32 sum for output (m0 + r, n0 + c).
namespace detail {

constexpr int kTileCols = 32;  // output columns per tile (two panels)

/// Scalar path through the same tiling (so the epilogue sees the same tiles).
template <class Sink>
void run_scalar(const std::int8_t* a, std::int64_t lda, const std::int8_t* b, std::int64_t ldb, std::int64_t m,
                std::int64_t n, std::int64_t k, std::int64_t n_begin, std::int64_t n_end, Sink& sink) {
  std::int32_t tile[kTileCols];
  for (std::int64_t n0 = n_begin; n0 < n_end; n0 += kTileCols) {
    const std::int64_t nc = std::min<std::int64_t>(kTileCols, n_end - n0);
    for (std::int64_t i = 0; i < m; ++i) {
      gemm_s8s8_s32_ref(a + i * lda, lda, b + n0 * ldb, ldb, 1, nc, k, tile, kTileCols);
      sink(i, 1, n0, nc, tile, kTileCols);
    }
  }
  (void)n;
}

#if SO8T_GEMM_X86

// ---------------------------------------------------------------- AVX512-VNNI
template <int MR, int NP>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline void vnni_tile(const std::uint8_t* a, std::int64_t lda,
                                                                              const std::int8_t* b0, std::int64_t pstride,
                                                                              std::int64_t k4, std::int32_t* out) {
  __m512i acc[MR][NP];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_si512();
  for (std::int64_t kk = 0; kk < k4; ++kk) {
    __m512i bv[NP];
    for (int j = 0; j < NP; ++j) bv[j] = _mm512_loadu_si512(static_cast<const void*>(b0 + j * pstride + kk * 64));
    for (int i = 0; i < MR; ++i) {
      std::int32_t a4;
      std::memcpy(&a4, a + i * lda + kk * 4, 4);
      const __m512i av = _mm512_set1_epi32(a4);
      for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, bv[j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NP; ++j) _mm512_storeu_si512(static_cast<void*>(out + i * kTileCols + j * 16), acc[i][j]);
}

template <int NP>
inline void vnni_rows(int mr, const std::uint8_t* a, std::int64_t lda, const std::int8_t* b0, std::int64_t pstride,
                      std::int64_t k4, std::int32_t* out) {
  switch (mr) {
    case 8: return vnni_tile<8, NP>(a, lda, b0, pstride, k4, out);
    case 7: return vnni_tile<7, NP>(a, lda, b0, pstride, k4, out);
    case 6: return vnni_tile<6, NP>(a, lda, b0, pstride, k4, out);
    case 5: return vnni_tile<5, NP>(a, lda, b0, pstride, k4, out);
    case 4: return vnni_tile<4, NP>(a, lda, b0, pstride, k4, out);
    case 3: return vnni_tile<3, NP>(a, lda, b0, pstride, k4, out);
    case 2: return vnni_tile<2, NP>(a, lda, b0, pstride, k4, out);
    default: return vnni_tile<1, NP>(a, lda, b0, pstride, k4, out);
  }
}

/// a_u8: A + 128 as bytes, rows padded to k4 * 4 (padding 128, which meets zero weight bytes).
template <class Sink>
void run_vnni(const std::uint8_t* a_u8, std::int64_t lda, const PackedInt8& p, std::int64_t m, std::int64_t n_begin,
              std::int64_t n_end, Sink& sink) {
  alignas(64) std::int32_t tile[8 * kTileCols];
  const std::int64_t pstride = p.k4 * 64;
  for (std::int64_t n0 = n_begin; n0 < n_end; n0 += kTileCols) {
    const std::int64_t nc = std::min<std::int64_t>(kTileCols, n_end - n0);
    const std::int8_t* b0 = p.panel(n0 / 16);
    const std::int32_t* comp = p.comp.data() + n0;
    for (std::int64_t m0 = 0; m0 < m; m0 += 8) {
      const int mr = static_cast<int>(std::min<std::int64_t>(8, m - m0));
      if (nc > 16) vnni_rows<2>(mr, a_u8 + m0 * lda, lda, b0, pstride, p.k4, tile);
      else vnni_rows<1>(mr, a_u8 + m0 * lda, lda, b0, pstride, p.k4, tile);
      for (int r = 0; r < mr; ++r)
        for (std::int64_t c = 0; c < nc; ++c) tile[r * kTileCols + c] -= comp[c];
      sink(m0, mr, n0, nc, tile, kTileCols);
    }
  }
}

// ---------------------------------------------------------------- AVX2
template <int MR>
__attribute__((target("avx2"))) inline void avx2_tile(const std::int8_t* a, std::int64_t lda, const std::int8_t* b0,
                                                      std::int64_t k4, std::int32_t* out) {
  __m256i acc[MR][2];
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  for (std::int64_t kk = 0; kk < k4; ++kk) {
    const __m256i bl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + kk * 64));
    const __m256i bh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + kk * 64 + 32));
    for (int i = 0; i < MR; ++i) {
      std::int32_t a4;
      std::memcpy(&a4, a + i * lda + kk * 4, 4);
      const __m256i av = _mm256_set1_epi32(a4);
      const __m256i ua = _mm256_abs_epi8(av);
      const __m256i pl = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(bl, av));
      const __m256i ph = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(bh, av));
      acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(pl, ones));
      acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(ph, ones));
    }
  }
  for (int i = 0; i < MR; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i * kTileCols), acc[i][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i * kTileCols + 8), acc[i][1]);
  }
}

/// a: signed A with rows padded to k4 * 4 (padding 0).
template <class Sink>
void run_avx2(const std::int8_t* a, std::int64_t lda, const PackedInt8& p, std::int64_t m, std::int64_t n_begin,
              std::int64_t n_end, Sink& sink) {
  alignas(64) std::int32_t tile[4 * kTileCols];
  for (std::int64_t n0 = n_begin; n0 < n_end; n0 += 16) {
    const std::int64_t nc = std::min<std::int64_t>(16, n_end - n0);
    const std::int8_t* b0 = p.panel(n0 / 16);
    for (std::int64_t m0 = 0; m0 < m; m0 += 4) {
      const int mr = static_cast<int>(std::min<std::int64_t>(4, m - m0));
      const std::int8_t* am = a + m0 * lda;
      switch (mr) {
        case 4: avx2_tile<4>(am, lda, b0, p.k4, tile); break;
        case 3: avx2_tile<3>(am, lda, b0, p.k4, tile); break;
        case 2: avx2_tile<2>(am, lda, b0, p.k4, tile); break;
        default: avx2_tile<1>(am, lda, b0, p.k4, tile); break;
      }
      sink(m0, mr, n0, nc, tile, kTileCols);
    }
  }
}

#endif  // SO8T_GEMM_X86

/// Runs body(n_begin, n_end) over [0, n) split into `threads` chunks aligned to 32 columns.
template <class Body>
void parallel_columns(std::int64_t n, int threads, Body body) {
  const std::int64_t tiles = (n + kTileCols - 1) / kTileCols;
  const std::int64_t t = std::max<std::int64_t>(1, std::min<std::int64_t>(threads, tiles));
  if (t <= 1) return body(std::int64_t(0), n);
  std::vector<std::thread> pool;
  for (std::int64_t i = 1; i < t; ++i) {
    const std::int64_t b = (tiles * i / t) * kTileCols, e = std::min(n, (tiles * (i + 1) / t) * kTileCols);
    pool.emplace_back([&body, b, e] { body(b, e); });
  }
  body(0, std::min(n, (tiles / t) * kTileCols));
  for (auto& th : pool) th.join();
}

}  // namespace detail

/// Int8 GEMM with a fused sink: C tile by tile = A[m, k] (row stride lda) . B^T, B given both row-major
/// (b, ldb: used by the scalar path) and packed (used by the SIMD paths; must describe the same B).
/// `kernel` may be automatic; a kernel the CPU lacks throws InvalidArgument. With threads > 1 the
/// columns are split between threads and the sink must accept concurrent calls for disjoint columns.
template <class Sink>
void gemm_s8s8_tiles(Int8Kernel kernel, const std::int8_t* a, std::int64_t lda, std::int64_t m, const std::int8_t* b,
                     std::int64_t ldb, const PackedInt8& packed, Sink&& sink, int threads = 1) {
  const std::int64_t n = packed.n, k = packed.k;
  check_int8_k("so8t::gemm::gemm_s8s8_tiles", k);
  if (m < 0 || lda < k) throw InvalidArgument("so8t::gemm::gemm_s8s8_tiles: bad m = " + std::to_string(m) +
                                              " or lda = " + std::to_string(lda) + " (k = " + std::to_string(k) + ")");
  if (m == 0 || n == 0) return;
  kernel = resolve_kernel(kernel);
  if (kernel == Int8Kernel::scalar) {
    detail::parallel_columns(n, threads, [&](std::int64_t b0, std::int64_t e0) {
      detail::run_scalar(a, lda, b, ldb, m, n, k, b0, e0, sink);
    });
    return;
  }
#if SO8T_GEMM_X86
  // Repack A with rows padded to a multiple of 4 (u8-shifted for VNNI).
  const std::int64_t kp = packed.k4 * 4;
  if (kernel == Int8Kernel::avx512vnni) {
    std::vector<std::uint8_t> au(static_cast<std::size_t>(m * kp), 128);
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < k; ++j)
        au[static_cast<std::size_t>(i * kp + j)] = static_cast<std::uint8_t>(std::int32_t(a[i * lda + j]) + 128);
    detail::parallel_columns(n, threads, [&](std::int64_t b0, std::int64_t e0) {
      detail::run_vnni(au.data(), kp, packed, m, b0, e0, sink);
    });
  } else {
    std::vector<std::int8_t> ap(static_cast<std::size_t>(m * kp), 0);
    for (std::int64_t i = 0; i < m; ++i) std::memcpy(ap.data() + i * kp, a + i * lda, static_cast<std::size_t>(k));
    detail::parallel_columns(n, threads, [&](std::int64_t b0, std::int64_t e0) {
      detail::run_avx2(ap.data(), kp, packed, m, b0, e0, sink);
    });
  }
#endif
}

/// Plain int32 output: C[m, n] (row stride ldc) = A . B^T with the chosen kernel.
inline void gemm_s8s8_s32(Int8Kernel kernel, const std::int8_t* a, std::int64_t lda, std::int64_t m,
                          const std::int8_t* b, std::int64_t ldb, const PackedInt8& packed, std::int32_t* c,
                          std::int64_t ldc, int threads = 1) {
  if (ldc < packed.n) throw InvalidArgument("so8t::gemm::gemm_s8s8_s32: ldc = " + std::to_string(ldc) + " < n = " +
                                            std::to_string(packed.n));
  gemm_s8s8_tiles(kernel, a, lda, m, b, ldb, packed,
                  [c, ldc](std::int64_t m0, int rows, std::int64_t n0, std::int64_t cols, const std::int32_t* t,
                           std::int64_t ldt) {
                    for (int r = 0; r < rows; ++r)
                      std::memcpy(c + (m0 + r) * ldc + n0, t + r * ldt, static_cast<std::size_t>(cols) * 4);
                  },
                  threads);
}

}  // namespace so8t::gemm
