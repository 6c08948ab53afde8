// so8t/offload.hpp: running a layer stack across the GPU and the CPU (namespace so8t::offload): the device-map
// planner and the executor. CUDA side: kernels/so8t/offload/executor.cuh.
#pragma once

#include "so8t/offload/planner.hpp"
#include "so8t/offload/executor.hpp"
