// so8t/base/launch.cuh: grid sizes for kernel launches (namespace so8t::cuda).
//
//   grid_for(n, threads)                    blocks of `threads` threads covering n items (at least 1)
//   grid_for_capped(n, threads, max_blocks) the same, at most max_blocks (for grid-stride kernels)
// Host code only; the kernels check their own bounds.
#pragma once

#include <cstddef>

namespace so8t::cuda {

/// Largest gridDim.y / gridDim.z of a launch.
constexpr unsigned kMaxGridY = 65535;

/// Blocks of `threads` threads that cover n items (at least 1).
inline unsigned grid_for(std::size_t n, unsigned threads) {
  const std::size_t g = (n + threads - 1) / threads;
  return static_cast<unsigned>(g == 0 ? 1 : g);
}

/// grid_for(n, threads), but at most max_blocks: a grid-stride kernel covers the rest.
inline unsigned grid_for_capped(std::size_t n, unsigned threads, unsigned max_blocks) {
  const std::size_t g = (n + threads - 1) / threads;
  return g == 0 ? 1u : (g < max_blocks ? static_cast<unsigned>(g) : max_blocks);
}

}  // namespace so8t::cuda
