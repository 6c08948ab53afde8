// so8t/quant/simd_barrier.hpp: xsimd batches for the quantizers' fast paths, and a vector version of
// fp::opaque.
//
// Why the barrier: GCC contracts vector `a*b + c` into an FMA under -ffp-contract=fast (its GNU-mode
// default) once FMA is available, exactly as for scalars (spec §0.1). Each product that is later added
// passes through opaque_batch(), an empty asm that pins the rounded product in a register, so the fast
// paths keep the scalar reference's two roundings at any flags.
// The fast paths use 8-lane float batches where AVX2 is enabled (also under AVX-512: the K-quant code maps
// the 8 sub-blocks of a super-block to lanes) and the default architecture's batches (4 lanes) otherwise.
#pragma once

#include <xsimd/xsimd.hpp>

namespace so8t::quant::simd {

#if XSIMD_WITH_AVX2
using arch = xsimd::avx2;
#else
using arch = xsimd::default_arch;
#endif
using fbatch = xsimd::batch<float, arch>;
using ibatch = xsimd::batch<std::int32_t, arch>;
inline constexpr int lanes = static_cast<int>(fbatch::size);
static_assert(lanes == 4 || lanes == 8, "so8t/quant fast paths expect 4- or 8-lane float batches");

/// The batch must exist, rounded, before any later operation uses it (no FMA contraction across it).
template <class B>
inline void opaque_batch(B& b) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __asm__("" : "+x"(b.data));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(b.data));
#elif defined(__GNUC__)
  __asm__("" : "+m"(b));
#else
  volatile B t = b;
  b = t;
#endif
}

/// round(a * b) as a batch, never fused with a following add.
inline fbatch mul(fbatch a, fbatch b) {
  fbatch p = a * b;
  opaque_batch(p);
  return p;
}

/// Lane-wise ggml nearest_int (spec §1), the same bits as detail::nearest_int.
inline ibatch nearest_int(fbatch v) {
  const fbatch t = v + fbatch(12582912.0f);
  const ibatch i = xsimd::bitwise_cast<ibatch>(t);
  return (i & ibatch(0x007FFFFF)) - ibatch(0x00400000);
}

/// clamp(NI(v), lo, hi) as exact small-integer floats.
inline fbatch nearest_int_clamped(fbatch v, int lo, int hi) {
  return xsimd::to_float(xsimd::max(ibatch(lo), xsimd::min(ibatch(hi), nearest_int(v))));
}

/// True when every value of x[0..n) is finite (the fast paths hand other blocks to the scalar reference).
inline bool all_finite(const float* x, int n) {
  fbatch bad(0.0f);
  for (int i = 0; i < n; i += lanes) {
    const fbatch v = fbatch::load_unaligned(x + i);
    bad = bad + (v - v);  // 0 for finite values, NaN for inf and NaN
  }
  return !xsimd::any(xsimd::isnan(bad));
}

}  // namespace so8t::quant::simd
