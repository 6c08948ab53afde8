// Helpers for CUDA tests: skip cleanly (GTEST_SKIP) when no GPU is present. Device memory in the tests is the
// library's so8t::cuda::DeviceBuffer<T> (so8t/base/device_buffer.cuh: a device copy of a host vector, download()).
#pragma once

#include <gtest/gtest.h>

#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"

#define SO8T_SKIP_WITHOUT_GPU()                                             \
  do {                                                                      \
    if (::so8t::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";  \
  } while (0)
