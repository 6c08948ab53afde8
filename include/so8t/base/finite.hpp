// so8t/base/finite.hpp: where the first NaN or infinity of an array is, so that a check can name it.
#pragma once

#include <cstddef>

#include "so8t/base/config.hpp"

namespace so8t {

/// Index of the first entry of x[0, n) that is NaN or infinite; n when all are finite. Comparisons only (as
/// so8/mat8.hpp all_finite), so half types and device code need no isfinite overload.
template <class T>
SO8T_HOST_DEVICE std::size_t first_non_finite(const T* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    if (!(v - v == 0.0)) return i;
  }
  return n;
}

}  // namespace so8t
