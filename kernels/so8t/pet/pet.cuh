// so8t/pet/pet.cuh: PET value and gradient on the GPU, namespace so8t::cuda::pet (definitions and conventions in
// so8t/pet/pet.hpp).
//
//   pass 1  pet_partial_kernel   grid-stride over (b, t, d) with t = 1..T-2: each thread sums m a^2 in fp64
//                                and counts triples (at d = 0); cub::BlockReduce gives one partial per block;
//   pass 2  pet_finalize_kernel  one block reduces the partials (fixed grid, fixed order: deterministic) and
//                                writes {sum, count} to device memory;
//   pass 3  pet_grad_kernel      one thread per element, (2 scale / (D count)) (a_{j-1} - 2 a_j + a_{j+1}),
//                                reading the count from pass 2, so no host round trip sits between passes.
// The per-element math is the SO8T_HOST_DEVICE code of so8t/pet.hpp. x, the mask arrays and grad are device
// pointers. The value agrees with the CPU to fp64 rounding of a differently ordered sum; the gradient
// agrees exactly when the count is the same (it is computed element by element in the same order).
// Every CUDA call is checked (so8t::CudaError).
#pragma once

#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstddef>
#include <string>

#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/base/launch.cuh"
#include "so8t/pet/pet.hpp"

namespace so8t::cuda::pet {

namespace detail {

constexpr int kThreads = 256;
constexpr unsigned kMaxBlocks = 1024;

struct PetSums {
  double sum;
  unsigned long long count;
};

template <class T>
__global__ void pet_partial_kernel(const T* x, const std::uint8_t* valid, const std::int32_t* seg, long long B,
                                   long long Tn, long long D, double* partial_sum, unsigned long long* partial_count) {
  using ReduceD = cub::BlockReduce<double, kThreads>;
  using ReduceU = cub::BlockReduce<unsigned long long, kThreads>;
  __shared__ typename ReduceD::TempStorage tmp_d;
  __shared__ typename ReduceU::TempStorage tmp_u;
  const long long inner = Tn - 2;
  const long long total = inner > 0 ? B * inner * D : 0;
  double s = 0.0;
  unsigned long long n = 0;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const long long d = i % D;
    const long long bt = i / D;
    const long long t = 1 + bt % inner;
    const long long row = (bt / inner) * Tn;
    if (!pet_triple_valid(valid, seg, row, t, Tn)) continue;
    const double a = pet_second_difference(x, row, t, d, D);
    s = fp::madd(s, a, a);
    if (d == 0) ++n;
  }
  const double bs = ReduceD(tmp_d).Sum(s);
  const unsigned long long bn = ReduceU(tmp_u).Sum(n);
  if (threadIdx.x == 0) {
    partial_sum[blockIdx.x] = bs;
    partial_count[blockIdx.x] = bn;
  }
}

template <int kUnused = 0>
__global__ void pet_finalize_kernel(const double* partial_sum, const unsigned long long* partial_count,
                                           unsigned n_partials, PetSums* out) {
  using ReduceD = cub::BlockReduce<double, kThreads>;
  using ReduceU = cub::BlockReduce<unsigned long long, kThreads>;
  __shared__ typename ReduceD::TempStorage tmp_d;
  __shared__ typename ReduceU::TempStorage tmp_u;
  double s = 0.0;
  unsigned long long n = 0;
  for (unsigned i = threadIdx.x; i < n_partials; i += blockDim.x) {
    s = fp::add(s, partial_sum[i]);
    n += partial_count[i];
  }
  const double bs = ReduceD(tmp_d).Sum(s);
  const unsigned long long bn = ReduceU(tmp_u).Sum(n);
  if (threadIdx.x == 0) {
    out->sum = bs;
    out->count = bn;
  }
}

template <class T, class G>
__global__ void pet_grad_kernel(const T* x, const std::uint8_t* valid, const std::int32_t* seg, long long B,
                                long long Tn, long long D, const PetSums* sums, double scale, int accumulate, G* grad) {
  const long long total = B * Tn * D;
  const unsigned long long count = sums->count;
  const double c = count == 0 ? 0.0 : 2.0 * scale / (double(D) * double(count));
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const long long d = i % D;
    const long long bt = i / D;
    const long long j = bt % Tn;
    const long long row = (bt / Tn) * Tn;
    const double g = c == 0.0 ? 0.0 : fp::mul(c, pet_gradient_stencil(x, valid, seg, row, j, d, Tn, D));
    grad[i] = accumulate ? G(fp::add(double(grad[i]), g)) : G(g);
  }
}

}  // namespace detail

/// Device scratch of the PET calls: per-block partial sums and the {sum, count} pair, allocated once at the
/// largest grid (kMaxBlocks = 1024 blocks, 16 KiB) on first use and reused. Keep one per stream next to a
/// training loop so no step allocates; the overloads without one allocate a workspace per call.
class PetWorkspace {
 public:
  PetWorkspace() = default;  // no CUDA call
  void reserve() {
    if (!sums_.empty()) return;
    partial_sum_ = DeviceBuffer<double>(detail::kMaxBlocks, "PET partial sums");
    partial_count_ = DeviceBuffer<unsigned long long>(detail::kMaxBlocks, "PET partial counts");
    sums_ = DeviceBuffer<detail::PetSums>(1, "PET sums");
  }
  double* partial_sum() const { return partial_sum_.get(); }
  unsigned long long* partial_count() const { return partial_count_.get(); }
  detail::PetSums* sums() const { return sums_.get(); }

 private:
  DeviceBuffer<double> partial_sum_;
  DeviceBuffer<unsigned long long> partial_count_;
  DeviceBuffer<detail::PetSums> sums_;
};

namespace detail {

using Scratch = PetWorkspace;

inline unsigned blocks_for(long long n) { return grid_for_capped(n > 0 ? std::size_t(n) : 0, kThreads, kMaxBlocks); }

template <class T>
void run_value(const T* x, std::size_t B, std::size_t Tn, std::size_t D, PetMask mask, Scratch& s, unsigned blocks,
               cudaStream_t stream) {
  pet_partial_kernel<T><<<blocks, kThreads, 0, stream>>>(x, mask.valid, mask.segment_ids, (long long)B, (long long)Tn,
                                                          (long long)D, s.partial_sum(), s.partial_count());
  SO8T_CUDA_CHECK(cudaGetLastError());
  pet_finalize_kernel<><<<1, kThreads, 0, stream>>>(s.partial_sum(), s.partial_count(), blocks, s.sums());
  SO8T_CUDA_CHECK(cudaGetLastError());
}

inline PetResult read_result(const Scratch& s, std::size_t D, cudaStream_t stream) {
  PetSums h{};
  SO8T_CUDA_CHECK(cudaMemcpyAsync(&h, s.sums(), sizeof(PetSums), cudaMemcpyDeviceToHost, stream));
  SO8T_CUDA_CHECK(cudaStreamSynchronize(stream));
  PetResult r;
  r.valid_triples = std::size_t(h.count);
  r.no_valid_triples = h.count == 0;
  r.value = r.no_valid_triples ? 0.0 : h.sum / (double(D) * double(h.count));
  return r;
}

}  // namespace detail

/// PET(x) on the device: x [batch, seq, dim] and the mask arrays are device pointers; `ws` is the scratch
/// (no allocation after its first use). Synchronises `stream`.
template <class T>
PetResult pet_loss(const T* x, std::size_t batch, std::size_t seq, std::size_t dim, PetMask mask, PetWorkspace& ws,
                   cudaStream_t stream = nullptr) {
  pet_detail::check_inputs(x, batch, seq, dim, "cuda::pet::pet_loss");
  const long long inner = seq >= 3 ? (long long)(batch * (seq - 2) * dim) : 0;
  const unsigned blocks = detail::blocks_for(inner);
  ws.reserve();
  detail::run_value(x, batch, seq, dim, mask, ws, blocks, stream);
  return detail::read_result(ws, dim, stream);
}

/// As above with a workspace of its own (allocated and freed in this call).
template <class T>
PetResult pet_loss(const T* x, std::size_t batch, std::size_t seq, std::size_t dim, PetMask mask = {},
                   cudaStream_t stream = nullptr) {
  PetWorkspace ws;
  return pet_loss(x, batch, seq, dim, mask, ws, stream);
}

/// PET(x) and grad = scale * dPET/dx on the device (grad [batch, seq, dim] float or double, overwritten or
/// accumulated), with `ws` as the scratch. Synchronises `stream`.
template <class T, class G>
PetResult pet_loss_and_grad(const T* x, std::size_t batch, std::size_t seq, std::size_t dim, PetMask mask, G* grad,
                            double scale, PetGradMode mode, PetWorkspace& ws, cudaStream_t stream = nullptr) {
  static_assert(std::is_same<G, float>::value || std::is_same<G, double>::value,
                "so8t::cuda::pet::pet_loss_and_grad: the gradient must be float or double");
  pet_detail::check_inputs(x, batch, seq, dim, "cuda::pet::pet_loss_and_grad");
  if (grad == nullptr && batch * seq * dim > 0)
    throw InvalidArgument("so8t::cuda::pet::pet_loss_and_grad: grad is a null pointer for shape [" +
                          std::to_string(batch) + ", " + std::to_string(seq) + ", " + std::to_string(dim) + "]");
  const long long inner = seq >= 3 ? (long long)(batch * (seq - 2) * dim) : 0;
  const unsigned blocks = detail::blocks_for(inner);
  ws.reserve();
  detail::run_value(x, batch, seq, dim, mask, ws, blocks, stream);
  const long long total = (long long)(batch * seq * dim);
  if (total > 0) {
    const unsigned gblocks = grid_for_capped(std::size_t(total), detail::kThreads, 65535u);
    detail::pet_grad_kernel<T, G><<<gblocks, detail::kThreads, 0, stream>>>(
        x, mask.valid, mask.segment_ids, (long long)batch, (long long)seq, (long long)dim, ws.sums(), scale,
        mode == PetGradMode::accumulate ? 1 : 0, grad);
    SO8T_CUDA_CHECK(cudaGetLastError());
  }
  return detail::read_result(ws, dim, stream);
}

/// As above with a workspace of its own (allocated and freed in this call).
template <class T, class G>
PetResult pet_loss_and_grad(const T* x, std::size_t batch, std::size_t seq, std::size_t dim, PetMask mask, G* grad,
                            double scale = 1.0, PetGradMode mode = PetGradMode::overwrite,
                            cudaStream_t stream = nullptr) {
  PetWorkspace ws;
  return pet_loss_and_grad(x, batch, seq, dim, mask, grad, scale, mode, ws, stream);
}

}  // namespace so8t::cuda::pet
