// Helpers for CUDA tests: skip cleanly (GTEST_SKIP) when no GPU is present.
#pragma once

#include <gtest/gtest.h>

#include "so8t/base/cuda_check.cuh"

#define SO8T_SKIP_WITHOUT_GPU()                                             \
  do {                                                                      \
    if (::so8t::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";  \
  } while (0)
