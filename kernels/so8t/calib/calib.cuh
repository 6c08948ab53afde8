// so8t/calib/calib.cuh: CUDA reductions over [tokens, vocab] logits for the quality-control metrics.
//
// The per-row work is the same one-pass online softmax as on the CPU (so8t/calib/softmax_stats.hpp, whose
// SO8T_HOST_DEVICE members run in the kernels): one thread block per row, each thread streams a strided
// slice of the vocabulary into its own accumulator, and cub::BlockReduce merges them (ties in the maximum
// keep the lowest index, as on the CPU). Everything is accumulated in double. Per-token results are then
// reduced over tokens by one block that sums every field at once (field_sums_kernel: no cub scratch, so a call
// makes one device allocation, the per-token results plus the sums and bins), and the calibration bins (torchmetrics edge rule or
// guo, calib/binning.hpp) with one block that sums each slot with cub::BlockReduce: every reduction is
// deterministic (no atomics), so a run gives the same bits each time; the CPU path sums in another order,
// so CPU and GPU agree to rounding (~1e-13 relative), not bit for bit.
//
// Host wrappers (namespace so8t::cuda::calib, suffix _cuda; kernels and helpers in so8t::cuda::calib::detail)
// take device pointers, check every CUDA call with
// SO8T_CUDA_CHECK, synchronise the given stream before returning, and throw so8t::InvalidArgument for bad
// input (empty shapes, labels out of range, non-finite logits: found on the device, then reported with the
// token and index), like the CPU functions:
//   compare_logits_cuda(d_pre, d_post, tokens, vocab)         -> so8t::calib::LogitComparison
//   calibration_summary_cuda(d_logits, d_labels, tokens, vocab, options)
//                                                             -> DeviceCalibration (ECE/RMSCE/MCE + bins,
//                                                                Brier, NLL, perplexity, accuracy, entropy)
//   entropy_series_cuda(d_logits, tokens, vocab, h_entropy, h_max_logit)   per-position series (host out)
#pragma once

#include <cuda_runtime.h>

#include <cub/cub.cuh>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "so8t/calib/binning.hpp"
#include "so8t/calib/compare.hpp"
#include "so8t/calib/scores.hpp"
#include "so8t/calib/softmax_stats.hpp"
#include "so8t/calib/views.hpp"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/base/launch.cuh"

namespace so8t::cuda::calib {
namespace detail {

constexpr int kCalibThreads = 256;

/// Per-row results of row_stats_kernel.
struct RowResult {
  double confidence;   ///< top probability at temperature 1/beta
  double log_prob;     ///< ln p(label) (0 without labels or for ignored rows)
  double sum_p2;
  double entropy;
  double max_logit;    ///< max_k z_k (unscaled)
  double weight;       ///< 1 for a scored row, 0 for an ignored one
  double correct;      ///< 1 when the lowest argmax equals the label
  int status;          ///< 0 ok, 1 non-finite logits, 2 label out of range
};

/// Per-row results of pair_stats_kernel.
struct PairResult {
  double kl, sum_abs, sum_sq, max_abs;
  long long arg_max_abs;
  int agree;   ///< argmax equal
  int status;  ///< 0 ok, 1 non-finite
};

using ::so8t::calib::EdgeRule;
using ::so8t::calib::PairStats;
using ::so8t::calib::SoftmaxStats;

struct MergeSoftmax {
  __device__ SoftmaxStats operator()(SoftmaxStats a, const SoftmaxStats& b) const {
    a.merge(b);
    return a;
  }
};
struct MergePair {
  __device__ PairStats operator()(PairStats a, const PairStats& b) const {
    a.merge(b);
    return a;
  }
};

/// One block per row: online softmax statistics at inverse temperature beta, scored against labels
/// (labels may be null: no scoring).
template <class T, class L, int Threads>
__global__ void __launch_bounds__(Threads) row_stats_kernel(const T* __restrict__ z, std::size_t ld, std::size_t vocab,
                                                            const L* __restrict__ labels, double beta,
                                                            int has_ignore, long long ignore_index,
                                                            RowResult* __restrict__ out) {
  using Reduce = cub::BlockReduce<SoftmaxStats, Threads>;
  __shared__ typename Reduce::TempStorage tmp;
  const std::size_t t = blockIdx.x;
  const T* row = z + t * ld;
  SoftmaxStats st;
  for (std::size_t k = threadIdx.x; k < vocab; k += Threads)
    st.push(beta == 1.0 ? double(row[k]) : fp::mul(beta, double(row[k])), static_cast<long long>(k));
  const SoftmaxStats all = Reduce(tmp).Reduce(st, MergeSoftmax());
  if (threadIdx.x == 0) {
    RowResult r{};
    r.status = all.finite() ? 0 : 1;
    r.confidence = all.confidence();
    r.sum_p2 = all.sum_p2();
    r.entropy = all.entropy();
    r.max_logit = beta != 0.0 ? all.m / beta : 0.0;
    r.weight = 0.0;
    if (labels != nullptr) {
      const long long y = static_cast<long long>(labels[t]);
      if (!(has_ignore && y == ignore_index)) {
        if (y < 0 || static_cast<unsigned long long>(y) >= vocab) {
          if (r.status == 0) r.status = 2;
        } else {
          r.weight = 1.0;
          r.log_prob = all.log_prob(beta == 1.0 ? double(row[y]) : fp::mul(beta, double(row[y])));
          r.correct = all.argmax == y ? 1.0 : 0.0;
        }
      }
    }
    out[t] = r;
  }
}

/// One block per row pair: KL(p_a || p_b), |a - b| statistics, argmax agreement.
template <class T, int Threads>
__global__ void __launch_bounds__(Threads) pair_stats_kernel(const T* __restrict__ a, const T* __restrict__ b,
                                                             std::size_t ld, std::size_t vocab,
                                                             PairResult* __restrict__ out) {
  using Reduce = cub::BlockReduce<PairStats, Threads>;
  __shared__ typename Reduce::TempStorage tmp;
  const std::size_t t = blockIdx.x;
  PairStats st;
  for (std::size_t k = threadIdx.x; k < vocab; k += Threads)
    st.push(double(a[t * ld + k]), double(b[t * ld + k]), static_cast<long long>(k));
  const PairStats all = Reduce(tmp).Reduce(st, MergePair());
  if (threadIdx.x == 0) {
    PairResult r{};
    r.status = all.finite() ? 0 : 1;
    r.kl = all.kl();
    r.sum_abs = all.sum_abs;
    r.sum_sq = all.sum_sq;
    r.max_abs = all.max_abs;
    r.arg_max_abs = all.arg_max_abs;
    r.agree = all.arg_a == all.arg_b ? 1 : 0;
    out[t] = r;
  }
}

/// The per-token fields the reductions below sum, of one result: nll, brier, entropy, accuracy, count, bad rows.
constexpr int kRowFields = 6, kPairFields = 5;
SO8T_DEVICE void result_fields(const RowResult& r, double (&f)[kRowFields]) {
  const bool scored = r.weight > 0.0;
  f[0] = scored ? -r.log_prob : 0.0;
  f[1] = scored ? 1.0 - 2.0 * ::exp(r.log_prob) + r.sum_p2 : 0.0;
  f[2] = scored ? r.entropy : 0.0;
  f[3] = scored ? r.correct : 0.0;
  f[4] = r.weight;
  f[5] = r.status != 0 ? 1.0 : 0.0;
}
/// kl, sum |d|, sum d^2, top-1 agreement, bad rows.
SO8T_DEVICE void result_fields(const PairResult& r, double (&f)[kPairFields]) {
  f[0] = r.kl;
  f[1] = r.sum_abs;
  f[2] = r.sum_sq;
  f[3] = double(r.agree);
  f[4] = r.status != 0 ? 1.0 : 0.0;
}

/// One block sums every field over all n results: out[f] = sum_i field_f(in[i]). Fixed thread-to-row
/// assignment and cub::BlockReduce: deterministic, and no scratch beyond `out` (no per-call allocation).
template <class Result, int F, int Threads>
__global__ void __launch_bounds__(Threads) field_sums_kernel(const Result* __restrict__ in, std::size_t n,
                                                             double* __restrict__ out) {
  using Reduce = cub::BlockReduce<double, Threads>;
  __shared__ typename Reduce::TempStorage tmp;
  double acc[F], f[F];
  for (int j = 0; j < F; ++j) acc[j] = 0.0;
  for (std::size_t i = threadIdx.x; i < n; i += Threads) {
    result_fields(in[i], f);
    for (int j = 0; j < F; ++j) acc[j] += f[j];
  }
  for (int j = 0; j < F; ++j) {
    const double total = Reduce(tmp).Sum(acc[j]);
    __syncthreads();
    if (threadIdx.x == 0) out[j] = total;
  }
}

/// One block: per calibration slot, the count, confidence sum and accuracy sum over all scored rows
/// (out[3 * s + 0/1/2]). Deterministic: fixed thread-to-row assignment and BlockReduce per slot.
template <int Threads>
__global__ void __launch_bounds__(Threads) bin_kernel(const RowResult* __restrict__ rows, std::size_t n, int n_bins,
                                                      int rule, double* __restrict__ out) {
  using Reduce = cub::BlockReduce<double, Threads>;
  __shared__ typename Reduce::TempStorage tmp;
  const EdgeRule er = rule == 0 ? EdgeRule::torchmetrics : EdgeRule::guo;
  const int slots = ::so8t::calib::slot_count(n_bins, er);
  for (int s = 0; s < slots; ++s) {
    double c = 0.0, cs = 0.0, as = 0.0;
    for (std::size_t i = threadIdx.x; i < n; i += Threads) {
      const RowResult& r = rows[i];
      if (!(r.weight > 0.0) || ::so8t::calib::bin_slot<double>(r.confidence, n_bins, er) != s) continue;
      c += 1.0;
      cs += r.confidence;
      as += r.correct;
    }
    const double tc = Reduce(tmp).Sum(c);
    __syncthreads();
    const double tcs = Reduce(tmp).Sum(cs);
    __syncthreads();
    const double tas = Reduce(tmp).Sum(as);
    __syncthreads();
    if (threadIdx.x == 0) {
      out[3 * s + 0] = tc;
      out[3 * s + 1] = tcs;
      out[3 * s + 2] = tas;
    }
  }
}

/// Sums the F fields of n per-token results on the device into `d_out` (F doubles) and returns them.
template <int F, class Result>
std::vector<double> field_sums(const Result* rows, std::size_t n, double* d_out, cudaStream_t stream) {
  field_sums_kernel<Result, F, 1024><<<1, 1024, 0, stream>>>(rows, n, d_out);
  SO8T_CUDA_CHECK(cudaGetLastError());
  std::vector<double> h(F);
  SO8T_CUDA_CHECK(cudaMemcpyAsync(h.data(), d_out, F * sizeof(double), cudaMemcpyDeviceToHost, stream));
  SO8T_CUDA_CHECK(cudaStreamSynchronize(stream));
  return h;
}

/// One device allocation per call: the per-token results, then `extra` doubles (sums, bins).
template <class Result>
struct CallScratch {
  DeviceBuffer<> bytes;
  CallScratch(std::size_t tokens, std::size_t extra, const char* what)
      : bytes(tokens * sizeof(Result) + extra * sizeof(double), what) {}
  Result* rows() const { return bytes.as<Result>(); }
  double* doubles(std::size_t tokens) const { return reinterpret_cast<double*>(bytes.as<char>() + tokens * sizeof(Result)); }
};

template <class T>
void check_device_logits(const T* d, std::size_t tokens, std::size_t vocab, const char* fn) {
  if (tokens == 0 || vocab == 0)
    throw InvalidArgument(std::string("so8t::cuda::calib::") + fn + ": empty logits (tokens = " +
                          std::to_string(tokens) + ", vocab = " + std::to_string(vocab) + ")");
  if (d == nullptr) throw InvalidArgument(std::string("so8t::cuda::calib::") + fn + ": null logits pointer");
  if (tokens > 0x7fffffffull)
    throw InvalidArgument(std::string("so8t::cuda::calib::") + fn + ": " + std::to_string(tokens) +
                          " tokens exceed the grid limit 2^31 - 1");
}

/// Copies row t back and throws naming its first non-finite value.
template <class T>
[[noreturn]] void report_bad_row(const T* d, std::size_t ld, std::size_t vocab, std::size_t t, const char* fn,
                                 const char* what) {
  std::vector<T> row(vocab);
  SO8T_CUDA_CHECK(cudaMemcpy(row.data(), d + t * ld, vocab * sizeof(T), cudaMemcpyDeviceToHost));
  ::so8t::calib::detail::throw_non_finite_row(row.data(), vocab, t, fn, what);
}

}  // namespace detail

/// Calibration numbers computed on the device (same definitions as so8t::calib::calibration_summary, without
/// the equal-mass bins).
struct DeviceCalibration {
  std::size_t count = 0;
  double accuracy = 0.0, nll = 0.0, perplexity = 0.0, brier = 0.0, mean_entropy = 0.0;
  ::so8t::calib::CalibrationError uniform;
};

template <class T, class L>
DeviceCalibration calibration_summary_cuda(const T* d_logits, const L* d_labels, std::size_t tokens,
                                           std::size_t vocab, const ::so8t::calib::CalibOptions& options = {},
                                           cudaStream_t stream = nullptr) {
  using namespace detail;
  const char* fn = "calibration_summary_cuda";
  detail::check_device_logits(d_logits, tokens, vocab, fn);
  if (d_labels == nullptr) throw InvalidArgument("so8t::cuda::calib::calibration_summary_cuda: null labels pointer");
  const double beta = ::so8t::calib::detail::check_temperature(options.temperature, fn);
  ::so8t::calib::detail::check_bins(options.n_bins, fn);
  const int slots = ::so8t::calib::slot_count(options.n_bins, options.edge_rule);
  const detail::CallScratch<RowResult> scratch(tokens, kRowFields + 3 * static_cast<std::size_t>(slots),
                                               "calibration row results");
  RowResult* rows = scratch.rows();
  double* d_sums = scratch.doubles(tokens);
  double* d_bins = d_sums + kRowFields;
  row_stats_kernel<T, L, kCalibThreads><<<static_cast<unsigned>(tokens), kCalibThreads, 0, stream>>>(
      d_logits, vocab, vocab, d_labels, beta, options.has_ignore_index ? 1 : 0, options.ignore_index, rows);
  SO8T_CUDA_CHECK(cudaGetLastError());
  const std::vector<double> sum = detail::field_sums<kRowFields>(rows, tokens, d_sums, stream);
  if (sum[5] > 0.0) {  // find the first bad row and report it like the CPU does
    std::vector<RowResult> h(tokens);
    SO8T_CUDA_CHECK(cudaMemcpy(h.data(), rows, tokens * sizeof(RowResult), cudaMemcpyDeviceToHost));
    for (std::size_t t = 0; t < tokens; ++t) {
      if (h[t].status == 1) detail::report_bad_row(d_logits, vocab, vocab, t, fn, "logits");
      if (h[t].status == 2) {
        L y{};
        SO8T_CUDA_CHECK(cudaMemcpy(&y, d_labels + t, sizeof(L), cudaMemcpyDeviceToHost));
        throw InvalidArgument(std::string("so8t::cuda::calib::") + fn + ": label " +
                              std::to_string(static_cast<long long>(y)) + " at token " + std::to_string(t) +
                              " is outside [0, " + std::to_string(vocab) + ")");
      }
    }
  }
  DeviceCalibration r;
  const double n = sum[4];
  if (!(n > 0.0))
    throw InvalidArgument(std::string("so8t::cuda::calib::") + fn + ": no scored tokens (all " + std::to_string(tokens) +
                          " labels equal ignore_index " + std::to_string(options.ignore_index) + ")");
  r.count = static_cast<std::size_t>(n);
  r.nll = sum[0] / n;
  r.brier = sum[1] / n;
  r.mean_entropy = sum[2] / n;
  r.accuracy = sum[3] / n;
  r.perplexity = std::exp(r.nll);
  bin_kernel<kCalibThreads><<<1, kCalibThreads, 0, stream>>>(rows, tokens, options.n_bins,
                                                             options.edge_rule == ::so8t::calib::EdgeRule::torchmetrics ? 0 : 1,
                                                             d_bins);
  SO8T_CUDA_CHECK(cudaGetLastError());
  std::vector<double> hb(3 * static_cast<std::size_t>(slots));
  SO8T_CUDA_CHECK(cudaMemcpyAsync(hb.data(), d_bins, hb.size() * sizeof(double), cudaMemcpyDeviceToHost, stream));
  SO8T_CUDA_CHECK(cudaStreamSynchronize(stream));
  ::so8t::calib::BinSums sums(options.n_bins, options.edge_rule);
  for (int s = 0; s < slots; ++s) {
    sums.count[s] = hb[3 * s];
    sums.conf_sum[s] = hb[3 * s + 1];
    sums.acc_sum[s] = hb[3 * s + 2];
  }
  r.uniform = sums.finish();
  return r;
}

/// compare_logits on the device (same definitions and result as so8t::calib::compare_logits).
template <class T>
::so8t::calib::LogitComparison compare_logits_cuda(const T* d_pre, const T* d_post, std::size_t tokens, std::size_t vocab,
                                    cudaStream_t stream = nullptr) {
  using namespace detail;
  const char* fn = "compare_logits_cuda";
  detail::check_device_logits(d_pre, tokens, vocab, fn);
  detail::check_device_logits(d_post, tokens, vocab, fn);
  const detail::CallScratch<PairResult> scratch(tokens, kPairFields, "logit comparison row results");
  PairResult* pairs = scratch.rows();
  pair_stats_kernel<T, kCalibThreads><<<static_cast<unsigned>(tokens), kCalibThreads, 0, stream>>>(
      d_pre, d_post, vocab, vocab, pairs);
  SO8T_CUDA_CHECK(cudaGetLastError());
  const std::vector<double> sum = detail::field_sums<kPairFields>(pairs, tokens, scratch.doubles(tokens), stream);
  // Per-token maxima are few (tokens values): finish them on the host.
  std::vector<PairResult> h(tokens);
  SO8T_CUDA_CHECK(cudaMemcpyAsync(h.data(), pairs, tokens * sizeof(PairResult),
                                  cudaMemcpyDeviceToHost, stream));
  SO8T_CUDA_CHECK(cudaStreamSynchronize(stream));
  for (std::size_t t = 0; t < tokens; ++t)
    if (h[t].status != 0) {
      std::vector<T> row(vocab);
      SO8T_CUDA_CHECK(cudaMemcpy(row.data(), d_pre + t * vocab, vocab * sizeof(T), cudaMemcpyDeviceToHost));
      for (std::size_t k = 0; k < vocab; ++k)
        if (!std::isfinite(double(row[k]))) ::so8t::calib::detail::throw_non_finite_row(row.data(), vocab, t, fn, "pre");
      detail::report_bad_row(d_post, vocab, vocab, t, fn, "post");
    }
  ::so8t::calib::LogitComparison r;
  r.tokens = tokens;
  r.vocab = vocab;
  for (std::size_t t = 0; t < tokens; ++t) {
    if (t == 0 || h[t].max_abs > r.max_abs_diff) {
      r.max_abs_diff = h[t].max_abs;
      r.max_abs_token = t;
      r.max_abs_index = static_cast<std::size_t>(h[t].arg_max_abs);
    }
    if (t == 0 || h[t].kl > r.kl_max) {
      r.kl_max = h[t].kl;
      r.kl_max_token = t;
    }
  }
  const double nv = double(tokens) * double(vocab);
  r.kl_mean = sum[0] / double(tokens);
  r.mean_abs_diff = sum[1] / nv;
  r.rms_diff = std::sqrt(sum[2] / nv);
  const double agree = sum[3];
  r.top1_agree = static_cast<std::size_t>(agree);
  r.top1_agreement = agree / double(tokens);
  return r;
}

/// Per-position entropy (nats) and max logit at temperature 1, copied to host vectors.
template <class T>
void entropy_series_cuda(const T* d_logits, std::size_t tokens, std::size_t vocab, std::vector<double>& entropy,
                         std::vector<double>& max_logit, cudaStream_t stream = nullptr) {
  using namespace detail;
  const char* fn = "entropy_series_cuda";
  detail::check_device_logits(d_logits, tokens, vocab, fn);
  DeviceBuffer<RowResult> rows(tokens, "entropy row results");
  row_stats_kernel<T, int, kCalibThreads><<<static_cast<unsigned>(tokens), kCalibThreads, 0, stream>>>(
      d_logits, vocab, vocab, static_cast<const int*>(nullptr), 1.0, 0, 0, rows.get());
  SO8T_CUDA_CHECK(cudaGetLastError());
  std::vector<RowResult> h(tokens);
  SO8T_CUDA_CHECK(cudaMemcpyAsync(h.data(), rows.get(), tokens * sizeof(RowResult), cudaMemcpyDeviceToHost,
                                  stream));
  SO8T_CUDA_CHECK(cudaStreamSynchronize(stream));
  entropy.resize(tokens);
  max_logit.resize(tokens);
  for (std::size_t t = 0; t < tokens; ++t) {
    if (h[t].status != 0) detail::report_bad_row(d_logits, vocab, vocab, t, fn, "logits");
    entropy[t] = h[t].entropy;
    max_logit[t] = h[t].max_logit;
  }
}

}  // namespace so8t::cuda::calib
