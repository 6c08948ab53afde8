// so8t/block_rotation.hpp: n = D/8 independent rotations, R = blockdiag(R_1 .. R_n), from an [n, 28]
// parameter array.
//
// Layouts (row-major, contiguous): params [n, 28] in so8 coordinate order; rotations [n, 8, 8]; a hidden
// vector of width D = 8n is split into n consecutive 8-wide blocks. The per-block functions below are
// what both the CPU loops here and the CUDA kernels (kernels/so8t/kernels/block_exp.cuh) call, so the CPU
// tests check the GPU's arithmetic.
//
// Gate stacks: "R_cmd after R_safe" means x -> R_cmd (R_safe x), i.e. the block product R_cmd R_safe. The
// order matters (rotations in 8 dimensions do not commute).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "so8t/cayley.hpp"
#include "so8t/drift.hpp"
#include "so8t/errors.hpp"
#include "so8t/exp_vjp.hpp"
#include "so8t/so8_group.hpp"

namespace so8t {

// ---- one block: shared by CPU loops and CUDA kernels ----

/// rotation[64] = exp(hat(params[28])).
template <class S>
SO8T_HOST_DEVICE void block_exp_one(const S* params, S* rotation) {
  expm(so8<S>(params).hat()).store(rotation);
}

/// grad[28] = d loss / d params given dL_dR[64] at rotation = exp(hat(params)).
template <class S>
SO8T_HOST_DEVICE void block_exp_vjp_one(const S* params, const S* dL_dR, S* grad) {
  const so8<S> g = exp_vjp(so8<S>(params), Mat8<S>::load(dL_dR));
  for (int k = 0; k < 28; ++k) grad[k] = g[k];
}

/// out[64] = outer[64] * inner[64] (the gate `outer` applied after `inner`).
template <class S>
SO8T_HOST_DEVICE void block_compose_one(const S* outer, const S* inner, S* out) {
  (Mat8<S>::load(outer) * Mat8<S>::load(inner)).store(out);
}

/// Gradients of out = outer * inner: dOuter = G inner^T, dInner = outer^T G.
template <class S>
SO8T_HOST_DEVICE void block_compose_vjp_one(const S* outer, const S* inner, const S* dL_dout, S* dL_douter,
                                            S* dL_dinner) {
  const Mat8<S> G = Mat8<S>::load(dL_dout);
  (G * Mat8<S>::load(inner).transpose()).store(dL_douter);
  transpose_times(Mat8<S>::load(outer), G).store(dL_dinner);
}

// ---- host loops over n blocks ----

namespace detail {
inline void check_blocks(const void* a, const void* b, std::size_t n, const char* fn) {
  if (n > 0 && (a == nullptr || b == nullptr))
    throw InvalidArgument(std::string("so8t::") + fn + ": null pointer for " + std::to_string(n) + " blocks");
}
}  // namespace detail

/// rotations[n, 8, 8] = exp(hat(params[n, 28])). Throws InvalidArgument on a non-finite parameter,
/// naming the block and coordinate (nothing is written past the blocks before it).
template <class S>
void block_exp(const S* params, std::size_t n, S* rotations) {
  detail::check_blocks(params, rotations, n, "block_exp");
  for (std::size_t b = 0; b < n; ++b) {
    for (int k = 0; k < 28; ++k)
      if (!smath::is_finite(params[28 * b + k]))
        throw InvalidArgument("so8t::block_exp: block " + std::to_string(b) + " coefficient " +
                              std::to_string(k) + " is " + std::to_string(double(params[28 * b + k])));
    block_exp_one(params + 28 * b, rotations + 64 * b);
  }
}

/// grads[n, 28] from dL_dR[n, 8, 8] at rotations exp(hat(params)).
template <class S>
void block_exp_vjp(const S* params, const S* dL_dR, std::size_t n, S* grads) {
  detail::check_blocks(params, grads, n, "block_exp_vjp");
  detail::check_blocks(dL_dR, grads, n, "block_exp_vjp");
  for (std::size_t b = 0; b < n; ++b) block_exp_vjp_one(params + 28 * b, dL_dR + 64 * b, grads + 28 * b);
}

/// out[b] = outer[b] * inner[b] for each block (R_cmd after R_safe: outer = R_cmd, inner = R_safe).
template <class S>
void block_compose(const S* outer, const S* inner, std::size_t n, S* out) {
  detail::check_blocks(outer, inner, n, "block_compose");
  detail::check_blocks(out, inner, n, "block_compose");
  for (std::size_t b = 0; b < n; ++b) block_compose_one(outer + 64 * b, inner + 64 * b, out + 64 * b);
}

/// Gradients through block_compose.
template <class S>
void block_compose_vjp(const S* outer, const S* inner, const S* dL_dout, std::size_t n, S* dL_douter,
                       S* dL_dinner) {
  detail::check_blocks(outer, inner, n, "block_compose_vjp");
  detail::check_blocks(dL_dout, dL_douter, n, "block_compose_vjp");
  detail::check_blocks(dL_dinner, dL_douter, n, "block_compose_vjp");
  for (std::size_t b = 0; b < n; ++b)
    block_compose_vjp_one(outer + 64 * b, inner + 64 * b, dL_dout + 64 * b, dL_douter + 64 * b,
                          dL_dinner + 64 * b);
}

/// y = blockdiag(R) x for a vector of width 8n (y may not alias x).
template <class S>
void block_apply(const S* rotations, std::size_t n, const S* x, S* y) {
  detail::check_blocks(rotations, x, n, "block_apply");
  detail::check_blocks(y, x, n, "block_apply");
  for (std::size_t b = 0; b < n; ++b) {
    const Vec8<S> r = Mat8<S>::load(rotations + 64 * b) * Vec8<S>::load(x + 8 * b);
    for (int i = 0; i < 8; ++i) y[8 * b + i] = r[i];
  }
}

/// Orthogonality drift over n blocks: worst and RMS of ||R_b^T R_b - I||_F, and which block is worst.
struct BlockDrift {
  double max_error = 0.0;
  double rms_error = 0.0;
  std::size_t worst_block = 0;
  double min_determinant = 1.0;
};

template <class S>
BlockDrift block_drift(const S* rotations, std::size_t n) {
  detail::check_blocks(rotations, rotations, n, "block_drift");
  BlockDrift d;
  double sum = 0.0;
  for (std::size_t b = 0; b < n; ++b) {
    const Mat8<S> R = Mat8<S>::load(rotations + 64 * b);
    const double e = double(orthogonality_error(R));
    sum += e * e;
    if (!(e <= d.max_error)) {
      d.max_error = e;
      d.worst_block = b;
    }
    const double det = double(determinant(R));
    if (det < d.min_determinant) d.min_determinant = det;
  }
  d.rms_error = n ? std::sqrt(sum / double(n)) : 0.0;
  return d;
}

}  // namespace so8t
