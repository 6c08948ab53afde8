// Compiled to PTX by tests/quant/fast_math_ptx.cmake with and without --use_fast_math (never linked): the Q8_0
// quantizer kernel and the float-mode probe, whose IEEE intrinsics --use_fast_math turns into .ftz forms.
#include "so8t/quant/quantize.cuh"

void fast_math_probe_use(const float* src, void* dst) {
  so8t::cuda::quant::quantize(so8t::quant::Type::q8_0, src, dst, 1, 32);
}
