// so8t/so8t.hpp: everything. Include the single headers instead to keep compile times down.
#pragma once

#include "so8t/config.hpp"
#include "so8t/fp.hpp"
#include "so8t/errors.hpp"
#include "so8t/traits.hpp"
#include "so8t/scalar_math.hpp"
#include "so8t/mat8.hpp"
#include "so8t/lu8.hpp"
#include "so8t/jacobi8.hpp"
#include "so8t/so8_algebra.hpp"
#include "so8t/expm.hpp"
#include "so8t/logm.hpp"
#include "so8t/drift.hpp"
#include "so8t/so8_group.hpp"
#include "so8t/exp_vjp.hpp"
#include "so8t/cayley.hpp"
#include "so8t/block_rotation.hpp"
#include "so8t/octonion.hpp"
#include "so8t/triality.hpp"

// Eigen interop on the host when Eigen is available (define SO8T_NO_EIGEN to leave it out).
#if !defined(SO8T_NO_EIGEN) && defined(__has_include)
#  if __has_include(<Eigen/Core>)
#    include "so8t/eigen.hpp"
#  endif
#endif
