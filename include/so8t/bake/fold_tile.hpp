// so8t/bake/fold_tile.hpp: the arithmetic of one 8-wide fold step, shared by the CPU path (so8t/bake/fold.hpp) and
// the CUDA kernels (kernels/so8t/bake/fold.cuh).
//
// Every fold reduces to one primitive, an 8-term combination evaluated in a fixed order:
//
//     comb8(c, v) = c_0 v_0 + c_1 v_1 + ... + c_7 v_7,   k = 0..7 in order, starting from round(c_0 v_0),
//                   each step round(acc + round(c_k v_k))  (two roundings, never an FMA; so8t/base/fp.hpp)
//
// where the c_k are scalars and the v_k are "lanes": a scalar on the GPU and in the reference tile, an
// xsimd batch on the CPU. The right fold w'_j = sum_k w_k M(k, j) takes c = the 8 weights of a row block
// and v_k = row k of M; the left fold W'(i, :) = sum_k R(i, k) W(k, :) takes c = row i of R and v_k = row k
// of the 8-row weight block. Because every lane sees the same sequence of IEEE operations, the vectorised
// CPU path, the scalar tile and the CUDA kernel give the same bits (tests/bake checks CPU vs scalar tile,
// tests/bake/cuda CPU vs GPU).
//
// The lane arithmetic comes from an Ops class (static mul/add), so the same template serves scalars here
// and SIMD batches in fold.hpp without touching so8t::fp.
#pragma once

#include <type_traits>

#include "so8t/base/config.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/base/half.hpp"

namespace so8t {

/// The accumulation type of a fold: double when the weights or the rotations are double, else float
/// (so fp16/bf16/fp32 weights with fp32 rotations accumulate in fp32, as the issue requires at least).
template <class T, class R>
using fold_accumulator_t =
    typename std::conditional<std::is_same<T, double>::value || std::is_same<R, double>::value, double,
                              float>::type;

/// Which matrix of a stored block the fold uses: the block itself or its transpose (unfold, PEFT OFT merge,
/// row-vector gates).
enum class RotationOp : int { as_is = 0, transposed = 1 };

namespace fold_detail {

/// Scalar lane operations: exactly so8t::fp (flag-independent rounding), host and device.
struct ScalarOps {
  template <class A>
  SO8T_HOST_DEVICE static A broadcast(A c) {
    return c;
  }
  template <class A>
  SO8T_HOST_DEVICE static A mul(A a, A b) {
    return fp::mul(a, b);
  }
  template <class A>
  SO8T_HOST_DEVICE static A add(A a, A b) {
    return fp::add(a, b);
  }
};

/// Storage -> accumulator (exact for every supported pair) and back (one rounding, nearest-even).
template <class A>
SO8T_HOST_DEVICE A widen(float x) {
  return static_cast<A>(x);
}
template <class A>
SO8T_HOST_DEVICE A widen(double x) {
  return static_cast<A>(x);
}
template <class A>
SO8T_HOST_DEVICE A widen(half_t x) {
  return static_cast<A>(x.to_float());
}
template <class A>
SO8T_HOST_DEVICE A widen(bfloat16_t x) {
  return static_cast<A>(x.to_float());
}

template <class T>
struct Narrow {
  template <class A>
  SO8T_HOST_DEVICE static T from(A x) {
    return static_cast<T>(x);
  }
};
template <>
struct Narrow<half_t> {
  // double -> fp16 goes through float: double rounding could in principle differ from one direct rounding
  // in a tie case, so the fp64 accumulator is only used for fp16 weights when the caller passes double
  // rotations; the fp32 path (the common one) rounds once.
  template <class A>
  SO8T_HOST_DEVICE static half_t from(A x) {
    return half_t::from_float(static_cast<float>(x));
  }
};
template <>
struct Narrow<bfloat16_t> {
  template <class A>
  SO8T_HOST_DEVICE static bfloat16_t from(A x) {
    return bfloat16_t::from_float(static_cast<float>(x));
  }
};

}  // namespace fold_detail

/// comb8: sum_k c[k] * v[k] for k = 0..7 in order, two roundings per step (see the file comment).
template <class Ops, class V, class A>
SO8T_HOST_DEVICE V fold_comb8(const A* c, const V* v) {
  V acc = Ops::mul(Ops::broadcast(c[0]), v[0]);
  SO8T_UNROLL for (int k = 1; k < 8; ++k) acc = Ops::add(acc, Ops::mul(Ops::broadcast(c[k]), v[k]));
  return acc;
}

/// Loads one stored 8x8 block (row-major, 64 values) as the effective matrix M = R or R^T, converted to
/// the accumulator type A.
template <class A, class R>
SO8T_HOST_DEVICE void fold_load_block(const R* block, RotationOp op, A* M) {
  if (op == RotationOp::as_is) {
    for (int k = 0; k < 64; ++k) M[k] = static_cast<A>(block[k]);
  } else {
    for (int i = 0; i < 8; ++i)
      SO8T_UNROLL for (int j = 0; j < 8; ++j) M[8 * i + j] = static_cast<A>(block[8 * j + i]);
  }
}

/// Right-fold tile: out[0..8) = in[0..8) * M for one row block (row vector times the 8x8 matrix M).
/// `in` and `out` may be the same 8 values (in place).
template <class A, class T>
SO8T_HOST_DEVICE void fold_right_tile(const T* in, T* out, const A* M) {
  A x[8];
  SO8T_UNROLL for (int k = 0; k < 8; ++k) x[k] = fold_detail::widen<A>(in[k]);
  for (int j = 0; j < 8; ++j) {
    A col[8];
    SO8T_UNROLL for (int k = 0; k < 8; ++k) col[k] = M[8 * k + j];
    out[j] = fold_detail::Narrow<T>::from(fold_comb8<fold_detail::ScalarOps>(x, col));
  }
}

/// Left-fold tile for one column: out_i = sum_k M(i, k) in_k for the 8 values in_k = W(8b + k, c) read with
/// row stride `ld`; written with stride `ld_out`. `in` and `out` may be the same column (in place).
template <class A, class T>
SO8T_HOST_DEVICE void fold_left_column(const T* in, long long ld, T* out, long long ld_out, const A* M) {
  A v[8];
  SO8T_UNROLL for (int k = 0; k < 8; ++k) v[k] = fold_detail::widen<A>(in[k * ld]);
  A r[8];
  SO8T_UNROLL for (int i = 0; i < 8; ++i) r[i] = fold_comb8<fold_detail::ScalarOps>(M + 8 * i, v);
  SO8T_UNROLL for (int i = 0; i < 8; ++i) out[i * ld_out] = fold_detail::Narrow<T>::from(r[i]);
}

}  // namespace so8t
