// so8t/so8.hpp: the SO(8) core (namespace so8t): 8x8 matrices, the Lie algebra so(8), exp / log / Cayley,
// the exp VJP, drift, batched block rotations, octonions and triality. Host and device code, no Eigen:
// the Eigen conversions are in so8t/so8/eigen.hpp, included on request.
#pragma once

#include "so8t/base.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/so8/lu8.hpp"
#include "so8t/so8/jacobi8.hpp"
#include "so8t/so8/algebra.hpp"
#include "so8t/so8/expm.hpp"
#include "so8t/so8/logm.hpp"
#include "so8t/so8/drift.hpp"
#include "so8t/so8/group.hpp"
#include "so8t/so8/exp_vjp.hpp"
#include "so8t/so8/cayley.hpp"
#include "so8t/so8/lanes.hpp"
#include "so8t/so8/block_rotation.hpp"
#include "so8t/so8/octonion.hpp"
#include "so8t/so8/triality.hpp"
