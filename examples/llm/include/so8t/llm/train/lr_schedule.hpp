// so8t/llm/train/lr_schedule.hpp: linear warm-up then cosine decay to min_lr.
#pragma once

#include <cmath>
#include <cstddef>

namespace so8t::llm {

struct LrSchedule {
  double lr = 1e-3;
  double min_lr = 1e-4;
  std::size_t warmup = 100;
  std::size_t total = 1000;

  /// Learning rate of step `step` (0-based).
  double at(std::size_t step) const {
    if (step < warmup) return lr * double(step + 1) / double(warmup);
    if (step >= total || total <= warmup) return min_lr;
    const double p = double(step - warmup) / double(total - warmup);
    return min_lr + 0.5 * (1.0 + std::cos(3.14159265358979323846 * p)) * (lr - min_lr);
  }
};

}  // namespace so8t::llm
