// so8t/gguf/checked_math.hpp: unsigned 64-bit arithmetic that reports overflow instead of wrapping.
//
// Every size the reader derives from file fields goes through these (attack list, calibration-pet-pipeline.md
// §5.4 "all size math in uint64 with explicit overflow checks"): wrapped products and PAD(size, align) are
// how CVE-2025-53630 and CVE-2026-33298 turned a small allocation into a heap overflow.
#pragma once

#include <cstdint>

namespace so8t::gguf::checked {

/// a + b into *out; false when the sum exceeds 2^64 - 1.
inline bool add(std::uint64_t a, std::uint64_t b, std::uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

/// a * b into *out; false on overflow.
inline bool mul(std::uint64_t a, std::uint64_t b, std::uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

/// The first multiple of `alignment` (a power of two) that is >= x, into *out; false on overflow.
inline bool align_up(std::uint64_t x, std::uint64_t alignment, std::uint64_t* out) {
  std::uint64_t t;
  if (!add(x, alignment - 1, &t)) return false;
  *out = t & ~(alignment - 1);
  return true;
}

}  // namespace so8t::gguf::checked
