// so8t/all.hpp: every host header of the library, area by area (the CUDA kernels are in kernels/so8t/<area>/*.cuh,
// included one by one). Include the area umbrellas, or single headers, to keep compile times down.
#pragma once

#include "so8t/base.hpp"
#include "so8t/so8.hpp"
#include "so8t/so8/eigen.hpp"
#include "so8t/bake.hpp"
#include "so8t/pet.hpp"
#include "so8t/calib.hpp"
#include "so8t/quant.hpp"
#include "so8t/gguf.hpp"
#include "so8t/gemm.hpp"
#include "so8t/offload.hpp"
#include "so8t/report.hpp"
