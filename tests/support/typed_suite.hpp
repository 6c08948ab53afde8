// tests/support/typed_suite.hpp: the typed GoogleTest suites every area uses, declared in one line.
//
//   SO8T_TYPED_TEST_SUITE(Suite, Types)   an empty fixture template Suite<T> run over Types
//   so8t_test::RealScalars                float, double (the SO(8) core's scalars)
//   so8t_test::StorageTypes               float, double, binary16, bfloat16 (weights and activations)
#pragma once

#include <gtest/gtest.h>

#include "so8t/base/half.hpp"

namespace so8t_test {

using RealScalars = ::testing::Types<float, double>;
using StorageTypes = ::testing::Types<float, double, so8t::half_t, so8t::bfloat16_t>;

}  // namespace so8t_test

#define SO8T_TYPED_TEST_SUITE(Suite, Types)      \
  template <class T>                             \
  class Suite : public ::testing::Test {};       \
  TYPED_TEST_SUITE(Suite, Types)
