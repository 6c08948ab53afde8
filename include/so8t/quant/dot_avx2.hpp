// so8t/quant/dot_avx2.hpp: AVX2 versions of the quantized dot products (so8t/quant/dot.hpp) and of the
// Q8_K activation quantizer, as CPU inference runs them (examples/llm's CpuLinear).
//
// Compiled with __attribute__((target("avx2,fma,f16c"))), so no -march flag is needed; call them only when
// has_avx2_dots() (so8t/base/cpu_features.hpp's probe) is true, or through vec_dot_best(), which checks
// nothing but falls back to the scalar vec_dot where there is no AVX2 kernel.
// The integer products are summed exactly in int32 per (sub-)block, as in the scalar dots; only the order of
// the float block scaling differs (and it may be fused), so the results agree with vec_dot to float
// rounding, not bit for bit (tests/quant/test_quant_dot.cpp). quantize_row_q8_k_avx2 gives
// quantize_row_q8_k_ref's bytes exactly.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "so8t/base/cpu_features.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/dot.hpp"
#include "so8t/quant/type.hpp"

#if SO8T_CPU_X86
#  include <immintrin.h>
#endif

namespace so8t::quant {

#if SO8T_CPU_X86
namespace avx2 {

/// fp16 bits -> float with the F16C instruction (exact, like detail::from_fp16).
__attribute__((target("avx2,fma,f16c"))) inline float h2f(std::uint16_t h) { return _cvtsh_ss(h); }

__attribute__((target("avx2,fma,f16c"))) inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
__attribute__((target("avx2,fma,f16c"))) inline std::int32_t hsum256_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}
/// 16 int16 sums of adjacent u8 x s8 products (u < 128 here, so no saturation).
__attribute__((target("avx2,fma,f16c"))) inline __m256i mul_u8_s8(__m256i u, __m256i s) { return _mm256_maddubs_epi16(u, s); }

/// Q8_0 x Q8_0: per block the exact int32 sum, scaled by d_w * d_a (float order differs from the scalar).
__attribute__((target("avx2,fma,f16c"))) inline __m256 block_dot(const BlockQ8_0& w, const BlockQ8_0& a, __m256 acc) {
  const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs));
  const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
  // |w| * (a * sign(w)): u8 x s8 (q8_0 levels are in [-127, 127]).
  const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw));
  const __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  return _mm256_fmadd_ps(_mm256_set1_ps(h2f(w.d) * h2f(a.d)), s, acc);
}
/// Q4_0 x Q8_0: levels (q - 8).
__attribute__((target("avx2,fma,f16c"))) inline __m256 block_dot(const BlockQ4_0& w, const BlockQ8_0& a, __m256 acc) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs));
  const __m256i qq = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);  // bytes 0..15 low nibbles, 16..31 high
  const __m256i qw = _mm256_sub_epi8(_mm256_and_si256(qq, _mm256_set1_epi8(0x0F)), _mm256_set1_epi8(8));
  const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
  const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw));
  const __m256 s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  return _mm256_fmadd_ps(_mm256_set1_ps(h2f(w.d) * h2f(a.d)), s, acc);
}

/// The 4-bit levels of a 32-value block (Q4_0 / Q4_1 / Q5_x low nibbles): bytes 0..15 the low nibbles of
/// qs[0..15], bytes 16..31 the high ones, as the value order of the block.
__attribute__((target("avx2,fma,f16c"))) inline __m256i nibbles(const std::uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
}
/// Byte j = 0x10 where bit j of a Q5_x block's qh is set, else 0 (the fifth bit of value j).
__attribute__((target("avx2,fma,f16c"))) inline __m256i fifth_bits(const std::uint8_t* qh4) {
  std::uint32_t qh;
  std::memcpy(&qh, qh4, 4);  // little-endian, as detail::load_qh
  // Byte j takes qh's byte j / 8 and keeps bit j % 8.
  const __m256i pick = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  const __m256i b = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), pick), bit);
  return _mm256_and_si256(_mm256_cmpeq_epi8(b, bit), _mm256_set1_epi8(0x10));
}
/// Eight int32 partial sums of <qw, qa> for signed levels qw (|qw| <= 127).
__attribute__((target("avx2,fma,f16c"))) inline __m256i signed_dot(__m256i qw, __m256i qa) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw)),
                           _mm256_set1_epi16(1));
}
/// Eight int32 partial sums of <u, qa> for unsigned levels u < 128.
__attribute__((target("avx2,fma,f16c"))) inline __m256i unsigned_dot(__m256i u, __m256i qa) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, qa), _mm256_set1_epi16(1));
}
/// Affine blocks (Q4_1 / Q5_1: value = d * u + m): d_w d_a <u, qa> + m_w d_a sum(qa), the integer sums exact.
__attribute__((target("avx2,fma,f16c"))) inline __m256 affine_block_dot(__m256i u, std::uint16_t d, std::uint16_t m,
                                                                       const BlockQ8_0& a, __m256 acc) {
  const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
  const float da = h2f(a.d);
  acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(d) * da), _mm256_cvtepi32_ps(unsigned_dot(u, qa)), acc);
  return _mm256_fmadd_ps(_mm256_set1_ps(h2f(m) * da), _mm256_cvtepi32_ps(unsigned_dot(_mm256_set1_epi8(1), qa)), acc);
}
/// Q4_1 x Q8_0: levels 0..15, plus the block minimum times the activation sum.
__attribute__((target("avx2,fma,f16c"))) inline __m256 block_dot(const BlockQ4_1& w, const BlockQ8_0& a, __m256 acc) {
  return affine_block_dot(nibbles(w.qs), w.d, w.m, a, acc);
}
/// Q5_0 x Q8_0: levels (q5 - 16).
__attribute__((target("avx2,fma,f16c"))) inline __m256 block_dot(const BlockQ5_0& w, const BlockQ8_0& a, __m256 acc) {
  const __m256i qw = _mm256_sub_epi8(_mm256_or_si256(nibbles(w.qs), fifth_bits(w.qh)), _mm256_set1_epi8(16));
  const __m256i qa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
  return _mm256_fmadd_ps(_mm256_set1_ps(h2f(w.d) * h2f(a.d)), _mm256_cvtepi32_ps(signed_dot(qw, qa)), acc);
}
/// Q5_1 x Q8_0: levels 0..31, plus the block minimum times the activation sum.
__attribute__((target("avx2,fma,f16c"))) inline __m256 block_dot(const BlockQ5_1& w, const BlockQ8_0& a, __m256 acc) {
  return affine_block_dot(_mm256_or_si256(nibbles(w.qs), fifth_bits(w.qh)), w.d, w.m, a, acc);
}

/// Sum of block_dot over nb blocks in two FMA chains (even and odd blocks), then a horizontal add.
template <class WBlock>
__attribute__((target("avx2,fma,f16c"))) inline float two_chain_dot(const WBlock* w, const BlockQ8_0* a,
                                                                    std::int64_t nb) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    acc0 = block_dot(w[b], a[b], acc0);
    acc1 = block_dot(w[b + 1], a[b + 1], acc1);
  }
  if (b < nb) acc0 = block_dot(w[b], a[b], acc0);
  return hsum256(_mm256_add_ps(acc0, acc1));
}

}  // namespace avx2

/// vec_dot_q8_0_q8_0 with AVX2: the per-block int32 sums are exact; the block scalings are summed in eight
/// lanes by two FMA chains and a horizontal add (another float order than the scalar's).
__attribute__((target("avx2,fma,f16c"))) inline float vec_dot_q8_0_q8_0_avx2(const BlockQ8_0* w, const BlockQ8_0* a,
                                                                             std::int64_t nb) {
  return avx2::two_chain_dot(w, a, nb);
}

/// vec_dot_q4_0_q8_0 with AVX2 (levels q - 8), summed like vec_dot_q8_0_q8_0_avx2.
__attribute__((target("avx2,fma,f16c"))) inline float vec_dot_q4_0_q8_0_avx2(const BlockQ4_0* w, const BlockQ8_0* a,
                                                                             std::int64_t nb) {
  return avx2::two_chain_dot(w, a, nb);
}

/// Q4_K x Q8_K: exact int32 sums per super-block, then d_a * (d * sumi - dmin * summ).
__attribute__((target("avx2,fma,f16c"))) inline float vec_dot_q4_k_q8_k_avx2(const BlockQ4K* w, const BlockQ8K* a,
                                                                             std::int64_t nb) {
  const __m256i low = _mm256_set1_epi8(0x0F);
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nb; ++b) {
    // The eight 6-bit scales and mins (the packing detail::get_scale_min_k4 reads), branch-free.
    const std::uint8_t* ks = w[b].scales;
    std::uint8_t sc[8], mn[8];
    for (int j = 0; j < 4; ++j) {
      sc[j] = ks[j] & 63;
      mn[j] = ks[j + 4] & 63;
      sc[j + 4] = static_cast<std::uint8_t>((ks[j + 8] & 0xF) | ((ks[j] >> 6) << 4));
      mn[j + 4] = static_cast<std::uint8_t>((ks[j + 8] >> 4) | ((ks[j + 4] >> 6) << 4));
    }
    std::int32_t summ = 0;
    for (int j = 0; j < 8; ++j) summ += std::int32_t(mn[j]) * (std::int32_t(a[b].bsums[2 * j]) + a[b].bsums[2 * j + 1]);
    __m256i sumi = _mm256_setzero_si256();
    for (int i = 0; i < 4; ++i) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs + 32 * i));
      const __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs + 64 * i));
      const __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs + 64 * i + 32));
      const __m256i p0 = avx2::mul_u8_s8(_mm256_and_si256(q, low), a0);
      const __m256i p1 = avx2::mul_u8_s8(_mm256_and_si256(_mm256_srli_epi16(q, 4), low), a1);
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * i])));
      sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * i + 1])));
    }
    const float dw = avx2::h2f(w[b].d), dmin = avx2::h2f(w[b].dmin);
    const float inner = dw * static_cast<float>(avx2::hsum256_i32(sumi)) - dmin * static_cast<float>(summ);
    sum += a[b].d * inner;
  }
  return sum;
}

/// Q6_K x Q8_K: sum_k scale_k * <q6 - 32, a> = sum_k scale_k * <q6, a> - 32 * sum_k scale_k * bsum_k.
__attribute__((target("avx2,fma,f16c"))) inline float vec_dot_q6_k_q8_k_avx2(const BlockQ6K* w, const BlockQ8K* a,
                                                                             std::int64_t nb) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nb; ++b) {
    std::int32_t smin = 0;
    for (int k = 0; k < 16; ++k) smin += std::int32_t(w[b].scales[k]) * a[b].bsums[k];
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* ql = w[b].ql + 64 * h;
      const std::int8_t* sc = w[b].scales + 8 * h;
      const std::int8_t* qa = a[b].qs + 128 * h;
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh + 32 * h));
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
      for (int g = 0; g < 4; ++g) {
        const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qa + 32 * g));
        const __m256i p = avx2::mul_u8_s8(q[g], av);  // lanes 0..7: values 0..15 (scale 2g), 8..15: 16..31 (2g+1)
        const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[2 * g + 1]), _mm_set1_epi16(sc[2 * g]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
      }
    }
    const std::int32_t total = avx2::hsum256_i32(sumi) - 32 * smin;
    sum += avx2::h2f(w[b].d) * a[b].d * static_cast<float>(total);
  }
  return sum;
}

/// Q8_K activations, byte for byte quantize_row_q8_k_ref (max |x| with its first occurrence,
/// iscale = -127 / max, round half to even, clamp at 127, d = 1 / iscale), eight lanes at a time.
__attribute__((target("avx2,fma,f16c"))) inline void quantize_row_q8_k_avx2(const float* x, BlockQ8K* y,
                                                                            std::int64_t nb) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7), hi = _mm256_set1_epi32(127);
  for (std::int64_t b = 0; b < nb; ++b) {
    const float* xb = x + 256 * b;
    BlockQ8K& out = y[b];
    __m256 vmax = _mm256_setzero_ps();
    for (int j = 0; j < 256; j += 8) vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, _mm256_loadu_ps(xb + j)));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, vmax);
    float amax = 0.0f;
    for (float l : lanes) amax = l > amax ? l : amax;
    if (!(amax > 0.0f)) {  // all zero (or NaN, which the scalar quantizer also maps to zeros here)
      std::memset(&out, 0, sizeof out);
      continue;
    }
    float mx = 0.0f;
    for (int j = 0; j < 256; ++j)
      if (std::fabs(xb[j]) == amax) {
        mx = xb[j];
        break;
      }
    const float iscale = -127.0f / mx;
    const __m256 vs = _mm256_set1_ps(iscale);
    for (int j = 0; j < 256; j += 32) {
      __m256i v[4];
      for (int k = 0; k < 4; ++k) {
        const __m256 p = _mm256_round_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(xb + j + 8 * k)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v[k] = _mm256_min_epi32(_mm256_cvtps_epi32(p), hi);
      }
      const __m256i p16 = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.qs + j), _mm256_permutevar8x32_epi32(p16, perm));
    }
    for (int k = 0; k < 16; ++k) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += out.qs[16 * k + i];
      out.bsums[k] = static_cast<std::int16_t>(sum);
    }
    out.d = 1.0f / iscale;
  }
}

#endif  // SO8T_CPU_X86

/// True when this CPU runs the *_avx2 kernels above (AVX2, FMA and F16C).
inline bool has_avx2_dots() { return cpu::has_avx2_fma_f16c(); }

/// One row of n weights of type `weight` times n activations in vec_dot_type(weight): the AVX2 kernel when
/// `simd` is true and the type has one (q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q6_K; the caller checked has_avx2_dots()),
/// otherwise vec_dot (which validates its arguments).
inline float vec_dot_best(Type weight, const void* w, const void* act, std::int64_t n, bool simd) {
#if SO8T_CPU_X86
  if (simd) {
    switch (weight) {
      case Type::q8_0:
        return vec_dot_q8_0_q8_0_avx2(static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(act), n / 32);
      case Type::q4_0:
        return vec_dot_q4_0_q8_0_avx2(static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(act), n / 32);
      case Type::q4_1:
        return avx2::two_chain_dot(static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_0*>(act), n / 32);
      case Type::q5_0:
        return avx2::two_chain_dot(static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(act), n / 32);
      case Type::q5_1:
        return avx2::two_chain_dot(static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_0*>(act), n / 32);
      case Type::q4_k:
        return vec_dot_q4_k_q8_k_avx2(static_cast<const BlockQ4K*>(w), static_cast<const BlockQ8K*>(act), n / 256);
      case Type::q6_k:
        return vec_dot_q6_k_q8_k_avx2(static_cast<const BlockQ6K*>(w), static_cast<const BlockQ8K*>(act), n / 256);
      default: break;
    }
  }
#else
  (void)simd;
#endif
  return vec_dot(weight, w, act, n);
}

}  // namespace so8t::quant
