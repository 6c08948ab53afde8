// so8t/so8/block_rotation.hpp: n = D/8 independent rotations, R = blockdiag(R_1 .. R_n), from an [n, 28]
// parameter array.
//
// Layouts (row-major, contiguous): params [n, 28] in so8 coordinate order; rotations [n, 8, 8]; a hidden
// vector of width D = 8n is split into n consecutive 8-wide blocks. The per-block functions below are
// what both the CPU loops here and the CUDA kernels (kernels/so8t/so8/block_rotation.cuh) call, so the CPU
// tests check the GPU's arithmetic.
//
// Gate stacks: "R_cmd after R_safe" means x -> R_cmd (R_safe x), i.e. the block product R_cmd R_safe. The
// order matters (rotations in 8 dimensions do not commute).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "so8t/so8/cayley.hpp"
#include "so8t/so8/drift.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/so8/exp_vjp.hpp"
#include "so8t/so8/lanes.hpp"
#include "so8t/so8/group.hpp"

#if SO8T_HAS_LANES
#  include <algorithm>
#  include <vector>
#endif

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

#if SO8T_HAS_LANES
/// For column j of hat(c), the coordinates of rows 0..7 except j, in row order.
struct ColumnCoords {
  int k[8][7];
  constexpr ColumnCoords() : k{} {
    for (int j = 0; j < 8; ++j)
      for (int i = 0, t = 0; i < 8; ++i)
        if (i != j) k[j][t++] = i < j ? so8_index(i, j) : so8_index(j, i);
  }
};

/// ||hat(c)||_1 straight from the 28 coordinates, adding |c| down each column in norm1(hat(c))'s order (its
/// diagonal +0 terms change nothing), so the plan is exactly the scalar path's plan.
template <class S>
S norm1_of_coords(const S* c) {
  static constexpr ColumnCoords cols{};
  S best = S(0);
  for (int j = 0; j < 8; ++j) {
    S col = S(0);
    for (int t = 0; t < 7; ++t) {
      const S v = c[cols.k[j][t]];
      col = fp::add(col, v < S(0) ? -v : v);
    }
    best = col > best ? col : best;
  }
  return best;
}

/// Runs fn(plan, ids, count) over the blocks in SIMD-width groups that share an exp plan (Padé degree and
/// squarings), so each lane pack follows one instruction stream and every block gets the operations, hence
/// the bits, of the scalar path. Blocks are bucketed by plan (a handful of distinct plans), order kept.
template <class S, class F>
void for_each_lane_group(const S* params, std::size_t n, F fn) {
  constexpr int W = Lanes<S>::kWidth;
  std::vector<std::pair<std::uint64_t, std::vector<std::size_t>>> buckets;
  for (std::size_t b = 0; b < n; ++b) {
    const ExpPlan plan = exp_plan(norm1_of_coords(params + 28 * b));
    const std::uint64_t key = (std::uint64_t(plan.degree) << 32) | std::uint64_t(plan.squarings);
    auto it = std::find_if(buckets.begin(), buckets.end(), [key](const auto& x) { return x.first == key; });
    if (it == buckets.end()) {
      buckets.emplace_back(key, std::vector<std::size_t>{});
      it = buckets.end() - 1;
    }
    it->second.push_back(b);
  }
  for (const auto& [key, ids] : buckets)
    for (std::size_t start = 0; start < ids.size(); start += W) {
      const int count = int(std::min<std::size_t>(W, ids.size() - start));
      fn(ExpPlan{int(key >> 32), int(key & 0xFFFFFFFFu)}, ids.data() + start, count);
    }
}
#endif

template <class S>
void check_finite_params(const S* params, std::size_t n, const char* fn) {
  for (std::size_t b = 0; b < n; ++b)
    for (int k = 0; k < 28; ++k)
      if (!smath::is_finite(params[28 * b + k]))
        throw InvalidArgument(std::string("so8t::") + fn + ": block " + std::to_string(b) + " coefficient " +
                              std::to_string(k) + " is " + std::to_string(double(params[28 * b + k])));
}
}  // namespace detail

/// rotations[n, 8, 8] = exp(hat(params[n, 28])). Throws InvalidArgument on a non-finite parameter, naming
/// the block and coordinate (checked before anything is written). On the host the blocks run in SIMD lane
/// packs (so8t/so8/lanes.hpp) with exactly the bits of block_exp_one, the per-block reference.
template <class S>
void block_exp(const S* params, std::size_t n, S* rotations) {
  detail::check_blocks(params, rotations, n, "block_exp");
  detail::check_finite_params(params, n, "block_exp");
#if SO8T_HAS_LANES
  detail::for_each_lane_group(params, n, [&](ExpPlan plan, const std::size_t* ids, int count) {
    const Mat8<Lanes<S>> A = gather_hat(params, ids, count, false);
    const Mat8<Lanes<S>> R = detail::expm_with_plan<Lanes<S>, false>(plan, A, A, nullptr);
    scatter_lanes(R.a, 64, ids, count, rotations, 64);
  });
#else
  for (std::size_t b = 0; b < n; ++b) block_exp_one(params + 28 * b, rotations + 64 * b);
#endif
}

/// grads[n, 28] from dL_dR[n, 8, 8] at rotations exp(hat(params)); lane packs on the host, bit-identical
/// to block_exp_vjp_one.
template <class S>
void block_exp_vjp(const S* params, const S* dL_dR, std::size_t n, S* grads) {
  detail::check_blocks(params, grads, n, "block_exp_vjp");
  detail::check_blocks(dL_dR, grads, n, "block_exp_vjp");
  detail::check_finite_params(params, n, "block_exp_vjp");
#if SO8T_HAS_LANES
  detail::for_each_lane_group(params, n, [&](ExpPlan plan, const std::size_t* ids, int count) {
    const Mat8<Lanes<S>> minusA = gather_hat(params, ids, count, true);  // L(-A, G), as exp_vjp
    const Mat8<Lanes<S>> G = gather_mat(dL_dR, ids, count);
    Mat8<Lanes<S>> Abar;
    (void)detail::expm_with_plan<Lanes<S>, true>(plan, minusA, G, &Abar);
    Lanes<S> g[28];
    for (int k = 0; k < 28; ++k) g[k] = fp::sub(Abar(so8_row(k), so8_col(k)), Abar(so8_col(k), so8_row(k)));
    scatter_lanes(g, 28, ids, count, grads, 28);
  });
#else
  for (std::size_t b = 0; b < n; ++b) block_exp_vjp_one(params + 28 * b, dL_dR + 64 * b, grads + 28 * b);
#endif
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
