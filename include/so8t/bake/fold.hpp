// so8t/bake/fold.hpp: baking block-diagonal SO(8) gates into linear-layer weights (CPU).
//
// Convention (column vectors, as everywhere in so8t). A linear layer computes y = W x + b with W stored
// row-major [out, in] (PyTorch, llm.c and GGUF use the same memory layout). R = blockdiag(R_1 .. R_n) with
// each R_b an 8x8 rotation stored as in so8t/so8/block_rotation.hpp ([n, 8, 8] row-major).
//
//   gate on the layer's input   y = W (R x)        ->  fold_right:  W' = W R             (b unchanged)
//   gate on the layer's output  y = R (W x + b)    ->  fold_left:   W' = R W,  b' = R b
//
// Row-vector (PyTorch `out = x @ W.T + b`, x a row) equivalents, for a gate written as x -> x Q:
//
//   gate before the layer   out = (x Q) W^T        ->  W' = W Q^T    = fold_right(W, Q, RotationOp::transposed)
//   gate after the layer    out = (x W^T + b) Q    ->  W' = Q^T W,  b' = Q^T b
//                                                   = fold_left(W, b, Q, RotationOp::transposed)
//
// (x Q is the column-vector map x -> Q^T x, so Q = R^T.) fold_right_rowvec / fold_left_rowvec spell these
// out. PEFT OFT (oft_block_size = 8) applies x_block -> x_block R_P and merges as W <- W blockdiag(R_P)^T
// (so8-math-and-style.md §1c.2), i.e. peft_oft_merge = fold_right(W, R_P, transposed). The public
// zapabob/SO8T bake writes W R instead and so bakes the inverse gate (calibration-pet-pipeline.md §2.2, §2.5).
//
// Stacks: gates listed in the order they act on x (stack[0] first; "R_cmd after R_safe" is {R_safe, R_cmd})
// are composed block by block in fp64 into R = R_{k-1} .. R_0 and folded in one pass over W.
//
// Cost: never forms the D x D matrix; out * D * 8 multiply-adds and one read and one write of W, so the fold
// runs at memory bandwidth (benchmarks/bake). Precision: the weights are widened to the accumulator
// (fold_accumulator_t: fp64 if the weights or rotations are fp64, else fp32), each output is one 8-term sum
// in a fixed order with two roundings per step (so8t/bake/fold_tile.hpp), then rounded once to the storage type.
// The CPU SIMD path (xsimd), the scalar tile and the CUDA kernel therefore agree bit for bit. Translation
// units compiled by nvcc (and builds defining SO8T_FOLD_NO_SIMD) use the scalar tile on the CPU instead.
// fold_right_reference / fold_left_reference are the plain fp64 scalar references kept as oracles.
//
// Checks on a folded matrix without R (so8-math-and-style.md §1e): a right fold by an orthogonal R keeps
// every row norm (max_row_norm_change), and folding with R^T undoes it (fold_roundtrip_error).
//
// Errors: so8t::InvalidArgument, naming the values, for a folded dimension that is not a multiple of 8,
// a rotation count that does not match it, null pointers, ld < cols, output shape or overlap mismatches,
// and non-finite rotation entries.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "so8t/so8/drift.hpp"
#include "so8t/so8/mat8.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/bake/fold_tile.hpp"
#include "so8t/bake/fold_view.hpp"
#include "so8t/base/half.hpp"

#if !defined(SO8T_FOLD_NO_SIMD) && !defined(__CUDACC__) && defined(__GNUC__) && \
    (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__) && defined(__has_include)
#  if __has_include(<xsimd/xsimd.hpp>)
#    include <xsimd/xsimd.hpp>
#    define SO8T_FOLD_SIMD 1
#  endif
#endif
#ifndef SO8T_FOLD_SIMD
#  define SO8T_FOLD_SIMD 0
#endif

namespace so8t {

/// Gates in the order they act on the input: stack[0] is applied first.
template <class R>
using GateStack = std::vector<BlockRotations<R>>;

namespace fold_detail {

/// Effective matrices M_b = R_b or R_b^T in the accumulator type, [n, 64].
template <class A, class R>
std::vector<A> effective_blocks(const BlockRotations<R>& rot, RotationOp op) {
  std::vector<A> M(64 * rot.n_blocks);
  for (std::size_t b = 0; b < rot.n_blocks; ++b) fold_load_block(rot.data + 64 * b, op, M.data() + 64 * b);
  return M;
}

#if SO8T_FOLD_SIMD
template <class A, std::size_t N>
struct batch_if {
  using type = xsimd::make_sized_batch_t<A, N>;
};
/// The widest native batch of A with 8, 4 or 2 lanes (void when there is none).
template <class A>
struct fold_batch {
  using b8 = typename batch_if<A, 8>::type;
  using b4 = typename batch_if<A, 4>::type;
  using b2 = typename batch_if<A, 2>::type;
  using type = typename std::conditional<
      !std::is_void<b8>::value, b8,
      typename std::conditional<!std::is_void<b4>::value, b4, b2>::type>::type;
};

/// Lane operations on an xsimd batch, with the product kept from fusing into an FMA (fp::mul's batch
/// form), so each lane rounds exactly like ScalarOps.
template <class V>
struct BatchOps {
  template <class A>
  static V broadcast(A c) {
    return V(c);
  }
  static V mul(V a, V b) { return fp::mul(a, b); }
  static V add(V a, V b) { return a + b; }
};

template <class V, class A, class T>
V load_lanes(const T* p) {
  if constexpr (std::is_same<T, A>::value) {
    return V::load_unaligned(p);
  } else {
    alignas(64) A tmp[V::size];
    for (std::size_t i = 0; i < V::size; ++i) tmp[i] = widen<A>(p[i]);
    return V::load_unaligned(tmp);
  }
}

template <class V, class A, class T>
void store_lanes(V v, T* p) {
  if constexpr (std::is_same<T, A>::value) {
    v.store_unaligned(p);
  } else {
    alignas(64) A tmp[V::size];
    v.store_unaligned(tmp);
    for (std::size_t i = 0; i < V::size; ++i) p[i] = Narrow<T>::from(tmp[i]);
  }
}
#endif

/// Right fold, out = in * blockdiag(M): row tiles of 8 rows, each block's matrix held in registers.
template <class A, class T>
void right_fold_rows(const T* in, std::size_t ld_in, T* out, std::size_t ld_out, std::size_t rows,
                     std::size_t n_blocks, const A* M) {
  constexpr std::size_t kRowTile = 8;
#if SO8T_FOLD_SIMD
  using V = typename fold_batch<A>::type;
  if constexpr (!std::is_void<V>::value) {
    constexpr std::size_t L = V::size;  // lanes per batch, divides 8
    constexpr std::size_t G = 8 / L;    // batches per 8-wide block row
    for (std::size_t r0 = 0; r0 < rows; r0 += kRowTile) {
      const std::size_t r1 = std::min(rows, r0 + kRowTile);
      for (std::size_t b = 0; b < n_blocks; ++b) {
        V m[G][8];
        for (std::size_t g = 0; g < G; ++g)
          for (int k = 0; k < 8; ++k) m[g][k] = V::load_unaligned(M + 64 * b + 8 * k + L * g);
        for (std::size_t r = r0; r < r1; ++r) {
          const T* src = in + r * ld_in + 8 * b;
          T* dst = out + r * ld_out + 8 * b;
          A x[8];
          for (int k = 0; k < 8; ++k) x[k] = widen<A>(src[k]);
          for (std::size_t g = 0; g < G; ++g)
            store_lanes<V, A>(fold_comb8<BatchOps<V>>(x, m[g]), dst + L * g);
        }
      }
    }
    return;
  }
#endif
  for (std::size_t r0 = 0; r0 < rows; r0 += kRowTile) {
    const std::size_t r1 = std::min(rows, r0 + kRowTile);
    for (std::size_t b = 0; b < n_blocks; ++b)
      for (std::size_t r = r0; r < r1; ++r)
        fold_right_tile(in + r * ld_in + 8 * b, out + r * ld_out + 8 * b, M + 64 * b);
  }
}

/// Left fold, out = blockdiag(M) * in: for each 8-row block, columns in SIMD chunks, scalar tail.
template <class A, class T>
void left_fold_rows(const T* in, std::size_t ld_in, T* out, std::size_t ld_out, std::size_t cols,
                    std::size_t n_blocks, const A* M) {
  for (std::size_t b = 0; b < n_blocks; ++b) {
    const T* src = in + 8 * b * ld_in;
    T* dst = out + 8 * b * ld_out;
    const A* Mb = M + 64 * b;
    std::size_t c = 0;
#if SO8T_FOLD_SIMD
    using V = typename fold_batch<A>::type;
    if constexpr (!std::is_void<V>::value) {
      constexpr std::size_t L = V::size;
      for (; c + L <= cols; c += L) {
        V v[8];
        for (int k = 0; k < 8; ++k) v[k] = load_lanes<V, A>(src + k * ld_in + c);
        V r[8];
        for (int i = 0; i < 8; ++i) r[i] = fold_comb8<BatchOps<V>>(Mb + 8 * i, v);
        for (int i = 0; i < 8; ++i) store_lanes<V, A>(r[i], dst + i * ld_out + c);
      }
    }
#endif
    for (; c < cols; ++c)
      fold_left_column(src + c, static_cast<long long>(ld_in), dst + c, static_cast<long long>(ld_out), Mb);
  }
}

/// R = stack[k-1] .. stack[0], block by block, in fp64.
template <class R>
std::vector<double> compose_stack(const GateStack<R>& stack, std::size_t n_blocks, const char* fn) {
  if (stack.empty()) throw InvalidArgument(std::string("so8t::") + fn + ": empty gate stack");
  std::vector<double> acc(64 * n_blocks), g(64 * n_blocks), tmp(64 * n_blocks);
  for (std::size_t s = 0; s < stack.size(); ++s) {
    if (stack[s].n_blocks != n_blocks)
      throw InvalidArgument(std::string("so8t::") + fn + ": gate " + std::to_string(s) + " of the stack has " +
                            std::to_string(stack[s].n_blocks) + " blocks, gate 0 has " +
                            std::to_string(n_blocks));
    if (n_blocks > 0 && stack[s].data == nullptr)
      throw InvalidArgument(std::string("so8t::") + fn + ": gate " + std::to_string(s) +
                            " of the stack is a null pointer");
    for (std::size_t k = 0; k < 64 * n_blocks; ++k) g[k] = static_cast<double>(stack[s].data[k]);
    if (s == 0) {
      acc = g;
    } else {
      for (std::size_t b = 0; b < n_blocks; ++b)  // the later gate acts after: g * acc
        (Mat8<double>::load(g.data() + 64 * b) * Mat8<double>::load(acc.data() + 64 * b)).store(tmp.data() + 64 * b);
      acc.swap(tmp);
    }
  }
  return acc;
}

template <class T, class R>
void fold_right_impl(MatrixView<const T> W, MatrixView<T> out, BlockRotations<R> rot, RotationOp op,
                     const char* fn) {
  static_assert(is_weight_type<T>::value, "so8t fold: weights must be float, double, half_t or bfloat16_t");
  static_assert(std::is_same<R, float>::value || std::is_same<R, double>::value,
                "so8t fold: rotations must be float or double");
  check_fold_shapes(W, out, rot, fn, "cols of W", W.cols);
  check_rotation_values(rot, fn);
  if (W.rows == 0 || W.cols == 0) return;
  using A = fold_accumulator_t<T, R>;
  const std::vector<A> M = effective_blocks<A>(rot, op);
  right_fold_rows(W.data, W.ld, out.data, out.ld, W.rows, rot.n_blocks, M.data());
}

template <class T, class R>
void fold_left_impl(MatrixView<const T> W, const T* bias, MatrixView<T> out, T* bias_out, BlockRotations<R> rot,
                    RotationOp op, const char* fn) {
  static_assert(is_weight_type<T>::value, "so8t fold: weights must be float, double, half_t or bfloat16_t");
  static_assert(std::is_same<R, float>::value || std::is_same<R, double>::value,
                "so8t fold: rotations must be float or double");
  check_fold_shapes(W, out, rot, fn, "rows of W", W.rows);
  check_rotation_values(rot, fn);
  if ((bias == nullptr) != (bias_out == nullptr))
    throw InvalidArgument(std::string("so8t::") + fn + ": bias is " + (bias ? "given" : "null") +
                          " but bias_out is " + (bias_out ? "given" : "null"));
  using A = fold_accumulator_t<T, R>;
  const std::vector<A> M = effective_blocks<A>(rot, op);
  if (W.rows > 0 && W.cols > 0) left_fold_rows(W.data, W.ld, out.data, out.ld, W.cols, rot.n_blocks, M.data());
  if (bias != nullptr)
    for (std::size_t b = 0; b < rot.n_blocks; ++b)
      fold_left_column(bias + 8 * b, 1, bias_out + 8 * b, 1, M.data() + 64 * b);
}

}  // namespace fold_detail

// ---- right fold: W' = W blockdiag(op(R)) ----

/// In place: W <- W blockdiag(R) (op = as_is) or W blockdiag(R)^T (op = transposed). D = W.cols.
template <class T, class R>
void fold_right(MatrixView<T> W, BlockRotations<R> rot, RotationOp op = RotationOp::as_is) {
  fold_detail::fold_right_impl<T, R>(W, W, rot, op, "fold_right");
}

/// Out of place: out <- W blockdiag(op(R)). out may be W itself (same pointer and ld) but no other overlap.
template <class T, class R>
void fold_right(MatrixView<const typename fold_detail::identity<T>::type> W, MatrixView<T> out,
                BlockRotations<R> rot, RotationOp op = RotationOp::as_is) {
  fold_detail::fold_right_impl<T, R>(W, out, rot, op, "fold_right");
}

/// In place, a stack of gates (stack[0] acts first) folded as one: W <- W op(R_{k-1} .. R_0).
template <class T, class R>
void fold_right(MatrixView<T> W, const GateStack<R>& stack, RotationOp op = RotationOp::as_is) {
  const std::vector<double> c =
      fold_detail::compose_stack(stack, stack.empty() ? 0 : stack[0].n_blocks, "fold_right");
  fold_detail::fold_right_impl<T, double>(W, W, block_rotations(c.data(), c.size() / 64), op, "fold_right");
}

/// Out of place, a stack of gates.
template <class T, class R>
void fold_right(MatrixView<const typename fold_detail::identity<T>::type> W, MatrixView<T> out,
                const GateStack<R>& stack, RotationOp op = RotationOp::as_is) {
  const std::vector<double> c =
      fold_detail::compose_stack(stack, stack.empty() ? 0 : stack[0].n_blocks, "fold_right");
  fold_detail::fold_right_impl<T, double>(W, out, block_rotations(c.data(), c.size() / 64), op, "fold_right");
}

// ---- left fold: W' = blockdiag(op(R)) W, b' = op(R) b ----

/// In place: W <- op(R) W and, when bias is not null, bias[rows] <- op(R) bias. D = W.rows.
template <class T, class R>
void fold_left(MatrixView<T> W, T* bias, BlockRotations<R> rot, RotationOp op = RotationOp::as_is) {
  fold_detail::fold_left_impl<T, R>(W, bias, W, bias, rot, op, "fold_left");
}

/// Out of place: out <- op(R) W, bias_out <- op(R) bias (both biases null, or both given; they may be the
/// same array).
template <class T, class R>
void fold_left(MatrixView<const typename fold_detail::identity<T>::type> W,
               const typename fold_detail::identity<T>::type* bias, MatrixView<T> out, T* bias_out,
               BlockRotations<R> rot, RotationOp op = RotationOp::as_is) {
  fold_detail::fold_left_impl<T, R>(W, bias, out, bias_out, rot, op, "fold_left");
}

/// In place, a stack of gates on the layer's output (stack[0] acts first).
template <class T, class R>
void fold_left(MatrixView<T> W, T* bias, const GateStack<R>& stack, RotationOp op = RotationOp::as_is) {
  const std::vector<double> c =
      fold_detail::compose_stack(stack, stack.empty() ? 0 : stack[0].n_blocks, "fold_left");
  fold_detail::fold_left_impl<T, double>(W, bias, W, bias, block_rotations(c.data(), c.size() / 64), op,
                                         "fold_left");
}

// ---- row-vector (PyTorch) spellings and PEFT OFT ----

/// Gate x -> x Q (row vector) before `out = x W^T`: W <- W Q^T.
template <class T, class R>
void fold_right_rowvec(MatrixView<T> W, BlockRotations<R> Q) {
  fold_right(W, Q, RotationOp::transposed);
}

/// Gate x -> x Q (row vector) after `out = x W^T + b`: W <- Q^T W, b <- Q^T b (bias may be null).
template <class T, class R>
void fold_left_rowvec(MatrixView<T> W, T* bias, BlockRotations<R> Q) {
  fold_left(W, bias, Q, RotationOp::transposed);
}

/// PEFT OFT merge with oft_block_size = 8: W [out, in] <- W blockdiag(R_P)^T, R_P the adapter's 8x8 blocks
/// (already mapped from oft_R by the adapter's Cayley or Cayley-Neumann map), in_features / 8 of them.
template <class T, class R>
void peft_oft_merge(MatrixView<T> W, BlockRotations<R> peft_blocks) {
  fold_right(W, peft_blocks, RotationOp::transposed);
}

/// Undoes peft_oft_merge with the transpose, which is exact only for orthogonal blocks: throws
/// so8t::NotARotation naming the block when some ||R^T R - I||_F exceeds `tolerance` (PEFT's
/// Cayley-Neumann blocks can be off by 1e-2 or more; invert those instead, so8-math-and-style.md §1c.2).
template <class T, class R>
void peft_oft_unmerge(MatrixView<T> W, BlockRotations<R> peft_blocks, double tolerance = 1e-4) {
  if (peft_blocks.n_blocks > 0 && peft_blocks.data != nullptr) {
    for (std::size_t b = 0; b < peft_blocks.n_blocks; ++b) {
      Mat8<double> m;
      for (int k = 0; k < 64; ++k) m.a[k] = double(peft_blocks.data[64 * b + k]);
      const double e = orthogonality_error(m);
      if (!(e <= tolerance))
        throw NotARotation("so8t::peft_oft_unmerge: block " + std::to_string(b) + " has ||R^T R - I||_F = " +
                           std::to_string(e) + " > tolerance " + std::to_string(tolerance) +
                           "; unmerge by the inverse instead");
    }
  }
  fold_right(W, peft_blocks, RotationOp::as_is);
}

// ---- scalar fp64 references (oracles; slow, simple) ----

/// out[i, j] = sum_k W[i, 8b + k] op(R_b)(k, j') in fp64, rounded once to T. No SIMD, no shared tile code.
template <class T, class R>
void fold_right_reference(MatrixView<const typename fold_detail::identity<T>::type> W, MatrixView<T> out,
                          BlockRotations<R> rot, RotationOp op = RotationOp::as_is) {
  fold_detail::check_view(W, "fold_right_reference", "W");
  fold_detail::check_out_of_place(W, out, "fold_right_reference");
  fold_detail::check_multiple_of_8(W.cols, "fold_right_reference", "D = cols of W");
  fold_detail::check_rotations(rot, W.cols / 8, "fold_right_reference", "cols of W", W.cols);
  std::vector<double> row(W.cols);
  for (std::size_t i = 0; i < W.rows; ++i) {
    for (std::size_t j = 0; j < W.cols; ++j) row[j] = double(to_float(W.data[i * W.ld + j]));
    for (std::size_t b = 0; b < rot.n_blocks; ++b)
      for (std::size_t j = 0; j < 8; ++j) {
        double s = 0.0;
        for (std::size_t k = 0; k < 8; ++k) {
          const R m = op == RotationOp::as_is ? rot.data[64 * b + 8 * k + j] : rot.data[64 * b + 8 * j + k];
          s += row[8 * b + k] * double(m);
        }
        out.data[i * out.ld + 8 * b + j] = fold_detail::Narrow<T>::from(s);
      }
  }
}

/// out = op(R) W, bias_out = op(R) bias in fp64 (biases may both be null).
template <class T, class R>
void fold_left_reference(MatrixView<const typename fold_detail::identity<T>::type> W,
                         const typename fold_detail::identity<T>::type* bias, MatrixView<T> out, T* bias_out,
                         BlockRotations<R> rot, RotationOp op = RotationOp::as_is) {
  fold_detail::check_view(W, "fold_left_reference", "W");
  fold_detail::check_out_of_place(W, out, "fold_left_reference");
  fold_detail::check_multiple_of_8(W.rows, "fold_left_reference", "D = rows of W");
  fold_detail::check_rotations(rot, W.rows / 8, "fold_left_reference", "rows of W", W.rows);
  auto m = [&](std::size_t b, std::size_t i, std::size_t k) {
    return double(op == RotationOp::as_is ? rot.data[64 * b + 8 * i + k] : rot.data[64 * b + 8 * k + i]);
  };
  std::vector<double> col(W.rows), bcol(W.rows);
  for (std::size_t c = 0; c < W.cols; ++c) {
    for (std::size_t r = 0; r < W.rows; ++r) col[r] = double(to_float(W.data[r * W.ld + c]));
    for (std::size_t b = 0; b < rot.n_blocks; ++b)
      for (std::size_t i = 0; i < 8; ++i) {
        double s = 0.0;
        for (std::size_t k = 0; k < 8; ++k) s += m(b, i, k) * col[8 * b + k];
        out.data[(8 * b + i) * out.ld + c] = fold_detail::Narrow<T>::from(s);
      }
  }
  if (bias != nullptr && bias_out != nullptr) {
    for (std::size_t r = 0; r < W.rows; ++r) bcol[r] = double(to_float(bias[r]));
    for (std::size_t b = 0; b < rot.n_blocks; ++b)
      for (std::size_t i = 0; i < 8; ++i) {
        double s = 0.0;
        for (std::size_t k = 0; k < 8; ++k) s += m(b, i, k) * bcol[8 * b + k];
        bias_out[8 * b + i] = fold_detail::Narrow<T>::from(s);
      }
  }
}

// ---- checks on folded weights ----

/// max_i | ||after_i|| - ||before_i|| | / max(||before_i||, tiny) over rows, in fp64: near rounding for a right
/// fold by orthogonal blocks (each row is multiplied by an orthogonal matrix).
template <class T>
double max_row_norm_change(MatrixView<const T> before, MatrixView<const T> after) {
  fold_detail::check_view(before, "max_row_norm_change", "before");
  fold_detail::check_view(after, "max_row_norm_change", "after");
  if (before.rows != after.rows || before.cols != after.cols)
    throw InvalidArgument("so8t::max_row_norm_change: shapes " +
                          fold_detail::dims(before.rows, before.cols, before.ld) + " and " +
                          fold_detail::dims(after.rows, after.cols, after.ld) + " differ");
  double worst = 0.0;
  for (std::size_t i = 0; i < before.rows; ++i) {
    double a = 0.0, b = 0.0;
    for (std::size_t j = 0; j < before.cols; ++j) {
      const double x = double(to_float(before.data[i * before.ld + j]));
      const double y = double(to_float(after.data[i * after.ld + j]));
      a += x * x;
      b += y * y;
    }
    const double na = std::sqrt(a), nb = std::sqrt(b);
    const double e = std::fabs(nb - na) / std::max(na, 1e-300);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/// Folds W with R (right fold) and back with R^T, returning max |W_roundtrip - W| / max |W| (fp64 measure).
template <class T, class R>
double fold_roundtrip_error(MatrixView<const T> W, BlockRotations<R> rot) {
  fold_detail::check_view(W, "fold_roundtrip_error", "W");
  std::vector<T> buf(W.rows * W.cols);
  MatrixView<T> tmp = matrix_view(buf.data(), W.rows, W.cols);
  fold_right(W, tmp, rot, RotationOp::as_is);
  fold_right(tmp, rot, RotationOp::transposed);
  double worst = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < W.rows; ++i)
    for (std::size_t j = 0; j < W.cols; ++j) {
      const double x = double(to_float(W.data[i * W.ld + j]));
      scale = std::max(scale, std::fabs(x));
      const double e = std::fabs(double(to_float(buf[i * W.cols + j])) - x);
      if (!(e <= worst)) worst = e;
    }
  return scale > 0.0 ? worst / scale : worst;
}

}  // namespace so8t
