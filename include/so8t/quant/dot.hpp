// so8t/quant/dot.hpp: dot products of quantized weights with quantized activations, as inference uses
// them (spec §7 "Inference note": llama.cpp converts the activation row to Q8_0 for Q4_0/Q5_0/Q8_0
// weights, to Q8_1 (Q8_0's levels and scale plus s = d * sum) for Q4_1/Q5_1, and to Q8_K for the K-quants,
// then multiplies block by block; so8t uses Q8_0 for the Q8_1 cases and sums the levels exactly).
//
// Integer products are summed exactly in int32 per (sub-)block; only the per-block scaling is float32,
// accumulated sequentially with fp::mul so the result does not depend on compiler flags. These are not
// ggml's SIMD kernels bit for bit (those reorder float sums); they are checked against
// dequantize-then-multiply in double (tests/quant/test_quant_dot.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "so8t/base/config.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/k_common.hpp"
#include "so8t/quant/q5_0.hpp"
#include "so8t/quant/rounding.hpp"
#include "so8t/quant/type.hpp"

namespace so8t::quant {

/// sum over nblocks of d_w * d_a * sum(qw * qa).
SO8T_HOST_DEVICE float vec_dot_q8_0_q8_0(const BlockQ8_0* w, const BlockQ8_0* a, std::int64_t nblocks) {
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nblocks; ++b) {
    std::int32_t sumi = 0;
    for (int j = 0; j < 32; ++j) sumi += std::int32_t(w[b].qs[j]) * std::int32_t(a[b].qs[j]);
    const float d = fp::mul(detail::from_fp16(w[b].d), detail::from_fp16(a[b].d));
    sum = fp::madd(sum, static_cast<float>(sumi), d);
  }
  return sum;
}

/// Q4_0 weights x Q8_0 activations: levels q - 8.
SO8T_HOST_DEVICE float vec_dot_q4_0_q8_0(const BlockQ4_0* w, const BlockQ8_0* a, std::int64_t nblocks) {
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nblocks; ++b) {
    std::int32_t sumi = 0;
    for (int j = 0; j < 16; ++j) {
      sumi += ((w[b].qs[j] & 0xF) - 8) * std::int32_t(a[b].qs[j]);
      sumi += ((w[b].qs[j] >> 4) - 8) * std::int32_t(a[b].qs[j + 16]);
    }
    const float d = fp::mul(detail::from_fp16(w[b].d), detail::from_fp16(a[b].d));
    sum = fp::madd(sum, static_cast<float>(sumi), d);
  }
  return sum;
}

namespace detail {
/// The 32 levels of a block in value order: Q4_1 nibbles 0..15; Q5_0 / Q5_1 nibble | bit j of qh << 4.
SO8T_HOST_DEVICE void unpack_levels(const BlockQ4_1& w, std::int32_t* q) {
  for (int j = 0; j < 16; ++j) q[j] = w.qs[j] & 0x0F, q[j + 16] = w.qs[j] >> 4;
}
template <class Block>
SO8T_HOST_DEVICE void unpack_q5_levels(const Block& w, std::int32_t* q) {
  const std::uint32_t qh = load_qh(w.qh);
  for (int j = 0; j < 16; ++j) {
    q[j] = (w.qs[j] & 0x0F) | static_cast<std::int32_t>(((qh >> j) & 1u) << 4);
    q[j + 16] = (w.qs[j] >> 4) | static_cast<std::int32_t>(((qh >> (j + 16)) & 1u) << 4);
  }
}
SO8T_HOST_DEVICE void unpack_levels(const BlockQ5_0& w, std::int32_t* q) { unpack_q5_levels(w, q); }
SO8T_HOST_DEVICE void unpack_levels(const BlockQ5_1& w, std::int32_t* q) { unpack_q5_levels(w, q); }

/// Affine blocks (value = d * level + m) x Q8_0: per block d_w d_a sum(q qa) + m_w d_a sum(qa). llama.cpp pairs
/// Q4_1 / Q5_1 with Q8_1, whose levels and d are Q8_0's; its stored s = d * sum(qa) is computed exactly here.
template <class Block>
SO8T_HOST_DEVICE float affine_dot_q8_0(const Block* w, const BlockQ8_0* a, std::int64_t nblocks) {
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nblocks; ++b) {
    std::int32_t q[32], sumi = 0, suma = 0;
    unpack_levels(w[b], q);
    for (int j = 0; j < 32; ++j) sumi += q[j] * std::int32_t(a[b].qs[j]), suma += a[b].qs[j];
    const float da = from_fp16(a[b].d);
    sum = fp::madd(sum, static_cast<float>(sumi), fp::mul(from_fp16(w[b].d), da));
    sum = fp::madd(sum, from_fp16(w[b].m), fp::mul(da, static_cast<float>(suma)));
  }
  return sum;
}
}  // namespace detail

/// Q4_1 weights x Q8_0 activations (levels 0..15, see detail::affine_dot_q8_0).
SO8T_HOST_DEVICE float vec_dot_q4_1_q8_0(const BlockQ4_1* w, const BlockQ8_0* a, std::int64_t nblocks) {
  return detail::affine_dot_q8_0(w, a, nblocks);
}

/// Q5_1 weights x Q8_0 activations (levels 0..31, see detail::affine_dot_q8_0).
SO8T_HOST_DEVICE float vec_dot_q5_1_q8_0(const BlockQ5_1* w, const BlockQ8_0* a, std::int64_t nblocks) {
  return detail::affine_dot_q8_0(w, a, nblocks);
}

/// Q5_0 weights x Q8_0 activations: levels (q5 - 16).
SO8T_HOST_DEVICE float vec_dot_q5_0_q8_0(const BlockQ5_0* w, const BlockQ8_0* a, std::int64_t nblocks) {
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nblocks; ++b) {
    std::int32_t q[32], sumi = 0;
    detail::unpack_levels(w[b], q);
    for (int j = 0; j < 32; ++j) sumi += (q[j] - 16) * std::int32_t(a[b].qs[j]);
    sum = fp::madd(sum, static_cast<float>(sumi), fp::mul(detail::from_fp16(w[b].d), detail::from_fp16(a[b].d)));
  }
  return sum;
}

namespace detail {
/// Q4_K / Q5_K weights x Q8_K activations: sum d_a * (d * sum_j sc_j*<q_j, a_j> - dmin * sum_j m_j * bsum_j),
/// the inner sums exact in int32.
template <class Block>
SO8T_HOST_DEVICE float vec_dot_k_quant_q8_k(const Block* w, const BlockQ8K* a, std::int64_t nblocks) {
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nblocks; ++b) {
    std::int32_t sumi = 0, summ = 0;
    for (int j = 0; j < 8; ++j) {
      std::uint8_t sc, m;
      get_scale_min_k4(j, w[b].scales, sc, m);
      std::int32_t s = 0;
      for (int l = 0; l < 32; ++l) s += k_quant_level(w[b], j, l) * std::int32_t(a[b].qs[32 * j + l]);
      sumi += std::int32_t(sc) * s;
      summ += std::int32_t(m) * (std::int32_t(a[b].bsums[2 * j]) + std::int32_t(a[b].bsums[2 * j + 1]));
    }
    const float dw = from_fp16(w[b].d), dmin = from_fp16(w[b].dmin);
    const float inner = fp::sub(fp::mul(dw, static_cast<float>(sumi)), fp::mul(dmin, static_cast<float>(summ)));
    sum = fp::madd(sum, a[b].d, inner);
  }
  return sum;
}
}  // namespace detail

/// Q4_K weights x Q8_K activations.
SO8T_HOST_DEVICE float vec_dot_q4_k_q8_k(const BlockQ4K* w, const BlockQ8K* a, std::int64_t nblocks) {
  return detail::vec_dot_k_quant_q8_k(w, a, nblocks);
}

/// Q5_K weights x Q8_K activations.
SO8T_HOST_DEVICE float vec_dot_q5_k_q8_k(const BlockQ5K* w, const BlockQ8K* a, std::int64_t nblocks) {
  return detail::vec_dot_k_quant_q8_k(w, a, nblocks);
}

/// Q6_K weights x Q8_K activations: sum d * d_a * sum_s scale_s * <q_s - 32, a_s>.
SO8T_HOST_DEVICE float vec_dot_q6_k_q8_k(const BlockQ6K* w, const BlockQ8K* a, std::int64_t nblocks) {
  float sum = 0.0f;
  for (std::int64_t b = 0; b < nblocks; ++b) {
    std::int32_t sumi = 0;
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* ql = w[b].ql + 64 * h;
      const std::uint8_t* qh = w[b].qh + 32 * h;
      const std::int8_t* sc = w[b].scales + 8 * h;
      const std::int8_t* qa = a[b].qs + 128 * h;
      std::int32_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        s[is + 0] += (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32) * std::int32_t(qa[l]);
        s[is + 2] += (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * std::int32_t(qa[l + 32]);
        s[is + 4] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * std::int32_t(qa[l + 64]);
        s[is + 6] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * std::int32_t(qa[l + 96]);
      }
      for (int k = 0; k < 8; ++k) sumi += std::int32_t(sc[k]) * s[k];
    }
    const float d = fp::mul(detail::from_fp16(w[b].d), a[b].d);
    sum = fp::madd(sum, d, static_cast<float>(sumi));
  }
  return sum;
}

/// The activation type a weight type's dot product expects (Q8_0 or Q8_K; f32/f16/bf16 have none).
inline Type vec_dot_type(Type weight) {
  switch (weight) {
    case Type::q4_0: case Type::q4_1: case Type::q5_0: case Type::q5_1: case Type::q8_0: return Type::q8_0;
    case Type::q4_k: case Type::q5_k: case Type::q6_k: return Type::q8_k;
    default:
      throw InvalidArgument(std::string("so8t::quant::vec_dot_type: no quantized dot product for weight type ") +
                            type_name(weight));
  }
}

/// Dot product of one row of n weights of type `weight` with n activations quantized to
/// vec_dot_type(weight). Throws InvalidArgument for other types, n not a multiple of the block size,
/// negative n or null pointers.
inline float vec_dot(Type weight, const void* w, const void* act, std::int64_t n) {
  const Type at = vec_dot_type(weight);
  const std::int64_t qk = block_size(weight);
  if (n < 0 || n % qk != 0)
    throw InvalidArgument("so8t::quant::vec_dot: n = " + std::to_string(n) + " is not a non-negative multiple of " +
                          std::to_string(qk));
  if (n > 0 && (w == nullptr || act == nullptr)) throw InvalidArgument("so8t::quant::vec_dot: null pointer");
  const std::int64_t nb = n / qk;
  (void)at;
  switch (weight) {
    case Type::q8_0: return vec_dot_q8_0_q8_0(static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(act), nb);
    case Type::q4_0: return vec_dot_q4_0_q8_0(static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(act), nb);
    case Type::q4_1: return vec_dot_q4_1_q8_0(static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_0*>(act), nb);
    case Type::q5_0: return vec_dot_q5_0_q8_0(static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(act), nb);
    case Type::q5_1: return vec_dot_q5_1_q8_0(static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_0*>(act), nb);
    case Type::q4_k: return vec_dot_q4_k_q8_k(static_cast<const BlockQ4K*>(w), static_cast<const BlockQ8K*>(act), nb);
    case Type::q5_k: return vec_dot_q5_k_q8_k(static_cast<const BlockQ5K*>(w), static_cast<const BlockQ8K*>(act), nb);
    case Type::q6_k: return vec_dot_q6_k_q8_k(static_cast<const BlockQ6K*>(w), static_cast<const BlockQ8K*>(act), nb);
    default: return 0.0f;  // unreachable: vec_dot_type threw
  }
}

}  // namespace so8t::quant
