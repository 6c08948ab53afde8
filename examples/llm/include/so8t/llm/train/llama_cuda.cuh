// so8t/llm/train/llama_cuda.cuh: so8t::llm::LlamaCuda, the gated tiny llama's forward and backward on one GPU
//, mirroring so8t::llm::LlamaCpu<float> (so8t/llm/train/llama_cpu.hpp): same flat parameter
// layout (llama_layout), same formulas, the same loss assembly (assemble_loss, so8t/llm/train/loss.hpp).
// The training loop over it is so8t::llm::CudaTrainer (so8t/llm/train/cuda_engine.cuh).
//
//   LlamaCuda m(cfg);                       // validates cfg (InvalidArgument), then needs a device (CudaError)
//   m.upload_params(host, n);               // n == m.layout().total
//   LossParts l = m.forward(tokens, targets, segments, B, T, lambda);   // host int32 arrays [B, T]
//   m.backward();                           // device gradients, same flat layout
//   m.download_grads(host, n);
//   double norm = m.clip_grad_norm(1.0);    // as so8t::llm::clip_grad_norm
//   m.adamw_step(lr, AdamWConfig{});        // as so8t::llm::AdamW<float>::step (moments on the device)
//
// Matrix products: cuBLAS SGEMM (row-major via the transposed column-major call), the attention scores and
// values with strided-batched SGEMM over the batch, one call per query head (GQA: query head h reads kv head
// h / (n_heads / n_kv_heads)). Default math mode is plain FP32; set_tf32(true) allows TF32 tensor cores.
// Everything runs on the default stream; forward() synchronises (it returns the loss), backward() does not.
// Every CUDA and cuBLAS call is checked (SO8T_CUDA_CHECK, SO8T_CUBLAS_CHECK): failures throw so8t::CudaError with
// the cudaError_t / cublasStatus_t. Kernels: so8t::llm::cuda (llama_kernels.cuh); buffers: so8t::cuda::DeviceBuffer.
// Link CUDA::cudart and CUDA::cublas. This header does not include Eigen (LossParts comes from loss.hpp); nvcc
// translation units that also include llama_cpu.hpp or trainer.hpp need --expt-relaxed-constexpr (Eigen's
// host-device constexpr calls).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/so8/block_rotation.cuh"
#include "so8t/base/cublas_check.cuh"
#include "so8t/base/cublas_handle.cuh"
#include "so8t/base/cuda_check.cuh"
#include "so8t/base/device_buffer.cuh"
#include "so8t/base/launch.cuh"
#include "so8t/llm/train/llama_kernels.cuh"
#include "so8t/pet/pet.cuh"
#include "so8t/llm/train/adamw.hpp"
#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/train/loss.hpp"
#include "so8t/llm/model/param_layout.hpp"

namespace so8t::llm {

class LlamaCuda {
 public:
  template <class T>
  using DA = ::so8t::cuda::DeviceBuffer<T>;

  /// Validates cfg (InvalidArgument) before any CUDA call; throws CudaError (code cudaErrorNoDevice) when no
  /// CUDA device is present. Parameters start at zero: upload_params() before forward().
  explicit LlamaCuda(const LlamaConfig& cfg) : cfg_(cfg), layout_(llama_layout(cfg)) {
    if (::so8t::cuda::device_count() == 0)
      throw CudaError(int(cudaErrorNoDevice), "so8t::llm::LlamaCuda: no CUDA device (the CPU path is LlamaCpu)");
    SO8T_CUBLAS_CHECK(handle_.create());
    params_.reset(layout_.total);
    grads_.reset(layout_.total);
    SO8T_CUDA_CHECK(cudaMemset(params_.get(), 0, layout_.total * sizeof(float)));
    SO8T_CUDA_CHECK(cudaMemset(grads_.get(), 0, layout_.total * sizeof(float)));
    const std::size_t nb = std::size_t(cfg_.gate_blocks());
    dR_.reset(nb * 64);
    dRs_.reset(nb * 64);
    dRc_.reset(nb * 64);
    norm_acc_.reset(1);
  }
  LlamaCuda(const LlamaCuda&) = delete;
  LlamaCuda& operator=(const LlamaCuda&) = delete;

  const LlamaConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  std::size_t num_params() const { return layout_.total; }
  float* device_params() { return params_.get(); }
  float* device_grads() { return grads_.get(); }

  /// Allows TF32 tensor-core math in the cuBLAS products (faster, ~1e-3 relative error); default off.
  void set_tf32(bool on) {
    SO8T_CUBLAS_CHECK(cublasSetMathMode(handle_.get(), on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }

  void upload_params(const float* host, std::size_t n) {
    check_count(n, "upload_params");
    ::so8t::cuda::copy_to_device(params_.get(), host, n * sizeof(float));
  }
  void download_params(float* host, std::size_t n) const {
    check_count(n, "download_params");
    SO8T_CUDA_CHECK(cudaMemcpy(host, params_.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
  }
  void download_grads(float* host, std::size_t n) const {
    check_count(n, "download_grads");
    SO8T_CUDA_CHECK(cudaMemcpy(host, grads_.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
  }

  /// Host-side checks of a batch, as LlamaCpu::forward: 0 < T <= ctx, B > 0, token and target ids in the
  /// vocabulary. Throws InvalidArgument; makes no CUDA call.
  static void check_batch(const LlamaConfig& cfg, const std::int32_t* tokens, const std::int32_t* targets, int B,
                          int T) {
    if (B <= 0 || T <= 0 || T > cfg.ctx)
      throw InvalidArgument("so8t::llm::LlamaCuda::forward: B = " + std::to_string(B) + ", T = " +
                            std::to_string(T) + " (need B > 0, 0 < T <= ctx = " + std::to_string(cfg.ctx) + ")");
    if (tokens == nullptr || targets == nullptr)
      throw InvalidArgument("so8t::llm::LlamaCuda::forward: null tokens or targets");
    const std::size_t N = std::size_t(B) * T;
    for (std::size_t n = 0; n < N; ++n)
      if (tokens[n] < 0 || tokens[n] >= cfg.vocab || targets[n] < 0 || targets[n] >= cfg.vocab)
        throw InvalidArgument("so8t::llm::LlamaCuda::forward: token " + std::to_string(tokens[n]) + " or target " +
                              std::to_string(targets[n]) + " at position " + std::to_string(n) +
                              " outside the vocabulary [0, " + std::to_string(cfg.vocab) + ")");
  }

  /// tokens, targets, segments: host [B, T] row-major (segments may be null = one document per row).
  LossParts forward(const std::int32_t* tokens, const std::int32_t* targets, const std::int32_t* segments, int B,
                    int T, double lambda) {
    check_batch(cfg_, tokens, targets, B, T);
    resize(B, T);
    const std::size_t N = std::size_t(B) * T;
    const int d = cfg_.dim, V = cfg_.vocab;
    lambda_ = lambda;
    has_segments_ = segments != nullptr;
    ::so8t::cuda::copy_to_device(tokens_.get(), tokens, N * sizeof(std::int32_t));
    ::so8t::cuda::copy_to_device(targets_.get(), targets, N * sizeof(std::int32_t));
    if (segments)
      ::so8t::cuda::copy_to_device(segments_.get(), segments, N * sizeof(std::int32_t));
    using namespace so8t::llm::cuda;
    embed_fwd_kernel<><<<ew_grid(N * d), kEwThreads>>>(P(layout_.tok_embd), tokens_.get(), x_[0].get(), N, d);
    launched();
    for (int l = 0; l < cfg_.n_layers; ++l) layer_forward(l);
    rmsnorm_fwd_kernel<><<<unsigned(N), kRowThreads>>>(x_[cfg_.n_layers].get(), nullptr, u_.get(), rstdf_.get(), d,
                                                     float(cfg_.norm_eps));
    launched();
    mul_rowvec_kernel<><<<ew_grid(N * d), kEwThreads>>>(u_.get(), P(layout_.output_norm), xf_.get(), N, d);
    launched();
    gemm(false, true, int(N), V, d, 1.f, xf_.get(), d, P(layout_.output), d, 0.f, probs_.get(), V);
    ce_fwd_kernel<><<<unsigned(N), kRowThreads>>>(probs_.get(), targets_.get(), V, row_loss_.get());
    launched();
    std::vector<double> rl(N);
    SO8T_CUDA_CHECK(cudaMemcpy(rl.data(), row_loss_.get(), N * sizeof(double), cudaMemcpyDeviceToHost));
    double ce = 0.0;
    for (double v : rl) ce += v;
    const PetResult pr = ::so8t::cuda::pet::pet_loss(u_.get(), std::size_t(B), std::size_t(T), std::size_t(d), pet_mask(), pet_ws_);
    return assemble_loss(ce, N, pr, lambda);
  }

  /// Device gradients = d loss / d params for the last forward (overwritten). Does not synchronise.
  void backward() {
    if (B_ == 0) throw InvalidArgument("so8t::llm::LlamaCuda::backward: no forward pass before backward()");
    using namespace so8t::llm::cuda;
    const std::size_t N = std::size_t(B_) * T_;
    const int d = cfg_.dim, V = cfg_.vocab;
    SO8T_CUDA_CHECK(cudaMemsetAsync(grads_.get(), 0, layout_.total * sizeof(float)));
    ce_bwd_kernel<><<<ew_grid(N * V), kEwThreads>>>(probs_.get(), targets_.get(), dlogits_.get(), N, V,
                                                  1.f / float(N));
    launched();
    gemm(true, false, V, d, int(N), 1.f, dlogits_.get(), V, xf_.get(), d, 1.f, G(layout_.output), d);
    gemm(false, false, int(N), d, V, 1.f, dlogits_.get(), V, P(layout_.output), d, 0.f, dxf_.get(), d);
    dgain(dxf_.get(), u_.get(), nullptr, G(layout_.output_norm));
    mul_rowvec_kernel<><<<ew_grid(N * d), kEwThreads>>>(dxf_.get(), P(layout_.output_norm), du_.get(), N, d);
    launched();
    if (lambda_ != 0.0)
      ::so8t::cuda::pet::pet_loss_and_grad(u_.get(), std::size_t(B_), std::size_t(T_), std::size_t(d), pet_mask(), du_.get(),
                                    lambda_, PetGradMode::accumulate, pet_ws_);
    rmsnorm_bwd_kernel<><<<unsigned(N), kRowThreads>>>(u_.get(), 1, rstdf_.get(), nullptr, du_.get(), dx_.get(), d, 0);
    launched();
    for (int l = cfg_.n_layers - 1; l >= 0; --l) layer_backward(l);
    embed_bwd_kernel<><<<ew_grid(N * d), kEwThreads>>>(dx_.get(), tokens_.get(), G(layout_.tok_embd), N, d);
    launched();
  }

  /// Scales the device gradients so that their L2 norm is at most max_norm (<= 0: no clipping); returns the
  /// norm before (as so8t::llm::clip_grad_norm). Synchronises.
  double clip_grad_norm(double max_norm) {
    using namespace so8t::llm::cuda;
    const std::size_t n = layout_.total;
    SO8T_CUDA_CHECK(cudaMemsetAsync(norm_acc_.get(), 0, sizeof(double)));
    sumsq_kernel<><<<ew_grid(n) < 1024u ? ew_grid(n) : 1024u, kEwThreads>>>(grads_.get(), n, norm_acc_.get());
    launched();
    double ss = 0.0;
    SO8T_CUDA_CHECK(cudaMemcpy(&ss, norm_acc_.get(), sizeof(double), cudaMemcpyDeviceToHost));
    const double norm = std::sqrt(ss);
    if (max_norm > 0.0 && norm > max_norm) {
      scale_kernel<><<<ew_grid(n), kEwThreads>>>(grads_.get(), n, float(max_norm / (norm + 1e-12)));
      launched();
    }
    return norm;
  }

  /// One AdamW update of the device parameters with the device gradients (moments kept on the device; weight
  /// decay on matrices and embeddings only), as so8t::llm::AdamW<float>::step.
  void adamw_step(double lr, const AdamWConfig& c) {
    using namespace so8t::llm::cuda;
    const std::size_t n = layout_.total;
    if (m_.size() != n) {
      m_.reset(n);
      v_.reset(n);
      decay_.reset(n);
      SO8T_CUDA_CHECK(cudaMemset(m_.get(), 0, n * sizeof(float)));
      SO8T_CUDA_CHECK(cudaMemset(v_.get(), 0, n * sizeof(float)));
      const AdamW<float> host(layout_, c);
      ::so8t::cuda::copy_to_device(decay_.get(), host.decay.data(), n);
    }
    ++adam_t_;
    const double bc1 = 1.0 - std::pow(c.beta1, double(adam_t_)), bc2 = 1.0 - std::pow(c.beta2, double(adam_t_));
    adamw_kernel<><<<ew_grid(n), kEwThreads>>>(params_.get(), grads_.get(), m_.get(), v_.get(), decay_.get(), n,
                                             float(c.beta1), float(c.beta2), float(lr), float(c.eps),
                                             float(c.weight_decay), float(1.0 / bc1), float(1.0 / bc2));
    launched();
  }

  /// AdamW state (step count and moments) for checkpoints; set_adam_state() restores it.
  std::size_t adam_steps() const { return adam_t_; }
  void download_adam_state(std::vector<float>& m, std::vector<float>& v) const {
    const std::size_t n = layout_.total;
    m.assign(n, 0.f);
    v.assign(n, 0.f);
    if (m_.size() != n) return;
    SO8T_CUDA_CHECK(cudaMemcpy(m.data(), m_.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
    SO8T_CUDA_CHECK(cudaMemcpy(v.data(), v_.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
  }
  void set_adam_state(const std::vector<float>& m, const std::vector<float>& v, std::size_t t, const AdamWConfig& c) {
    const std::size_t n = layout_.total;
    check_count(m.size(), "set_adam_state");
    check_count(v.size(), "set_adam_state");
    m_.reset(n);
    v_.reset(n);
    decay_.reset(n);
    ::so8t::cuda::copy_to_device(m_.get(), m.data(), n * sizeof(float));
    ::so8t::cuda::copy_to_device(v_.get(), v.data(), n * sizeof(float));
    const AdamW<float> host(layout_, c);
    ::so8t::cuda::copy_to_device(decay_.get(), host.decay.data(), n);
    adam_t_ = t;
  }

  void synchronize() const { SO8T_CUDA_CHECK(cudaDeviceSynchronize()); }

 private:
  LlamaConfig cfg_;
  ParamLayout layout_;
  ::so8t::cuda::CublasHandle handle_;  // a member: released even when a later allocation in the constructor throws
  ::so8t::cuda::pet::PetWorkspace pet_ws_;  // PET scratch, allocated once
  int B_ = 0, T_ = 0;
  double lambda_ = 0.0;
  bool has_segments_ = false;
  std::size_t adam_t_ = 0;
  DA<float> params_, grads_, m_, v_;
  DA<std::uint8_t> decay_;
  DA<double> norm_acc_, row_loss_;
  DA<std::int32_t> tokens_, targets_, segments_;
  // activations: x_[0..L], per layer the rest (CPU names)
  std::vector<DA<float>> x_, xmid_, xn1_, rstd1_, q_, k_, v_act_, att_, ao_, go_, xn2_, rstd2_, h1_, h3_, hg_;
  std::vector<DA<float>> R_, Rsafe_, Rcmd_;
  DA<float> u_, rstdf_, xf_, probs_, dlogits_, dxf_, du_, dx_;
  DA<float> dxn_, dq_, dk_, dv_, dao_, dgo_, dh1_, dh3_, dhg_, dP_, dR_, dRs_, dRc_;
  DA<float> rope_cos_, rope_sin_;

  float* P(std::size_t off) const { return params_.get() + off; }
  float* G(std::size_t off) const { return grads_.get() + off; }
  static void launched() { SO8T_CUDA_CHECK(cudaGetLastError()); }

  void check_count(std::size_t n, const char* fn) const {
    if (n != layout_.total)
      throw InvalidArgument(std::string("so8t::llm::LlamaCuda::") + fn + ": " + std::to_string(n) +
                            " values for " + std::to_string(layout_.total) + " parameters");
  }

  PetMask pet_mask() const {
    PetMask m;
    m.segment_ids = has_segments_ ? segments_.get() : nullptr;
    return m;
  }

  // Row-major C[M, N] = alpha op(A) op(B) + beta C (op(A) [M, K], op(B) [K, N]), via column-major C^T = op(B)^T
  // op(A)^T.
  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) {
    SO8T_CUBLAS_CHECK(cublasSgemm(handle_.get(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K,
                                  &alpha, B, ldb, A, lda, &beta, C, ldc));
  }
  void gemm_batched(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, long long sA,
                    const float* B, int ldb, long long sB, float beta, float* C, int ldc, long long sC, int batch) {
    SO8T_CUBLAS_CHECK(cublasSgemmStridedBatched(handle_.get(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                                N, M, K, &alpha, B, ldb, sB, A, lda, sA, &beta, C, ldc, sC, batch));
  }

  void dgain(const float* dy, const float* in, const float* rstd, float* dg) {
    using namespace so8t::llm::cuda;
    const int d = cfg_.dim;
    const std::size_t N = std::size_t(B_) * T_;
    rms_dgain_kernel<><<<dim3(unsigned((d + 31) / 32), dgain_chunks(N)), dim3(32, 8)>>>(dy, in, rstd, N, d, dg);
    launched();
  }

  void rope(float* a, int width, bool inverse) {
    using namespace so8t::llm::cuda;
    const std::size_t N = std::size_t(B_) * T_;
    rope_kernel<><<<ew_grid(N * (width / 2)), kEwThreads>>>(a, N, T_, width, cfg_.head_dim(), rope_cos_.get(),
                                                          rope_sin_.get(), inverse ? 1 : 0);
    launched();
  }

  void resize(int B, int T) {
    if (B == B_ && T == T_) return;
    B_ = 0;
    T_ = 0;
    const std::size_t N = std::size_t(B) * T, d = cfg_.dim, kv = cfg_.kv_dim(), f = cfg_.ffn, L = cfg_.n_layers,
                      H = cfg_.n_heads, V = cfg_.vocab, nb = cfg_.gate_blocks();
    auto per_layer = [](std::vector<DA<float>>& a, std::size_t n, std::size_t count) {
      a.clear();
      for (std::size_t i = 0; i < count; ++i) a.emplace_back(n);
    };
    per_layer(x_, N * d, L + 1);
    per_layer(xmid_, N * d, L);
    per_layer(xn1_, N * d, L);
    per_layer(rstd1_, N, L);
    per_layer(q_, N * d, L);
    per_layer(k_, N * kv, L);
    per_layer(v_act_, N * kv, L);
    per_layer(att_, std::size_t(B) * H * T * T, L);
    per_layer(ao_, N * d, L);
    per_layer(go_, cfg_.gate_stack > 0 ? N * d : 0, L);
    per_layer(xn2_, N * d, L);
    per_layer(rstd2_, N, L);
    per_layer(h1_, N * f, L);
    per_layer(h3_, N * f, L);
    per_layer(hg_, N * f, L);
    per_layer(R_, nb * 64, L);
    per_layer(Rsafe_, nb * 64, L);
    per_layer(Rcmd_, nb * 64, L);
    for (DA<float>* a : {&u_, &xf_, &dxf_, &du_, &dx_, &dxn_, &dq_, &dao_, &dgo_}) a->reset(N * d);
    rstdf_.reset(N);
    probs_.reset(N * V);
    dlogits_.reset(N * V);
    dk_.reset(N * kv);
    dv_.reset(N * kv);
    dh1_.reset(N * f);
    dh3_.reset(N * f);
    dhg_.reset(N * f);
    dP_.reset(std::size_t(B) * H * T * T);
    row_loss_.reset(N);
    tokens_.reset(N);
    targets_.reset(N);
    segments_.reset(N);
    const int hd = cfg_.head_dim(), half = hd / 2;
    std::vector<float> c(std::size_t(T) * half), s(std::size_t(T) * half);
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < half; ++i) {  // exactly as LlamaCpu::resize
        const double freq = std::pow(cfg_.rope_theta, -2.0 * i / hd);
        c[std::size_t(t) * half + i] = float(std::cos(t * freq));
        s[std::size_t(t) * half + i] = float(std::sin(t * freq));
      }
    rope_cos_.reset(c.size());
    rope_sin_.reset(s.size());
    ::so8t::cuda::copy_to_device(rope_cos_.get(), c.data(), c.size() * sizeof(float));
    ::so8t::cuda::copy_to_device(rope_sin_.get(), s.data(), s.size() * sizeof(float));
    B_ = B;
    T_ = T;
  }

  const float* rotation(int l) const { return cfg_.gate_stack == 1 ? Rsafe_[l].get() : R_[l].get(); }
  const float* gate_out(int l) const { return cfg_.gate_stack > 0 ? go_[l].get() : ao_[l].get(); }

  /// The sizes one layer's kernels use: N = n = B*T rows, widths d / kv / f, H heads of hd, KV groups of
  /// `group` heads, TT = T*T scores per head and HTT per batch row.
  struct LayerDims {
    std::size_t N;
    int n, d, kv, f, H, hd, T, group;
    long long TT, HTT;
  };
  LayerDims dims() const {
    const std::size_t N = std::size_t(B_) * T_;
    const long long TT = (long long)T_ * T_;
    return {N, int(N), cfg_.dim, cfg_.kv_dim(), cfg_.ffn, cfg_.n_heads, cfg_.head_dim(), T_,
            cfg_.n_heads / cfg_.n_kv_heads, TT, cfg_.n_heads * TT};
  }

  void layer_forward(int l) {
    using namespace so8t::llm::cuda;
    const LayerOffsets& o = layout_.layers[l];
    const auto [N, n, d, kv, f, H, hd, T, group, TT, HTT] = dims();
    rmsnorm_fwd_kernel<><<<unsigned(N), kRowThreads>>>(x_[l].get(), P(o.attn_norm), xn1_[l].get(), rstd1_[l].get(), d,
                                                     float(cfg_.norm_eps));
    launched();
    gemm(false, true, n, d, d, 1.f, xn1_[l].get(), d, P(o.wq), d, 0.f, q_[l].get(), d);
    gemm(false, true, n, kv, d, 1.f, xn1_[l].get(), d, P(o.wk), d, 0.f, k_[l].get(), kv);
    gemm(false, true, n, kv, d, 1.f, xn1_[l].get(), d, P(o.wv), d, 0.f, v_act_[l].get(), kv);
    rope(q_[l].get(), d, false);
    rope(k_[l].get(), kv, false);
    const float scale = 1.f / std::sqrt(float(hd));
    for (int h = 0; h < H; ++h) {  // scores[b, h] = scale Q_bh K_bg^T
      const int g = h / group;
      gemm_batched(false, true, T, T, hd, scale, q_[l].get() + h * hd, d, (long long)T * d, k_[l].get() + g * hd, kv,
                   (long long)T * kv, 0.f, att_[l].get() + h * TT, T, HTT, B_);
    }
    softmax_causal_kernel<><<<unsigned(std::size_t(B_) * H * T), kRowThreads>>>(att_[l].get(), T);
    launched();
    for (int h = 0; h < H; ++h) {  // ao[b, :, h] = A_bh V_bg
      const int g = h / group;
      gemm_batched(false, false, T, hd, T, 1.f, att_[l].get() + h * TT, T, HTT, v_act_[l].get() + g * hd, kv,
                   (long long)T * kv, 0.f, ao_[l].get() + h * hd, d, (long long)T * d, B_);
    }
    if (cfg_.gate_stack > 0) {
      const std::size_t nb = std::size_t(cfg_.gate_blocks());
      ::so8t::cuda::block_exp(P(o.gate_safe), nb, Rsafe_[l].get());
      if (cfg_.gate_stack == 2) {
        ::so8t::cuda::block_exp(P(o.gate_cmd), nb, Rcmd_[l].get());
        ::so8t::cuda::block_compose(Rcmd_[l].get(), Rsafe_[l].get(), nb, R_[l].get());
      }
      gate_apply_kernel<false><<<ew_grid(N * d), kEwThreads>>>(ao_[l].get(), rotation(l), go_[l].get(), N, d);
      launched();
    }
    SO8T_CUDA_CHECK(cudaMemcpyAsync(xmid_[l].get(), x_[l].get(), N * d * sizeof(float), cudaMemcpyDeviceToDevice));
    gemm(false, true, n, d, d, 1.f, gate_out(l), d, P(o.wo), d, 1.f, xmid_[l].get(), d);
    rmsnorm_fwd_kernel<><<<unsigned(N), kRowThreads>>>(xmid_[l].get(), P(o.ffn_norm), xn2_[l].get(), rstd2_[l].get(), d,
                                                     float(cfg_.norm_eps));
    launched();
    gemm(false, true, n, f, d, 1.f, xn2_[l].get(), d, P(o.w1), d, 0.f, h1_[l].get(), f);
    gemm(false, true, n, f, d, 1.f, xn2_[l].get(), d, P(o.w3), d, 0.f, h3_[l].get(), f);
    swiglu_fwd_kernel<><<<ew_grid(N * f), kEwThreads>>>(h1_[l].get(), h3_[l].get(), hg_[l].get(), N * f);
    launched();
    SO8T_CUDA_CHECK(
        cudaMemcpyAsync(x_[l + 1].get(), xmid_[l].get(), N * d * sizeof(float), cudaMemcpyDeviceToDevice));
    gemm(false, true, n, d, f, 1.f, hg_[l].get(), f, P(o.w2), f, 1.f, x_[l + 1].get(), d);
  }

  // dx_ holds d loss / d x_[l+1] on entry and d loss / d x_[l] on exit.
  void layer_backward(int l) {
    using namespace so8t::llm::cuda;
    const LayerOffsets& o = layout_.layers[l];
    const auto [N, n, d, kv, f, H, hd, T, group, TT, HTT] = dims();
    float* dX = dx_.get();
    // ffn: x_out = x_mid + hg W2^T
    gemm(true, false, d, f, n, 1.f, dX, d, hg_[l].get(), f, 1.f, G(o.w2), f);
    gemm(false, false, n, f, d, 1.f, dX, d, P(o.w2), f, 0.f, dhg_.get(), f);
    swiglu_bwd_kernel<><<<ew_grid(N * f), kEwThreads>>>(h1_[l].get(), h3_[l].get(), dhg_.get(), dh1_.get(), dh3_.get(),
                                                      N * f);
    launched();
    gemm(true, false, f, d, n, 1.f, dh1_.get(), f, xn2_[l].get(), d, 1.f, G(o.w1), d);
    gemm(true, false, f, d, n, 1.f, dh3_.get(), f, xn2_[l].get(), d, 1.f, G(o.w3), d);
    gemm(false, false, n, d, f, 1.f, dh1_.get(), f, P(o.w1), d, 0.f, dxn_.get(), d);
    gemm(false, false, n, d, f, 1.f, dh3_.get(), f, P(o.w3), d, 1.f, dxn_.get(), d);
    dgain(dxn_.get(), xmid_[l].get(), rstd2_[l].get(), G(o.ffn_norm));
    rmsnorm_bwd_kernel<><<<unsigned(N), kRowThreads>>>(xmid_[l].get(), 0, rstd2_[l].get(), P(o.ffn_norm), dxn_.get(), dX,
                                                     d, 1);
    launched();
    // attention output: x_mid = x_in + go Wo^T
    gemm(true, false, d, d, n, 1.f, dX, d, gate_out(l), d, 1.f, G(o.wo), d);
    gemm(false, false, n, d, d, 1.f, dX, d, P(o.wo), d, 0.f, dgo_.get(), d);
    const float* dao = dgo_.get();
    if (cfg_.gate_stack > 0) {
      const std::size_t nb = std::size_t(cfg_.gate_blocks());
      gate_bwd_dR_kernel<><<<unsigned(nb * 64), kRowThreads>>>(dgo_.get(), ao_[l].get(), dR_.get(), N, d);
      launched();
      gate_apply_kernel<true><<<ew_grid(N * d), kEwThreads>>>(dgo_.get(), rotation(l), dao_.get(), N, d);
      launched();
      if (cfg_.gate_stack == 2) {
        compose_vjp_kernel<><<<::so8t::cuda::grid_for(nb, 64), 64>>>(Rcmd_[l].get(), Rsafe_[l].get(), dR_.get(), nb,
                                                                dRc_.get(), dRs_.get());
        launched();
        ::so8t::cuda::block_exp_vjp(P(o.gate_cmd), dRc_.get(), nb, G(o.gate_cmd));
        ::so8t::cuda::block_exp_vjp(P(o.gate_safe), dRs_.get(), nb, G(o.gate_safe));
      } else {
        ::so8t::cuda::block_exp_vjp(P(o.gate_safe), dR_.get(), nb, G(o.gate_safe));
      }
      dao = dao_.get();
    }
    // attention core
    SO8T_CUDA_CHECK(cudaMemsetAsync(dk_.get(), 0, N * kv * sizeof(float)));
    SO8T_CUDA_CHECK(cudaMemsetAsync(dv_.get(), 0, N * kv * sizeof(float)));
    const float scale = 1.f / std::sqrt(float(hd));
    for (int h = 0; h < H; ++h) {
      const int g = h / group;
      // dP_bh = dO_bh V_bg^T;  dV_bg += A_bh^T dO_bh
      gemm_batched(false, true, T, T, hd, 1.f, dao + h * hd, d, (long long)T * d, v_act_[l].get() + g * hd, kv,
                   (long long)T * kv, 0.f, dP_.get() + h * TT, T, HTT, B_);
      gemm_batched(true, false, T, hd, T, 1.f, att_[l].get() + h * TT, T, HTT, dao + h * hd, d, (long long)T * d, 1.f,
                   dv_.get() + g * hd, kv, (long long)T * kv, B_);
    }
    softmax_causal_bwd_kernel<><<<unsigned(std::size_t(B_) * H * T), kRowThreads>>>(att_[l].get(), dP_.get(), T, scale);
    launched();
    for (int h = 0; h < H; ++h) {
      const int g = h / group;
      // dQ_bh = dS_bh K_bg;  dK_bg += dS_bh^T Q_bh
      gemm_batched(false, false, T, hd, T, 1.f, dP_.get() + h * TT, T, HTT, k_[l].get() + g * hd, kv, (long long)T * kv,
                   0.f, dq_.get() + h * hd, d, (long long)T * d, B_);
      gemm_batched(true, false, T, hd, T, 1.f, dP_.get() + h * TT, T, HTT, q_[l].get() + h * hd, d, (long long)T * d,
                   1.f, dk_.get() + g * hd, kv, (long long)T * kv, B_);
    }
    rope(dq_.get(), d, true);
    rope(dk_.get(), kv, true);
    gemm(true, false, d, d, n, 1.f, dq_.get(), d, xn1_[l].get(), d, 1.f, G(o.wq), d);
    gemm(true, false, kv, d, n, 1.f, dk_.get(), kv, xn1_[l].get(), d, 1.f, G(o.wk), d);
    gemm(true, false, kv, d, n, 1.f, dv_.get(), kv, xn1_[l].get(), d, 1.f, G(o.wv), d);
    gemm(false, false, n, d, d, 1.f, dq_.get(), d, P(o.wq), d, 0.f, dxn_.get(), d);
    gemm(false, false, n, d, kv, 1.f, dk_.get(), kv, P(o.wk), d, 1.f, dxn_.get(), d);
    gemm(false, false, n, d, kv, 1.f, dv_.get(), kv, P(o.wv), d, 1.f, dxn_.get(), d);
    dgain(dxn_.get(), x_[l].get(), rstd1_[l].get(), G(o.attn_norm));
    rmsnorm_bwd_kernel<><<<unsigned(N), kRowThreads>>>(x_[l].get(), 0, rstd1_[l].get(), P(o.attn_norm), dxn_.get(), dX, d,
                                                     1);
    launched();
  }
};

}  // namespace so8t::llm
