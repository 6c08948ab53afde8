// Compiled by tests/so8/stack_budget.cmake with ptxas -v (never linked): the per-rotation kernels, whose
// per-thread stack frame the driver reserves for every thread the GPU can hold, for the life of the context.
#include "so8t/so8/block_rotation.cuh"

template void so8t::cuda::block_exp<float>(const float*, std::size_t, float*, cudaStream_t);
template void so8t::cuda::block_exp<double>(const double*, std::size_t, double*, cudaStream_t);
template void so8t::cuda::block_exp_vjp<float>(const float*, const float*, std::size_t, float*, cudaStream_t);
template void so8t::cuda::block_exp_vjp<double>(const double*, const double*, std::size_t, double*, cudaStream_t);
