// tests/offload/layer_stack.hpp: a stack of linear layers for the offload tests, CPU and CUDA alike:
// dims[i] -> dims[i+1], named "layers.<i>" and "lm_head" for the last (the planner's default skip entry).
// fill(layer) sets the weights and the bias once the shape is set.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "so8t/offload/executor.hpp"

namespace offload_test {

template <class Fill>
std::vector<so8t::offload::LayerWeights> layer_stack(const std::vector<std::int64_t>& dims, Fill&& fill) {
  std::vector<so8t::offload::LayerWeights> ls;
  for (std::size_t i = 0; i + 1 < dims.size(); ++i) {
    so8t::offload::LayerWeights l;
    l.name = i + 2 == dims.size() ? "lm_head" : "layers." + std::to_string(i);
    l.k = dims[i];
    l.n = dims[i + 1];
    fill(l);
    ls.push_back(std::move(l));
  }
  return ls;
}

}  // namespace offload_test
