// so8t/base.hpp: the foundation every area builds on (namespace so8t): build configuration (host/device
// qualifiers), the FMA barrier fp::, binary16, the exception types, scalar traits and scalar math, and the
// run-time CPU feature probe cpu::.
#pragma once

#include "so8t/base/config.hpp"
#include "so8t/base/cpu_features.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/base/half.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/base/traits.hpp"
#include "so8t/base/scalar_math.hpp"
