// so8t/bake/fold.cuh: the block-diagonal fold on the GPU, namespace so8t::cuda::bake (see so8t/bake/fold.hpp for
// the conventions).
//
// The kernels run the same SO8T_HOST_DEVICE tile as the CPU (so8t/bake/fold_tile.hpp), so GPU and CPU results are
// bitwise equal (tests/bake/cuda). The fold is memory-bound (8 multiply-adds per element):
//   right fold: one thread per (8-wide column block b, group of kRowsPerThread rows); the thread keeps its
//               8x8 matrix in registers and streams 8 consecutive elements of each of its rows;
//   left fold:  one thread per (column c, 8-row block b); a warp reads 32 consecutive columns of each of the
//               8 rows, so every load is coalesced.
// All pointers are device pointers; every CUDA call is checked (so8t::CudaError) and shapes are checked on
// the host (so8t::InvalidArgument) exactly as on the CPU, except that rotation values are not read back to
// look for NaN. Gate stacks: compose on the host (or with block_compose) and fold once.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "so8t/bake/fold_tile.hpp"
#include "so8t/bake/fold_view.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/float_mode.cuh"
#include "so8t/base/launch.cuh"

namespace so8t::cuda::bake {

namespace detail {

constexpr unsigned kThreads = 128;
constexpr std::size_t kRowsPerThread = 8;

template <class A, class T, class R>
__global__ void fold_right_kernel(const T* in, std::size_t ld_in, T* out, std::size_t ld_out, std::size_t rows,
                                  std::size_t n_blocks, const R* rot, int op) {
  const std::size_t b = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= n_blocks) return;
  A M[64];
  fold_load_block(rot + 64 * b, static_cast<RotationOp>(op), M);
  for (std::size_t r0 = std::size_t(blockIdx.y) * kRowsPerThread; r0 < rows; r0 += std::size_t(gridDim.y) * kRowsPerThread) {
    const std::size_t r1 = r0 + kRowsPerThread < rows ? r0 + kRowsPerThread : rows;
    for (std::size_t r = r0; r < r1; ++r) fold_right_tile(in + r * ld_in + 8 * b, out + r * ld_out + 8 * b, M);
  }
}

template <class A, class T, class R>
__global__ void fold_left_kernel(const T* in, std::size_t ld_in, T* out, std::size_t ld_out, std::size_t cols,
                                 std::size_t n_blocks, const R* rot, int op) {
  const std::size_t c = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  for (std::size_t b = blockIdx.y; b < n_blocks; b += gridDim.y) {
    A M[64];
    fold_load_block(rot + 64 * b, static_cast<RotationOp>(op), M);
    fold_left_column(in + 8 * b * ld_in + c, (long long)ld_in, out + 8 * b * ld_out + c, (long long)ld_out, M);
  }
}

template <class A, class T, class R>
__global__ void fold_bias_kernel(const T* bias, T* bias_out, std::size_t n_blocks, const R* rot, int op) {
  const std::size_t b = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= n_blocks) return;
  A M[64];
  fold_load_block(rot + 64 * b, static_cast<RotationOp>(op), M);
  fold_left_column(bias + 8 * b, 1, bias_out + 8 * b, 1, M);
}

/// gridDim.y for n items, one per block row: n (at least 1), at most kMaxGridY (the kernels stride over the rest).
inline unsigned grid_y(std::size_t n) { return grid_for_capped(n, 1, kMaxGridY); }

}  // namespace detail

/// out = W blockdiag(op(R)) on the device (out may be W itself: in place). D = W.cols.
template <class T, class R>
void fold_right(MatrixView<const typename fold_detail::identity<T>::type> W, MatrixView<T> out,
                BlockRotations<R> rot, RotationOp op = RotationOp::as_is, cudaStream_t stream = nullptr) {
  static_assert(fold_detail::is_weight_type<T>::value, "so8t::cuda::bake::fold_right: unsupported weight type");
  fold_detail::check_fold_shapes(W, out, rot, "cuda::bake::fold_right", "cols of W", W.cols);
  if (W.rows == 0 || W.cols == 0) return;
  require_ieee_float_mode(stream);
  using A = fold_accumulator_t<T, R>;
  const dim3 grid(grid_for(rot.n_blocks, detail::kThreads),
                  detail::grid_y((W.rows + detail::kRowsPerThread - 1) / detail::kRowsPerThread));
  detail::fold_right_kernel<A, T, R><<<grid, detail::kThreads, 0, stream>>>(
      W.data, W.ld, out.data, out.ld, W.rows, rot.n_blocks, rot.data, static_cast<int>(op));
  SO8T_CUDA_CHECK(cudaGetLastError());
}

/// In place on the device: W <- W blockdiag(op(R)).
template <class T, class R>
void fold_right(MatrixView<T> W, BlockRotations<R> rot, RotationOp op = RotationOp::as_is,
                cudaStream_t stream = nullptr) {
  fold_right<T, R>(MatrixView<const T>(W), W, rot, op, stream);
}

/// out = op(R) W and bias_out = op(R) bias on the device (biases both null or both given; out may be W).
template <class T, class R>
void fold_left(MatrixView<const typename fold_detail::identity<T>::type> W,
               const typename fold_detail::identity<T>::type* bias, MatrixView<T> out, T* bias_out,
               BlockRotations<R> rot, RotationOp op = RotationOp::as_is, cudaStream_t stream = nullptr) {
  static_assert(fold_detail::is_weight_type<T>::value, "so8t::cuda::bake::fold_left: unsupported weight type");
  fold_detail::check_fold_shapes(W, out, rot, "cuda::bake::fold_left", "rows of W", W.rows);
  if ((bias == nullptr) != (bias_out == nullptr))
    throw InvalidArgument(std::string("so8t::cuda::bake::fold_left: bias is ") + (bias ? "given" : "null") +
                          " but bias_out is " + (bias_out ? "given" : "null"));
  using A = fold_accumulator_t<T, R>;
  if ((W.rows > 0 && W.cols > 0) || (bias != nullptr && rot.n_blocks > 0)) require_ieee_float_mode(stream);
  if (W.rows > 0 && W.cols > 0) {
    const dim3 grid(grid_for(W.cols, detail::kThreads), detail::grid_y(rot.n_blocks));
    detail::fold_left_kernel<A, T, R><<<grid, detail::kThreads, 0, stream>>>(
        W.data, W.ld, out.data, out.ld, W.cols, rot.n_blocks, rot.data, static_cast<int>(op));
    SO8T_CUDA_CHECK(cudaGetLastError());
  }
  if (bias != nullptr && rot.n_blocks > 0) {
    detail::fold_bias_kernel<A, T, R><<<grid_for(rot.n_blocks, detail::kThreads), detail::kThreads,
                                              0, stream>>>(bias, bias_out, rot.n_blocks, rot.data,
                                                           static_cast<int>(op));
    SO8T_CUDA_CHECK(cudaGetLastError());
  }
}

/// In place on the device: W <- op(R) W, bias <- op(R) bias (bias may be null).
template <class T, class R>
void fold_left(MatrixView<T> W, T* bias, BlockRotations<R> rot, RotationOp op = RotationOp::as_is,
               cudaStream_t stream = nullptr) {
  fold_left<T, R>(MatrixView<const T>(W), bias, W, bias, rot, op, stream);
}

}  // namespace so8t::cuda::bake
