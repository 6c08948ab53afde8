// so8t/llm/train/rng.hpp: a tiny reproducible RNG (splitmix64) whose whole state is one uint64_t, so a checkpoint
// can store it and a resumed run draws exactly the same batches. No std:: distributions (their output is
// implementation-defined).
#pragma once

#include <cstdint>

namespace so8t::llm {

struct Rng {
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  explicit Rng(std::uint64_t seed = 0) : state(seed ^ 0x9E3779B97F4A7C15ull) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0; the modulo bias is below 2^-40 for the sizes used here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

}  // namespace so8t::llm
