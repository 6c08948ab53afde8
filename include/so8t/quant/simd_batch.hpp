// so8t/quant/simd_batch.hpp: xsimd batches for the quantizers' fast paths, and their lane-wise ggml
// rounding helpers.
//
// GCC contracts vector `a*b + c` into an FMA under -ffp-contract=fast (its GNU-mode default) once FMA is
// available, exactly as for scalars (docs/ggml-quant-and-gguf.md §0.1). Each product that is later added is therefore written
// fp::mul(a, b): for batches too it passes through fp::opaque (so8t/base/fp.hpp), an empty asm that pins
// the rounded product in a register, so the fast paths keep the scalar reference's two roundings at any
// flags.
// The fast paths use 8-lane float batches where AVX2 is enabled (also under AVX-512: the K-quant code maps
// the 8 sub-blocks of a super-block to lanes) and the default architecture's batches (4 lanes) otherwise.
#pragma once

#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "so8t/base/fp.hpp"

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
