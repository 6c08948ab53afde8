// tests/bake/fold_fixtures.hpp: inputs shared by the CPU fold tests and their CUDA twins, so both check the
// same cases: random weights in every storage type, and the rotation scalar each weight type folds with.
#pragma once

#include <random>
#include <type_traits>
#include <vector>

#include "so8t/base/half.hpp"
#include "so8t/bake/fold_tile.hpp"

namespace fold_test {

using so8t::bfloat16_t;
using so8t::half_t;
using so8t::RotationOp;

/// x rounded to T (binary16 / bfloat16 through float, like the library's own conversions).
template <class T>
T from_double(double x) {
  if constexpr (std::is_same<T, so8t::half_t>::value || std::is_same<T, so8t::bfloat16_t>::value)
    return T::from_float(float(x));
  else
    return T(x);
}

/// count N(0, 1) weights rounded to T.
template <class T>
std::vector<T> random_weights(std::mt19937_64& rng, std::size_t count) {
  std::normal_distribution<double> n01;
  std::vector<T> w(count);
  for (auto& v : w) v = from_double<T>(n01(rng));
  return w;
}

/// The rotation scalar a weight type is folded with: double for double weights, float otherwise.
template <class T>
struct RotationFor {
  using type = float;
};
template <>
struct RotationFor<double> {
  using type = double;
};

}  // namespace fold_test
