// so8t/gemm.hpp: the linear layers (namespace so8t::gemm): LLM.int8 (int8 GEMM with float outlier columns),
// the quantized-weight matmul, the fp32 path through Eigen, and the run-time CPU feature probe.
// CUDA twins: kernels/so8t/gemm/*.cuh.
#pragma once

#include "so8t/gemm/cpu_features.hpp"
#include "so8t/gemm/int8_quantize.hpp"
#include "so8t/gemm/int8_kernels.hpp"
#include "so8t/gemm/fp32_gemm.hpp"
#include "so8t/gemm/llm_int8.hpp"
#include "so8t/gemm/qgemm.hpp"
