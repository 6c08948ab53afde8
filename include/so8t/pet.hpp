// so8t/pet.hpp: the PET penalty (second differences along the sequence) with its gradient and the three-phase
// lambda schedule (namespace so8t). CUDA twin: kernels/so8t/pet/pet.cuh.
#pragma once

#include "so8t/pet/schedule.hpp"
#include "so8t/pet/pet.hpp"
