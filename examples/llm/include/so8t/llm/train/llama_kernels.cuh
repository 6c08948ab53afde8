// so8t/llm/train/llama_kernels.cuh (namespace so8t::llm::cuda): the non-GEMM kernels of the tiny gated
// llama's CUDA training path
//: RMSNorm, RoPE, causal softmax, SwiGLU, SO(8) gate application, embedding, cross-entropy,
// gradient norm and AdamW, forward and backward. The matrix products are cuBLAS calls in llama_cuda.cuh.
//
// Every kernel mirrors a loop of so8t/llm/train/llama_cpu.hpp (same formulas, same evaluation order per
// element where it matters); layouts are the CPU's: activations [N = B*T, width] row-major, attention
// probabilities [B, H, T, T], gate rotations [dim/8, 8, 8]. All pointers are device pointers. Row kernels
// (one CUDA block per row) need blockDim.x to be a multiple of 32 (kRowThreads); their block reductions are
// so8t/base/reduce.cuh's.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "so8t/base/launch.cuh"
#include "so8t/base/reduce.cuh"
#include "so8t/so8/block_rotation.hpp"

namespace so8t::llm::cuda {

constexpr int kRowThreads = 128;  ///< threads per row for the row kernels (multiple of 32)
constexpr int kEwThreads = 256;   ///< threads per block for the element-wise kernels
constexpr unsigned kEwMaxBlocks = 8192;

/// Grid for a grid-stride element-wise kernel over n items.
inline unsigned ew_grid(std::size_t n) { return ::so8t::cuda::grid_for_capped(n, kEwThreads, kEwMaxBlocks); }


#define SO8T_GRID_STRIDE(k, n) \
  for (std::size_t k = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; k < (n); k += std::size_t(gridDim.x) * blockDim.x)

// ---- embedding ----

/// x[n, :] = E[tokens[n], :].
template <int kUnused = 0>
__global__ void embed_fwd_kernel(const float* __restrict__ E, const std::int32_t* __restrict__ tokens,
                                 float* __restrict__ x, std::size_t N, int d) {
  SO8T_GRID_STRIDE(k, N * d) {
    const std::size_t n = k / d, i = k % d;
    x[k] = E[std::size_t(tokens[n]) * d + i];
  }
}

/// dE[tokens[n], :] += dx[n, :] (atomic: a token may repeat).
template <int kUnused = 0>
__global__ void embed_bwd_kernel(const float* __restrict__ dx, const std::int32_t* __restrict__ tokens,
                                 float* __restrict__ dE, std::size_t N, int d) {
  SO8T_GRID_STRIDE(k, N * d) {
    const std::size_t n = k / d, i = k % d;
    atomicAdd(&dE[std::size_t(tokens[n]) * d + i], dx[k]);
  }
}

// ---- RMSNorm ----

/// One block per row: rstd[n] = 1 / sqrt(mean(x^2) + eps), y = x * rstd * (gain or 1).
template <int kUnused = 0>
__global__ void rmsnorm_fwd_kernel(const float* __restrict__ x, const float* __restrict__ gain,
                                   float* __restrict__ y, float* __restrict__ rstd, int d, float eps) {
  __shared__ float sh[32];
  const std::size_t n = blockIdx.x;
  const float* xr = x + n * d;
  float ss = 0.f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) ss += xr[i] * xr[i];
  ss = ::so8t::cuda::block_reduce_sum(ss, sh);
  const float r = 1.f / sqrtf(ss / float(d) + eps);
  if (threadIdx.x == 0) rstd[n] = r;
  float* yr = y + n * d;
  for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = xr[i] * r * (gain ? gain[i] : 1.f);
}

/// One block per row. xhat = normed ? in : in * rstd (the normalised input, without gain);
/// dx (+)= rstd * (dy g - xhat * mean(dy g xhat)), g = gain or 1.
template <int kUnused = 0>
__global__ void rmsnorm_bwd_kernel(const float* __restrict__ in, int normed, const float* __restrict__ rstd,
                                   const float* __restrict__ gain, const float* __restrict__ dy,
                                   float* __restrict__ dx, int d, int accumulate) {
  __shared__ float sh[32];
  const std::size_t n = blockIdx.x;
  const float* ir = in + n * d;
  const float* dyr = dy + n * d;
  const float r = rstd[n];
  float dot = 0.f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    const float xh = normed ? ir[i] : ir[i] * r;
    dot += dyr[i] * (gain ? gain[i] : 1.f) * xh;
  }
  dot = ::so8t::cuda::block_reduce_sum(dot, sh) / float(d);
  float* dxr = dx + n * d;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    const float xh = normed ? ir[i] : ir[i] * r;
    const float v = r * (dyr[i] * (gain ? gain[i] : 1.f) - xh * dot);
    dxr[i] = accumulate ? dxr[i] + v : v;
  }
}

/// dgain[i] += sum_n dy[n, i] * xhat[n, i], xhat = in * (rstd ? rstd[n] : 1). Block (32, 8), grid
/// (ceil(d / 32), row chunks): block (bx, by) sums rows by * 8 + ty, stepping 8 * gridDim.y, then one atomicAdd
/// per column.
template <int kUnused = 0>
__global__ void rms_dgain_kernel(const float* __restrict__ dy, const float* __restrict__ in,
                                 const float* __restrict__ rstd, std::size_t N, int d, float* __restrict__ dgain) {
  __shared__ float sh[8][33];
  const int i = blockIdx.x * 32 + threadIdx.x;
  float s = 0.f;
  if (i < d)
    for (std::size_t n = std::size_t(blockIdx.y) * 8 + threadIdx.y; n < N; n += std::size_t(8) * gridDim.y)
      s += dy[n * d + i] * (in[n * d + i] * (rstd ? rstd[n] : 1.f));
  sh[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && i < d) {
    float t = 0.f;
    for (int y = 0; y < 8; ++y) t += sh[y][threadIdx.x];
    atomicAdd(&dgain[i], t);
  }
}

/// Row chunks (gridDim.y) for rms_dgain_kernel: about 256 rows per block, at most 64 chunks.
inline unsigned dgain_chunks(std::size_t N) {
  const std::size_t c = (N + 255) / 256;
  return c == 0 ? 1u : (c < 64 ? unsigned(c) : 64u);
}

/// out[n, i] = a[n, i] * g[i].
template <int kUnused = 0>
__global__ void mul_rowvec_kernel(const float* __restrict__ a, const float* __restrict__ g,
                                  float* __restrict__ out, std::size_t N, int d) {
  SO8T_GRID_STRIDE(k, N * d) out[k] = a[k] * g[k % d];
}

// ---- RoPE on adjacent pairs (2i, 2i+1) of every head ----

/// a: [N, width], heads of hd along width, position t = n % T; cs, sn: [T, hd/2]. inverse: rotate by -angle.
template <int kUnused = 0>
__global__ void rope_kernel(float* __restrict__ a, std::size_t N, int T, int width, int hd,
                            const float* __restrict__ cs, const float* __restrict__ sn, int inverse) {
  const int half = hd / 2, pairs = width / 2;
  SO8T_GRID_STRIDE(p, N * pairs) {
    const std::size_t n = p / pairs;
    const int q = int(p % pairs);  // pair q = elements (2q, 2q+1) of the row: head q / half, i = q % half
    const int i = q % half, t = int(n % T);
    float* e = a + n * width + 2 * q;
    const float c = cs[t * half + i], s = inverse ? -sn[t * half + i] : sn[t * half + i];
    const float a0 = e[0], a1 = e[1];
    e[0] = a0 * c - a1 * s;
    e[1] = a0 * s + a1 * c;
  }
}

// ---- causal softmax over attention rows [B*H*T rows of length T] ----

/// One block per row (b, h, i): row[j] = softmax over j <= i, 0 for j > i.
template <int kUnused = 0>
__global__ void softmax_causal_kernel(float* __restrict__ att, int T) {
  __shared__ float sh[32];
  const std::size_t rowi = blockIdx.x;
  const int i = int(rowi % T);
  float* row = att + rowi * T;
  float mx = -3.402823466e38f;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) mx = fmaxf(mx, row[j]);
  mx = ::so8t::cuda::block_reduce_max(mx, sh);
  float sum = 0.f;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) {
    const float e = expf(row[j] - mx);
    row[j] = e;
    sum += e;
  }
  sum = ::so8t::cuda::block_reduce_sum(sum, sh);
  const float inv = 1.f / sum;
  for (int j = threadIdx.x; j < T; j += blockDim.x) row[j] = j <= i ? row[j] * inv : 0.f;
}

/// One block per row: dP[j] = A[j] (dP[j] - sum_k A[k] dP[k]) * scale for j <= i, 0 for j > i (in place).
template <int kUnused = 0>
__global__ void softmax_causal_bwd_kernel(const float* __restrict__ att, float* __restrict__ dP, int T,
                                          float scale) {
  __shared__ float sh[32];
  const std::size_t rowi = blockIdx.x;
  const int i = int(rowi % T);
  const float* a = att + rowi * T;
  float* g = dP + rowi * T;
  float dot = 0.f;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) dot += a[j] * g[j];
  dot = ::so8t::cuda::block_reduce_sum(dot, sh);
  for (int j = threadIdx.x; j < T; j += blockDim.x) g[j] = j <= i ? a[j] * (g[j] - dot) * scale : 0.f;
}

// ---- SwiGLU ----

template <int kUnused = 0>
__global__ void swiglu_fwd_kernel(const float* __restrict__ h1, const float* __restrict__ h3,
                                  float* __restrict__ hg, std::size_t n) {
  SO8T_GRID_STRIDE(k, n) {
    const float a = h1[k];
    hg[k] = a / (1.f + expf(-a)) * h3[k];
  }
}

template <int kUnused = 0>
__global__ void swiglu_bwd_kernel(const float* __restrict__ h1, const float* __restrict__ h3,
                                  const float* __restrict__ dhg, float* __restrict__ dh1,
                                  float* __restrict__ dh3, std::size_t n) {
  SO8T_GRID_STRIDE(k, n) {
    const float a = h1[k];
    const float sg = 1.f / (1.f + expf(-a));
    dh3[k] = dhg[k] * (a * sg);
    dh1[k] = dhg[k] * h3[k] * sg * (1.f + a * (1.f - sg));
  }
}

// ---- SO(8) gate: y[n, 8b + r] = sum_c R[b, r, c] x[n, 8b + c] ----

/// y[n, 8b + i] = sum_j M[b, i, j] x[n, 8b + j] with M = R (the forward) or, kTranspose, M = R^T: the backward
/// dx[n, 8b + c] = sum_r dy[n, 8b + r] R[b, r, c].
template <bool kTranspose>
__global__ void gate_apply_kernel(const float* __restrict__ x, const float* __restrict__ R, float* __restrict__ y,
                                  std::size_t N, int d) {
  constexpr int kStep = kTranspose ? 8 : 1;  // stride along row i of M inside R's row-major 8x8 block
  SO8T_GRID_STRIDE(k, N * d) {
    const std::size_t n = k / d;
    const int col = int(k % d), blk = col / 8, i = col % 8;
    const float* xr = x + n * d + blk * 8;
    const float* Mi = R + blk * 64 + (kTranspose ? i : i * 8);
    float s = 0.f;
    for (int j = 0; j < 8; ++j) s += Mi[j * kStep] * xr[j];
    y[k] = s;
  }
}

/// One block per entry (b, r, c) of dR [d/8, 8, 8]: dR[b, r, c] = sum_n dy[n, 8b + r] x[n, 8b + c].
template <int kUnused = 0>
__global__ void gate_bwd_dR_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                   float* __restrict__ dR, std::size_t N, int d) {
  __shared__ float sh[32];
  const int id = blockIdx.x, blk = id / 64, r = (id / 8) % 8, c = id % 8;
  float s = 0.f;
  for (std::size_t n = threadIdx.x; n < N; n += blockDim.x) s += dy[n * d + blk * 8 + r] * x[n * d + blk * 8 + c];
  s = ::so8t::cuda::block_reduce_sum(s, sh);
  if (threadIdx.x == 0) dR[id] = s;
}

/// Per block: d outer = G inner^T, d inner = outer^T G (so8t::block_compose_vjp_one).
template <int kUnused = 0>
__global__ void compose_vjp_kernel(const float* __restrict__ outer, const float* __restrict__ inner,
                                   const float* __restrict__ G, std::size_t n, float* __restrict__ douter,
                                   float* __restrict__ dinner) {
  const std::size_t b = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (b < n) block_compose_vjp_one(outer + 64 * b, inner + 64 * b, G + 64 * b, douter + 64 * b, dinner + 64 * b);
}

// ---- cross-entropy ----

/// One block per row: logits -> probabilities in place; row_loss[n] = -log(max(p[target], 1e-300)) (fp64).
template <int kUnused = 0>
__global__ void ce_fwd_kernel(float* __restrict__ logits, const std::int32_t* __restrict__ targets, int V,
                              double* __restrict__ row_loss) {
  __shared__ float sh[32];
  const std::size_t n = blockIdx.x;
  float* p = logits + n * V;
  float mx = -3.402823466e38f;
  for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, p[j]);
  mx = ::so8t::cuda::block_reduce_max(mx, sh);
  float sum = 0.f;
  for (int j = threadIdx.x; j < V; j += blockDim.x) {
    const float e = expf(p[j] - mx);
    p[j] = e;
    sum += e;
  }
  sum = ::so8t::cuda::block_reduce_sum(sum, sh);
  const float inv = 1.f / sum;
  for (int j = threadIdx.x; j < V; j += blockDim.x) p[j] *= inv;
  __syncthreads();
  if (threadIdx.x == 0) row_loss[n] = -log(fmax(double(p[targets[n]]), 1e-300));
}

/// dl[n, j] = p[n, j] / N - [j == target[n]] / N.
template <int kUnused = 0>
__global__ void ce_bwd_kernel(const float* __restrict__ probs, const std::int32_t* __restrict__ targets,
                              float* __restrict__ dl, std::size_t N, int V, float invN) {
  SO8T_GRID_STRIDE(k, N * V) {
    const std::size_t n = k / V;
    const int j = int(k % V);
    const float v = probs[k] * invN;
    dl[k] = j == targets[n] ? v - invN : v;
  }
}

// ---- optimizer ----

/// *out += sum g^2 (fp64 accumulation; *out must be zeroed first).
template <int kUnused = 0>
__global__ void sumsq_kernel(const float* __restrict__ g, std::size_t n, double* __restrict__ out) {
  __shared__ double sh[32];
  double s = 0.0;
  SO8T_GRID_STRIDE(k, n) s += double(g[k]) * double(g[k]);
  s = ::so8t::cuda::block_reduce_sum(s, sh);
  if (threadIdx.x == 0) atomicAdd(out, s);
}

template <int kUnused = 0>
__global__ void scale_kernel(float* __restrict__ g, std::size_t n, float s) {
  SO8T_GRID_STRIDE(k, n) g[k] *= s;
}

/// AdamW as so8t::llm::AdamW<float>::step, element by element.
template <int kUnused = 0>
__global__ void adamw_kernel(float* __restrict__ params, const float* __restrict__ grads,
                             float* __restrict__ m, float* __restrict__ v,
                             const std::uint8_t* __restrict__ decay, std::size_t n, float b1, float b2,
                             float lr, float eps, float wd, float inv_bc1, float inv_bc2) {
  SO8T_GRID_STRIDE(i, n) {
    const float g = grads[i];
    m[i] = b1 * m[i] + (1.f - b1) * g;
    v[i] = b2 * v[i] + (1.f - b2) * g * g;
    const float mh = m[i] * inv_bc1, vh = v[i] * inv_bc2;
    params[i] -= lr * (mh / (sqrtf(vh) + eps) + (decay[i] ? wd * params[i] : 0.f));
  }
}

#undef SO8T_GRID_STRIDE

}  // namespace so8t::llm::cuda
