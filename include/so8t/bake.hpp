// so8t/bake.hpp: folding block-diagonal SO(8) gates into the next linear layer, W' = W . blockdiag(R_1..R_n)
// (namespace so8t), without forming the D x D matrix. CUDA twin: kernels/so8t/bake/fold.cuh.
#pragma once

#include "so8t/bake/fold_tile.hpp"
#include "so8t/bake/fold_view.hpp"
#include "so8t/bake/fold.hpp"
