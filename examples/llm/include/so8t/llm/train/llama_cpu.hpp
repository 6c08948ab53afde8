// so8t/llm/train/llama_cpu.hpp: forward and backward of the gated tiny llama on the CPU, written by hand
// (no autograd), templated on the scalar (float for training, double for the finite-difference checks).
// Matrix products go through Eigen (single-threaded); everything else is plain loops.
//
// Per layer l, for N = B*T rows (x = residual stream):
//   xn  = rmsnorm(x) * attn_norm
//   q, k, v = xn Wq^T, xn Wk^T, xn Wv^T;  q, k rotated by RoPE on adjacent pairs (position t in the window)
//   ao  = causal softmax(q k^T / sqrt(hd)) v   (query head h reads kv head h / (n_heads / n_kv_heads))
//   go  = blockdiag(R) ao,  R = exp(hat(gate_safe)) or exp(hat(gate_cmd)) exp(hat(gate_safe))
//   x  += go Wo^T
//   xn  = rmsnorm(x) * ffn_norm;  x += (silu(xn W1^T) * (xn W3^T)) W2^T
// Final: u = rmsnorm(x) without gain (PET acts here), logits = (u * output_norm) Wout^T.
// Loss = mean cross-entropy + lambda * PET(u; segment ids), PET from so8t/pet.hpp.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "so8t/so8/block_rotation.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/llm/model/hparams.hpp"
#include "so8t/llm/model/param_layout.hpp"
#include "so8t/llm/train/loss.hpp"
#include "so8t/pet/pet.hpp"

namespace so8t::llm {

template <class S>
class LlamaCpu {
 public:
  using RM = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const RM>;
  using MMap = Eigen::Map<RM>;
  using CSMap = Eigen::Map<const RM, 0, Eigen::OuterStride<>>;
  using MSMap = Eigen::Map<RM, 0, Eigen::OuterStride<>>;

  explicit LlamaCpu(const LlamaConfig& cfg) : cfg_(cfg), layout_(llama_layout(cfg)) {
    params.assign(layout_.total, S(0));
    grads.assign(layout_.total, S(0));
  }

  const LlamaConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }

  std::vector<S> params;  ///< flat, in layout order
  std::vector<S> grads;   ///< d loss / d params of the last forward (after backward())

  /// tokens, targets, segments: [B, T] row-major (segments may be null = one document per row).
  /// T <= cfg.ctx. lambda scales PET in the loss.
  LossParts forward(const std::int32_t* tokens, const std::int32_t* targets, const std::int32_t* segments, int B,
                    int T, double lambda) {
    if (B <= 0 || T <= 0 || T > cfg_.ctx)
      throw InvalidArgument("so8t::llm::LlamaCpu::forward: B = " + std::to_string(B) + ", T = " +
                            std::to_string(T) + " (need B > 0, 0 < T <= ctx = " + std::to_string(cfg_.ctx) + ")");
    resize(B, T);
    const int N = B * T, d = cfg_.dim, V = cfg_.vocab;
    tokens_.assign(tokens, tokens + N);
    targets_.assign(targets, targets + N);
    if (segments) segments_.assign(segments, segments + N); else segments_.clear();
    lambda_ = lambda;
    for (int n = 0; n < N; ++n) {
      if (tokens[n] < 0 || tokens[n] >= V || targets[n] < 0 || targets[n] >= V)
        throw InvalidArgument("so8t::llm::LlamaCpu::forward: token " + std::to_string(tokens[n]) + " or target " +
                              std::to_string(targets[n]) + " at position " + std::to_string(n) +
                              " outside the vocabulary [0, " + std::to_string(V) + ")");
      std::copy_n(&params[layout_.tok_embd + std::size_t(tokens[n]) * d], d, &x_[0][std::size_t(n) * d]);
    }
    for (int l = 0; l < cfg_.n_layers; ++l) layer_forward(l);
    // final norm
    const S* xl = x_[cfg_.n_layers].data();
    rmsnorm_forward(xl, nullptr, u_.data(), rstdf_.data(), N);
    const S* g = &params[layout_.output_norm];
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < d; ++i) xf_[std::size_t(n) * d + i] = u_[std::size_t(n) * d + i] * g[i];
    MMap(probs_.data(), N, V).noalias() = CMap(xf_.data(), N, d) * CMap(&params[layout_.output], V, d).transpose();
    double ce = 0.0;
    for (int n = 0; n < N; ++n) {
      S* p = &probs_[std::size_t(n) * V];
      S mx = p[0];
      for (int j = 1; j < V; ++j) mx = std::max(mx, p[j]);
      S sum = 0;
      for (int j = 0; j < V; ++j) { p[j] = std::exp(p[j] - mx); sum += p[j]; }
      const S inv = S(1) / sum;
      for (int j = 0; j < V; ++j) p[j] *= inv;
      ce -= std::log(std::max(double(p[targets[n]]), 1e-300));
    }
    PetMask mask;
    mask.segment_ids = segments ? segments_.data() : nullptr;
    const PetResult pr = pet_loss(u_.data(), std::size_t(B), std::size_t(T), std::size_t(d), mask);
    return assemble_loss(ce, std::size_t(N), pr, lambda);
  }

  /// grads = d loss / d params for the last forward (overwritten).
  void backward() {
    if (B_ == 0) throw InvalidArgument("so8t::llm::LlamaCpu::backward: no forward pass before backward()");
    std::fill(grads.begin(), grads.end(), S(0));
    const int N = B_ * T_, d = cfg_.dim, V = cfg_.vocab;
    // dlogits = (p - onehot) / N, in place in dlogits_
    const S invN = S(1) / S(N);
    for (int n = 0; n < N; ++n) {
      const S* p = &probs_[std::size_t(n) * V];
      S* dl = &dlogits_[std::size_t(n) * V];
      for (int j = 0; j < V; ++j) dl[j] = p[j] * invN;
      dl[targets_[n]] -= invN;
    }
    CMap dL(dlogits_.data(), N, V);
    MMap(&grads[layout_.output], V, d).noalias() += dL.transpose() * CMap(xf_.data(), N, d);
    MMap(dxf_.data(), N, d).noalias() = dL * CMap(&params[layout_.output], V, d);
    // through the gain: du = dxf * g; dg += sum dxf * u; plus PET's gradient on u
    const S* g = &params[layout_.output_norm];
    S* dg = &grads[layout_.output_norm];
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < d; ++i) {
        const std::size_t k = std::size_t(n) * d + i;
        dg[i] += dxf_[k] * u_[k];
        du_[k] = dxf_[k] * g[i];
      }
    if (lambda_ != 0.0) {
      PetMask mask;
      mask.segment_ids = segments_.empty() ? nullptr : segments_.data();
      pet_loss_and_grad(u_.data(), std::size_t(B_), std::size_t(T_), std::size_t(d), mask, du_.data(), lambda_,
                        PetGradMode::accumulate);
    }
    // dx = rmsnorm backward (u = x * rstd)
    rmsnorm_backward_from_u(u_.data(), rstdf_.data(), du_.data(), dx_.data(), N);
    for (int l = cfg_.n_layers - 1; l >= 0; --l) layer_backward(l);
    for (int n = 0; n < N; ++n) {
      S* row = &grads[layout_.tok_embd + std::size_t(tokens_[n]) * d];
      const S* src = &dx_[std::size_t(n) * d];
      for (int i = 0; i < d; ++i) row[i] += src[i];
    }
  }

  /// Logits [B*T, vocab] (row-major, before softmax) of a forward over tokens [B, T] (no targets, PET off).
  /// Runs forward() with targets = tokens and lambda 0, so the activations and loss state it leaves behind
  /// are those of that pass. Additive helper for the bake / quantize QC (so8t_bake).
  std::vector<S> forward_logits(const std::int32_t* tokens, int B, int T) {
    forward(tokens, tokens, nullptr, B, T, 0.0);
    const int N = B * T, d = cfg_.dim, V = cfg_.vocab;
    std::vector<S> out(std::size_t(N) * V);
    MMap(out.data(), N, V).noalias() = CMap(xf_.data(), N, d) * CMap(&params[layout_.output], V, d).transpose();
    return out;
  }

  /// Composed gate rotations of layer l ([dim/8, 8, 8], row-major) as of the last forward.
  const std::vector<S>& gate_rotations(int l) const { return R_[l]; }

 private:
  LlamaConfig cfg_;
  ParamLayout layout_;
  int B_ = 0, T_ = 0;
  double lambda_ = 0.0;
  std::vector<std::int32_t> tokens_, targets_, segments_;
  // activations (per layer vectors)
  std::vector<std::vector<S>> x_, xn1_, rstd1_, q_, k_, v_, att_, ao_, go_, xn2_, rstd2_, h1_, h3_, hg_;
  std::vector<std::vector<S>> R_, Rsafe_, Rcmd_;
  std::vector<S> u_, rstdf_, xf_, probs_, dlogits_, dxf_, du_, dx_;
  // backward scratch
  std::vector<S> dxn_, dq_, dk_, dv_, dao_, dgo_, dh1_, dh3_, dhg_, dP_, dR_, dRs_, dRc_;
  std::vector<S> rope_cos_, rope_sin_;

  void resize(int B, int T) {
    if (B == B_ && T == T_) return;
    B_ = B;
    T_ = T;
    const std::size_t N = std::size_t(B) * T, d = cfg_.dim, kv = cfg_.kv_dim(), f = cfg_.ffn, L = cfg_.n_layers,
                      H = cfg_.n_heads, V = cfg_.vocab, nb = cfg_.gate_blocks();
    auto per_layer = [&](std::vector<std::vector<S>>& a, std::size_t n, std::size_t count) {
      a.assign(count, std::vector<S>(n, S(0)));
    };
    per_layer(x_, N * d, L + 1);
    per_layer(xn1_, N * d, L); per_layer(rstd1_, N, L);
    per_layer(q_, N * d, L); per_layer(k_, N * kv, L); per_layer(v_, N * kv, L);
    per_layer(att_, std::size_t(B) * H * T * T, L);
    per_layer(ao_, N * d, L); per_layer(go_, N * d, L);
    per_layer(xn2_, N * d, L); per_layer(rstd2_, N, L);
    per_layer(h1_, N * f, L); per_layer(h3_, N * f, L); per_layer(hg_, N * f, L);
    per_layer(R_, nb * 64, L); per_layer(Rsafe_, nb * 64, L); per_layer(Rcmd_, nb * 64, L);
    u_.assign(N * d, 0); rstdf_.assign(N, 0); xf_.assign(N * d, 0); probs_.assign(N * V, 0);
    dlogits_.assign(N * V, 0); dxf_.assign(N * d, 0); du_.assign(N * d, 0); dx_.assign(N * d, 0);
    dxn_.assign(N * d, 0); dq_.assign(N * d, 0); dk_.assign(N * kv, 0); dv_.assign(N * kv, 0);
    dao_.assign(N * d, 0); dgo_.assign(N * d, 0); dh1_.assign(N * f, 0); dh3_.assign(N * f, 0);
    dhg_.assign(N * f, 0); dP_.assign(std::size_t(T) * T, 0);
    dR_.assign(nb * 64, 0); dRs_.assign(nb * 64, 0); dRc_.assign(nb * 64, 0);
    const int hd = cfg_.head_dim();
    rope_cos_.assign(std::size_t(T) * (hd / 2), 0);
    rope_sin_.assign(std::size_t(T) * (hd / 2), 0);
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < hd / 2; ++i) {
        const double freq = std::pow(cfg_.rope_theta, -2.0 * i / hd);
        rope_cos_[std::size_t(t) * (hd / 2) + i] = S(std::cos(t * freq));
        rope_sin_[std::size_t(t) * (hd / 2) + i] = S(std::sin(t * freq));
      }
  }

  // y = x * rstd * (gain or 1); rstd per row.
  void rmsnorm_forward(const S* x, const S* gain, S* y, S* rstd, int N) const {
    const int d = cfg_.dim;
    for (int n = 0; n < N; ++n) {
      const S* xr = x + std::size_t(n) * d;
      S ss = 0;
      for (int i = 0; i < d; ++i) ss += xr[i] * xr[i];
      const S r = S(1) / std::sqrt(ss / S(d) + S(cfg_.norm_eps));
      rstd[n] = r;
      S* yr = y + std::size_t(n) * d;
      for (int i = 0; i < d; ++i) yr[i] = xr[i] * r * (gain ? gain[i] : S(1));
    }
  }
  // dx (+)= rstd * (du - u * mean(du * u)), u = x * rstd.
  void rmsnorm_backward_from_u(const S* u, const S* rstd, const S* du, S* dx, int N, bool accumulate = false) const {
    const int d = cfg_.dim;
    for (int n = 0; n < N; ++n) {
      const S* ur = u + std::size_t(n) * d;
      const S* dur = du + std::size_t(n) * d;
      S dot = 0;
      for (int i = 0; i < d; ++i) dot += dur[i] * ur[i];
      dot /= S(d);
      S* dxr = dx + std::size_t(n) * d;
      for (int i = 0; i < d; ++i) {
        const S v = rstd[n] * (dur[i] - ur[i] * dot);
        dxr[i] = accumulate ? dxr[i] + v : v;
      }
    }
  }
  // Backward of y = x * rstd * gain given dy: dgain += dy * u, dx += rstd (dy g - u mean(dy g u)).
  void rmsnorm_backward(const S* x, const S* rstd, const S* gain, const S* dy, S* dgain, S* dx, int N) {
    const int d = cfg_.dim;
    for (int n = 0; n < N; ++n) {
      const S* xr = x + std::size_t(n) * d;
      const S* dyr = dy + std::size_t(n) * d;
      const S r = rstd[n];
      S dot = 0;
      for (int i = 0; i < d; ++i) {
        const S uu = xr[i] * r;
        dgain[i] += dyr[i] * uu;
        dot += dyr[i] * gain[i] * uu;
      }
      dot /= S(d);
      S* dxr = dx + std::size_t(n) * d;
      for (int i = 0; i < d; ++i) dxr[i] += r * (dyr[i] * gain[i] - xr[i] * r * dot);
    }
  }

  void rope(S* a, int width, bool inverse) const {  // a: [N, width], heads of head_dim along width
    const int hd = cfg_.head_dim(), half = hd / 2, N = B_ * T_;
    for (int n = 0; n < N; ++n) {
      const int t = n % T_;
      const S* cs = &rope_cos_[std::size_t(t) * half];
      const S* sn = &rope_sin_[std::size_t(t) * half];
      S* row = a + std::size_t(n) * width;
      for (int h0 = 0; h0 < width; h0 += hd)
        for (int i = 0; i < half; ++i) {
          S& a0 = row[h0 + 2 * i];
          S& a1 = row[h0 + 2 * i + 1];
          const S c = cs[i], s = inverse ? -sn[i] : sn[i];
          const S y0 = a0 * c - a1 * s, y1 = a0 * s + a1 * c;
          a0 = y0;
          a1 = y1;
        }
    }
  }

  void gate_rotations_forward(int l) {
    const LayerOffsets& o = layout_.layers[l];
    const std::size_t nb = cfg_.gate_blocks();
    if (cfg_.gate_stack >= 1) block_exp(&params[o.gate_safe], nb, Rsafe_[l].data());
    if (cfg_.gate_stack == 2) {
      block_exp(&params[o.gate_cmd], nb, Rcmd_[l].data());
      block_compose(Rcmd_[l].data(), Rsafe_[l].data(), nb, R_[l].data());
    } else if (cfg_.gate_stack == 1) {
      R_[l] = Rsafe_[l];
    }
  }

  /// Head h's query and its KV group g's key and value, T x head_dim views into batch row b of layer l.
  struct HeadQkv {
    CSMap q, k, v;
    int g;
  };
  HeadQkv head_qkv(int l, int b, int h) const {
    const int d = cfg_.dim, kv = cfg_.kv_dim(), hd = cfg_.head_dim(), T = T_, g = h / (cfg_.n_heads / cfg_.n_kv_heads);
    return {CSMap(&q_[l][std::size_t(b) * T * d + h * hd], T, hd, Eigen::OuterStride<>(d)),
            CSMap(&k_[l][std::size_t(b) * T * kv + g * hd], T, hd, Eigen::OuterStride<>(kv)),
            CSMap(&v_[l][std::size_t(b) * T * kv + g * hd], T, hd, Eigen::OuterStride<>(kv)), g};
  }

  void layer_forward(int l) {
    const LayerOffsets& o = layout_.layers[l];
    const int N = B_ * T_, d = cfg_.dim, kv = cfg_.kv_dim(), f = cfg_.ffn, H = cfg_.n_heads, hd = cfg_.head_dim(),
              T = T_;
    const S* P = params.data();
    const S* x = x_[l].data();
    rmsnorm_forward(x, P + o.attn_norm, xn1_[l].data(), rstd1_[l].data(), N);
    CMap xn(xn1_[l].data(), N, d);
    MMap(q_[l].data(), N, d).noalias() = xn * CMap(P + o.wq, d, d).transpose();
    MMap(k_[l].data(), N, kv).noalias() = xn * CMap(P + o.wk, kv, d).transpose();
    MMap(v_[l].data(), N, kv).noalias() = xn * CMap(P + o.wv, kv, d).transpose();
    rope(q_[l].data(), d, false);
    rope(k_[l].data(), kv, false);
    const S scale = S(1) / std::sqrt(S(hd));
    for (int b = 0; b < B_; ++b)
      for (int h = 0; h < H; ++h) {
        const auto [Q, K, Vm, g] = head_qkv(l, b, h);
        MMap A(&att_[l][(std::size_t(b) * H + h) * T * T], T, T);
        A.noalias() = (Q * K.transpose()) * scale;
        for (int i = 0; i < T; ++i) {
          S* row = &A(i, 0);
          S mx = row[0];
          for (int j = 1; j <= i; ++j) mx = std::max(mx, row[j]);
          S sum = 0;
          for (int j = 0; j <= i; ++j) { row[j] = std::exp(row[j] - mx); sum += row[j]; }
          const S inv = S(1) / sum;
          for (int j = 0; j <= i; ++j) row[j] *= inv;
          for (int j = i + 1; j < T; ++j) row[j] = S(0);
        }
        MSMap O(&ao_[l][std::size_t(b) * T * d + h * hd], T, hd, Eigen::OuterStride<>(d));
        O.noalias() = A * Vm;
      }
    // gate
    if (cfg_.gate_stack > 0) {
      gate_rotations_forward(l);
      for (int blk = 0; blk < cfg_.gate_blocks(); ++blk) {
        Eigen::Map<const Eigen::Matrix<S, 8, 8, Eigen::RowMajor>> Rb(&R_[l][std::size_t(blk) * 64]);
        CSMap X(&ao_[l][std::size_t(blk) * 8], N, 8, Eigen::OuterStride<>(d));
        MSMap Y(&go_[l][std::size_t(blk) * 8], N, 8, Eigen::OuterStride<>(d));
        Y.noalias() = X * Rb.transpose();
      }
    } else {
      go_[l] = ao_[l];
    }
    // residual
    MMap xm(x_[l + 1].data(), N, d);
    xm = CMap(x, N, d);
    xm.noalias() += CMap(go_[l].data(), N, d) * CMap(P + o.wo, d, d).transpose();
    // ffn
    rmsnorm_forward(x_[l + 1].data(), P + o.ffn_norm, xn2_[l].data(), rstd2_[l].data(), N);
    // keep a copy of the mid residual in xn2's shadow: x_[l+1] is updated in place below, so store x_mid
    xmid_copy(l);
    CMap xn2(xn2_[l].data(), N, d);
    MMap(h1_[l].data(), N, f).noalias() = xn2 * CMap(P + o.w1, f, d).transpose();
    MMap(h3_[l].data(), N, f).noalias() = xn2 * CMap(P + o.w3, f, d).transpose();
    for (std::size_t i = 0; i < std::size_t(N) * f; ++i) {
      const S a = h1_[l][i];
      hg_[l][i] = a / (S(1) + std::exp(-a)) * h3_[l][i];
    }
    xm.noalias() += CMap(hg_[l].data(), N, f) * CMap(P + o.w2, d, f).transpose();
  }

  std::vector<std::vector<S>> xmid_;
  void xmid_copy(int l) {
    if (xmid_.size() != std::size_t(cfg_.n_layers)) xmid_.assign(cfg_.n_layers, {});
    xmid_[l] = x_[l + 1];
  }

  // dx_ holds d loss / d x_[l+1] on entry and d loss / d x_[l] on exit.
  void layer_backward(int l) {
    const LayerOffsets& o = layout_.layers[l];
    const int N = B_ * T_, d = cfg_.dim, kv = cfg_.kv_dim(), f = cfg_.ffn, H = cfg_.n_heads, hd = cfg_.head_dim(),
              T = T_;
    const S* P = params.data();
    S* G = grads.data();
    CMap dX(dx_.data(), N, d);
    // ffn: x_out = x_mid + hg W2^T
    MMap(G + o.w2, d, f).noalias() += dX.transpose() * CMap(hg_[l].data(), N, f);
    MMap(dhg_.data(), N, f).noalias() = dX * CMap(P + o.w2, d, f);
    for (std::size_t i = 0; i < std::size_t(N) * f; ++i) {
      const S a = h1_[l][i];
      const S sg = S(1) / (S(1) + std::exp(-a));
      const S silu = a * sg;
      dh3_[i] = dhg_[i] * silu;
      dh1_[i] = dhg_[i] * h3_[l][i] * sg * (S(1) + a * (S(1) - sg));
    }
    CMap xn2(xn2_[l].data(), N, d);
    MMap(G + o.w1, f, d).noalias() += CMap(dh1_.data(), N, f).transpose() * xn2;
    MMap(G + o.w3, f, d).noalias() += CMap(dh3_.data(), N, f).transpose() * xn2;
    MMap dxn(dxn_.data(), N, d);
    dxn.noalias() = CMap(dh1_.data(), N, f) * CMap(P + o.w1, f, d);
    dxn.noalias() += CMap(dh3_.data(), N, f) * CMap(P + o.w3, f, d);
    // dx_ (d x_mid) += rmsnorm backward
    rmsnorm_backward(xmid_[l].data(), rstd2_[l].data(), P + o.ffn_norm, dxn_.data(), G + o.ffn_norm, dx_.data(), N);
    // attention out: x_mid = x_in + go Wo^T
    MMap(G + o.wo, d, d).noalias() += dX.transpose() * CMap(go_[l].data(), N, d);
    MMap(dgo_.data(), N, d).noalias() = dX * CMap(P + o.wo, d, d);
    // gate
    if (cfg_.gate_stack > 0) {
      for (int blk = 0; blk < cfg_.gate_blocks(); ++blk) {
        Eigen::Map<const Eigen::Matrix<S, 8, 8, Eigen::RowMajor>> Rb(&R_[l][std::size_t(blk) * 64]);
        Eigen::Map<Eigen::Matrix<S, 8, 8, Eigen::RowMajor>> dRb(&dR_[std::size_t(blk) * 64]);
        CSMap dY(&dgo_[std::size_t(blk) * 8], N, 8, Eigen::OuterStride<>(d));
        CSMap X(&ao_[l][std::size_t(blk) * 8], N, 8, Eigen::OuterStride<>(d));
        MSMap dXb(&dao_[std::size_t(blk) * 8], N, 8, Eigen::OuterStride<>(d));
        dRb.noalias() = dY.transpose() * X;
        dXb.noalias() = dY * Rb;
      }
      const std::size_t nb = cfg_.gate_blocks();
      if (cfg_.gate_stack == 2) {
        block_compose_vjp(Rcmd_[l].data(), Rsafe_[l].data(), dR_.data(), nb, dRc_.data(), dRs_.data());
        block_exp_vjp(P + o.gate_cmd, dRc_.data(), nb, G + o.gate_cmd);
        block_exp_vjp(P + o.gate_safe, dRs_.data(), nb, G + o.gate_safe);
      } else {
        block_exp_vjp(P + o.gate_safe, dR_.data(), nb, G + o.gate_safe);
      }
    } else {
      dao_ = dgo_;
    }
    // attention core
    std::fill(dk_.begin(), dk_.end(), S(0));
    std::fill(dv_.begin(), dv_.end(), S(0));
    const S scale = S(1) / std::sqrt(S(hd));
    for (int b = 0; b < B_; ++b)
      for (int h = 0; h < H; ++h) {
        const auto [Q, K, Vm, g] = head_qkv(l, b, h);
        CMap A(&att_[l][(std::size_t(b) * H + h) * T * T], T, T);
        CSMap dO(&dao_[std::size_t(b) * T * d + h * hd], T, hd, Eigen::OuterStride<>(d));
        MSMap dQ(&dq_[std::size_t(b) * T * d + h * hd], T, hd, Eigen::OuterStride<>(d));
        MSMap dK(&dk_[std::size_t(b) * T * kv + g * hd], T, hd, Eigen::OuterStride<>(kv));
        MSMap dV(&dv_[std::size_t(b) * T * kv + g * hd], T, hd, Eigen::OuterStride<>(kv));
        MMap dP(dP_.data(), T, T);
        dP.noalias() = dO * Vm.transpose();
        dV.noalias() += A.transpose() * dO;
        for (int i = 0; i < T; ++i) {
          S dot = 0;
          for (int j = 0; j <= i; ++j) dot += A(i, j) * dP(i, j);
          for (int j = 0; j <= i; ++j) dP(i, j) = A(i, j) * (dP(i, j) - dot) * scale;
          for (int j = i + 1; j < T; ++j) dP(i, j) = S(0);
        }
        dQ.noalias() = dP * K;
        dK.noalias() += dP.transpose() * Q;
      }
    rope(dq_.data(), d, true);
    rope(dk_.data(), kv, true);
    CMap xn1(xn1_[l].data(), N, d);
    MMap(G + o.wq, d, d).noalias() += CMap(dq_.data(), N, d).transpose() * xn1;
    MMap(G + o.wk, kv, d).noalias() += CMap(dk_.data(), N, kv).transpose() * xn1;
    MMap(G + o.wv, kv, d).noalias() += CMap(dv_.data(), N, kv).transpose() * xn1;
    dxn.noalias() = CMap(dq_.data(), N, d) * CMap(P + o.wq, d, d);
    dxn.noalias() += CMap(dk_.data(), N, kv) * CMap(P + o.wk, kv, d);
    dxn.noalias() += CMap(dv_.data(), N, kv) * CMap(P + o.wv, kv, d);
    rmsnorm_backward(x_[l].data(), rstd1_[l].data(), P + o.attn_norm, dxn_.data(), G + o.attn_norm, dx_.data(), N);
  }
};

}  // namespace so8t::llm
