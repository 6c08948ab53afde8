// so8t/pet/pet.hpp: the PET penalty, a second-difference (curvature) energy along the sequence axis
// (calibration-pet-pipeline.md §2.3), value and analytic gradient, CPU. The per-element math below is
// SO8T_HOST_DEVICE and is what the CUDA kernels (kernels/so8t/pet/pet.cuh) call.
//
// For x of shape [batch, T, D] (row-major, contiguous) and a triple mask m_{b,t}, t = 1 .. T-2:
//
//   a_{b,t} = x_{b,t+1} - 2 x_{b,t} + x_{b,t-1}
//   PET     = ( sum_{b,t} m_{b,t} ||a_{b,t}||^2 ) / ( D * sum_{b,t} m_{b,t} )
//
// m_{b,t} = 1 iff positions t-1, t, t+1 of row b are all real tokens (PetMask::valid, null = all real) of
// the same document (PetMask::segment_ids, null = one document per row). So PET is the per-element mean of
// the squared second difference: i.i.d. unit-variance x gives about 6, an affine sequence gives 0.
//
// No valid triple (T < 3, all padding, every document shorter than 3 tokens, batch = 0): PET is defined as
// 0, the gradient is 0, and PetResult::no_valid_triples is true, so a caller can tell "perfectly smooth"
// from "nothing was measured" (the spec's "0 if no valid triple").
//
// Gradient, with N = D * sum m and a_{b,t} := 0 where t is outside 1 .. T-2 or m_{b,t} = 0:
//   dPET/dx_{b,j} = (2 / N) (a_{b,j-1} - 2 a_{b,j} + a_{b,j+1})     (D2^T D2, a discrete biharmonic)
//
// Rotation invariance. Delta^2 acts on the sequence axis and a rotation Q (e.g. an SO(8) gate
// blockdiag(R)) on the channel axis, so Delta^2 (Q x_t) = Q Delta^2 x_t and ||Q a|| = ||a||: PET(Q x) =
// PET(x) for every orthogonal Q applied to every position. Consequently PET measured directly on a gate's
// own output gives the gate's parameters exactly zero gradient; the rotation only feels PET through a
// nonlinearity downstream (a later block, the final normed state) or through the task loss. Apply PET to
// the final-layer normed hidden state, not to a gate output (§2.4). tests/bake/test_pet.cpp checks both
// the invariance and the zero gradient.
//
// Accumulation is fp64 (CPU); the products go through so8t::fp so the value does not depend on compiler
// flags. NaN or infinite inputs propagate into the value. Bad shapes or null pointers throw
// so8t::InvalidArgument naming the values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "so8t/base/config.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/base/half.hpp"
#include "so8t/pet/schedule.hpp"

namespace so8t {

/// Which positions are real and which document they belong to; both [batch, T] row-major, both optional.
struct PetMask {
  const std::uint8_t* valid = nullptr;        ///< nonzero = real token, 0 = padding; null = all real
  const std::int32_t* segment_ids = nullptr;  ///< document id per position; null = one document per row
};

struct PetResult {
  double value = 0.0;              ///< PET (0 when no_valid_triples)
  std::size_t valid_triples = 0;   ///< sum of m_{b,t}
  bool no_valid_triples = true;    ///< true when valid_triples == 0 (value and gradient are then 0)
};

/// Whether the gradient overwrites the output or is added to it (as in llm.c-style backward passes).
enum class PetGradMode : int { overwrite = 0, accumulate = 1 };

// ---- per-element math, shared with the CUDA kernels ----

/// m_{b,t} for the row starting at position index `row` (= b * T), t in any range (false outside 1..T-2).
SO8T_HOST_DEVICE bool pet_triple_valid(const std::uint8_t* valid, const std::int32_t* seg, long long row,
                                       long long t, long long T) {
  if (t < 1 || t > T - 2) return false;
  if (valid != nullptr && (valid[row + t - 1] == 0 || valid[row + t] == 0 || valid[row + t + 1] == 0))
    return false;
  if (seg != nullptr && (seg[row + t - 1] != seg[row + t] || seg[row + t + 1] != seg[row + t])) return false;
  return true;
}

/// a_{b,t,d} in fp64 (x at positions row + t +- 1, channel d; D channels per position).
template <class T>
SO8T_HOST_DEVICE double pet_second_difference(const T* x, long long row, long long t, long long d, long long D) {
  const double xm = double(to_float(x[(row + t - 1) * D + d]));
  const double x0 = double(to_float(x[(row + t) * D + d]));
  const double xp = double(to_float(x[(row + t + 1) * D + d]));
  return fp::add(fp::sub(xp, fp::add(x0, x0)), xm);
}

/// a_{b,t,d} where m_{b,t} = 1, else 0.
template <class T>
SO8T_HOST_DEVICE double pet_masked_difference(const T* x, const std::uint8_t* valid, const std::int32_t* seg,
                                              long long row, long long t, long long d, long long Tlen, long long D) {
  return pet_triple_valid(valid, seg, row, t, Tlen) ? pet_second_difference(x, row, t, d, D) : 0.0;
}

/// a_{j-1} - 2 a_j + a_{j+1} at (b, j, d) with masked a: the gradient before the factor 2 / N.
template <class T>
SO8T_HOST_DEVICE double pet_gradient_stencil(const T* x, const std::uint8_t* valid, const std::int32_t* seg,
                                             long long row, long long j, long long d, long long Tlen, long long D) {
  const double am = pet_masked_difference(x, valid, seg, row, j - 1, d, Tlen, D);
  const double a0 = pet_masked_difference(x, valid, seg, row, j, d, Tlen, D);
  const double ap = pet_masked_difference(x, valid, seg, row, j + 1, d, Tlen, D);
  return fp::add(fp::sub(am, fp::add(a0, a0)), ap);
}

namespace pet_detail {
template <class T>
void check_inputs(const T* x, std::size_t batch, std::size_t seq, std::size_t dim, const char* fn) {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value ||
                    std::is_same<T, half_t>::value || std::is_same<T, bfloat16_t>::value,
                "so8t PET: x must be float, double, half_t or bfloat16_t");
  if (dim == 0 && batch > 0 && seq > 0)
    throw InvalidArgument(std::string("so8t::") + fn + ": D = 0 for x of shape [" + std::to_string(batch) + ", " +
                          std::to_string(seq) + ", 0]");
  if (x == nullptr && batch * seq * dim > 0)
    throw InvalidArgument(std::string("so8t::") + fn + ": x is a null pointer for shape [" +
                          std::to_string(batch) + ", " + std::to_string(seq) + ", " + std::to_string(dim) + "]");
}
}  // namespace pet_detail

/// Number of valid triples sum m_{b,t}.
inline std::size_t pet_valid_triples(std::size_t batch, std::size_t seq, PetMask mask = {}) {
  std::size_t n = 0;
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 1; t + 1 < seq; ++t)
      n += pet_triple_valid(mask.valid, mask.segment_ids, (long long)(b * seq), (long long)t, (long long)seq) ? 1 : 0;
  return n;
}

/// PET(x) for x [batch, seq, dim] (see the file comment).
template <class T>
PetResult pet_loss(const T* x, std::size_t batch, std::size_t seq, std::size_t dim, PetMask mask = {}) {
  pet_detail::check_inputs(x, batch, seq, dim, "pet_loss");
  PetResult r;
  double sum = 0.0;
  const long long Tl = (long long)seq, Dl = (long long)dim;
  for (std::size_t b = 0; b < batch; ++b) {
    const long long row = (long long)(b * seq);
    for (long long t = 1; t + 1 < Tl; ++t) {
      if (!pet_triple_valid(mask.valid, mask.segment_ids, row, t, Tl)) continue;
      ++r.valid_triples;
      double s = 0.0;
      for (long long d = 0; d < Dl; ++d) {
        const double a = pet_second_difference(x, row, t, d, Dl);
        s = fp::madd(s, a, a);
      }
      sum = fp::add(sum, s);
    }
  }
  r.no_valid_triples = r.valid_triples == 0;
  r.value = r.no_valid_triples ? 0.0 : sum / (double(dim) * double(r.valid_triples));
  return r;
}

/// PET(x) and grad = scale * dPET/dx ([batch, seq, dim], G float or double), overwritten or accumulated.
template <class T, class G>
PetResult pet_loss_and_grad(const T* x, std::size_t batch, std::size_t seq, std::size_t dim, PetMask mask, G* grad,
                            double scale = 1.0, PetGradMode mode = PetGradMode::overwrite) {
  static_assert(std::is_same<G, float>::value || std::is_same<G, double>::value,
                "so8t PET: the gradient must be float or double");
  pet_detail::check_inputs(x, batch, seq, dim, "pet_loss_and_grad");
  if (grad == nullptr && batch * seq * dim > 0)
    throw InvalidArgument("so8t::pet_loss_and_grad: grad is a null pointer for shape [" + std::to_string(batch) +
                          ", " + std::to_string(seq) + ", " + std::to_string(dim) + "]");
  const PetResult r = pet_loss(x, batch, seq, dim, mask);
  const double c = r.no_valid_triples ? 0.0 : 2.0 * scale / (double(dim) * double(r.valid_triples));
  const long long Tl = (long long)seq, Dl = (long long)dim;
  for (std::size_t b = 0; b < batch; ++b) {
    const long long row = (long long)(b * seq);
    for (long long j = 0; j < Tl; ++j)
      for (long long d = 0; d < Dl; ++d) {
        const double g = c == 0.0 ? 0.0 : fp::mul(c, pet_gradient_stencil(x, mask.valid, mask.segment_ids, row, j, d, Tl, Dl));
        G& out = grad[(row + j) * Dl + d];
        out = mode == PetGradMode::accumulate ? G(fp::add(double(out), g)) : G(g);
      }
  }
  return r;
}

}  // namespace so8t
