// so8t/quant.hpp: ggml block quantizers, bit-exact with ggml's reference rows, and their dot products
// (namespace so8t::quant; scalar in dot.hpp, AVX2 in dot_avx2.hpp). CUDA twin: kernels/so8t/quant/quantize.cuh.
#pragma once

#include "so8t/quant/type.hpp"
#include "so8t/quant/float_types.hpp"
#include "so8t/quant/blocks.hpp"
#include "so8t/quant/quantize.hpp"
#include "so8t/quant/presets.hpp"
#include "so8t/quant/dot.hpp"
#include "so8t/quant/dot_avx2.hpp"
