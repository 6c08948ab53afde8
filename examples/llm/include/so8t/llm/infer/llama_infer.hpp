// so8t/llm/infer/llama_infer.hpp: the forward pass of a llama GGUF with a KV cache, computing what llama.cpp
// computes (tests/data/llama/MANIFEST.md, "What llama.cpp computes there"):
//
//   per layer: x += Wo attn(rope(Wq rms(x)), rope(Wk rms(x)), Wv rms(x));  x += Wd (silu(Wg rms(x)) * Wu rms(x))
//   logits = Wout rms(x)     (rms(x) = x / sqrt(mean(x^2) + eps) * norm weight)
//
// RoPE in llama.cpp's "normal" mode (llama): adjacent pairs (2j, 2j+1) of the first n_rot dims of each head
// turn by pos * base^(-2j/n_rot) (theta built as ggml does: theta_scale = base^(-2/n_rot), theta *= theta_scale
// per pair); "neox" mode (qwen2, qwen3) pairs (j, j + n_rot/2) instead. The angle is divided by
// rope_freqs[j] when the file has them (llama 3.1) and multiplied by the linear scaling's freq_scale.
// qwen2 adds the q/k/v biases after the projections; qwen3 RMS-normalises each query and key head (its own
// weights, the model's eps) before RoPE (docs/architectures.md). Query head h reads K/V head h / (n_heads / n_kv_heads); scale 1/sqrt(head_dim); causal softmax
// accumulated in f32. K (after RoPE) and V are rounded to fp16 like llama.cpp's default cache (kv_f16).
// With quantize_activations the matrix products quantize each activation row to the weight's vec_dot type
// (q8_0 for q8_0/q4_0/q4_1/q5_0/q5_1, q8_K for the K-quants) and multiply block by block, as llama.cpp's CPU
// backend does. Without it, q8_0/q4_K weights go through so8t::gemm::qgemm (rows dequantized on the fly);
// f16/bf16 weights, and other quantized types with f32 activations, are dequantized a few rows at a time
// into scratch. No fp32 copy of a matrix is ever kept: a model costs its mapped file plus activations and
// the KV cache. Plain float math (no bit-exactness target), single thread, valid without -ffast-math.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "so8t/base/cpu_features.hpp"
#include "so8t/base/errors.hpp"
#include "so8t/base/finite.hpp"
#include "so8t/gemm/cpu_features.hpp"
#include "so8t/gemm/fp32_gemm.hpp"
#include "so8t/gemm/qgemm.hpp"
#include "so8t/base/half.hpp"
#include "so8t/llm/model/gguf_model.hpp"
#include "so8t/quant/dot.hpp"
#include "so8t/quant/dot_avx2.hpp"
#include "so8t/quant/quantize.hpp"

#if SO8T_GEMM_X86
#  include <immintrin.h>
#endif

namespace so8t::llm {

struct InferOptions {
  bool kv_f16 = true;                ///< round K (after RoPE) and V to fp16, like llama.cpp's default cache
  bool quantize_activations = true;  ///< llama.cpp's vec_dot path; false: dequantized weights x f32 activations
  int n_ctx = 0;                     ///< KV cache length; 0: hparams().ctx
};

/// y[m, w.rows] = x[m, w.cols] . W^T.
class LinearBackend {
 public:
  virtual ~LinearBackend() = default;
  virtual void matmul(const WeightView& w, const float* x, std::int64_t m, float* y) = 0;
};

namespace detail {

#if SO8T_GEMM_X86
/// The horizontal float sum the quantized AVX2 dots use (so8t/quant/dot_avx2.hpp); the Q8_K quantizer
/// under its old name.
using quant::avx2::hsum256;
using quant::quantize_row_q8_k_avx2;

/// How rows_avx2 reads a weight row: f32, or fp16 / bf16 widened to f32 on load (exact conversions).
enum class RowKind { f32, f16, bf16 };

template <RowKind Kind>
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const void* row, std::int64_t t) {
  if constexpr (Kind == RowKind::f32) {
    return _mm256_loadu_ps(static_cast<const float*>(row) + t);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(row) + t));
    if constexpr (Kind == RowKind::f16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));  // bf16: the high half of an f32
  }
}
template <RowKind Kind>
inline float load1(const void* row, std::int64_t t) {
  if constexpr (Kind == RowKind::f32) return static_cast<const float*>(row)[t];
  else if constexpr (Kind == RowKind::f16) return fp16_bits_to_fp32(static_cast<const std::uint16_t*>(row)[t]);
  else return bf16_bits_to_fp32(static_cast<const std::uint16_t*>(row)[t]);
}

/// y[r * ldy + n] = <w_n, x_r> for weight rows n0 <= n < n0 + nw (nw <= 4) and all m activation rows, the
/// rows stored as Kind (row n at byte n * k * sizeof(element)): four weight rows share each activation load
/// (8 independent FMA chains). Each dot's summation order depends only on k, so a row gets the same value
/// whatever m is (incremental decoding == one-shot), and f16 / bf16 rows give what their f32 widening gives.
template <RowKind Kind>
__attribute__((target("avx2,fma,f16c"))) inline void rows_avx2(const void* w, std::int64_t k, std::int64_t n0, int nw,
                                                          const float* x, std::int64_t m, float* y, std::int64_t ldy) {
  const std::size_t esize = Kind == RowKind::f32 ? 4 : 2;
  const void* wr[4];
  for (int i = 0; i < 4; ++i)
    wr[i] = static_cast<const std::uint8_t*>(w) + static_cast<std::size_t>(n0 + (i < nw ? i : 0)) * static_cast<std::size_t>(k) * esize;
  for (std::int64_t r = 0; r < m; ++r) {
    const float* xr = x + r * k;
    __m256 a0[4], a1[4];
    for (int i = 0; i < 4; ++i) a0[i] = a1[i] = _mm256_setzero_ps();
    std::int64_t t = 0;
    for (; t + 16 <= k; t += 16) {
      const __m256 x0 = _mm256_loadu_ps(xr + t), x1 = _mm256_loadu_ps(xr + t + 8);
      for (int i = 0; i < 4; ++i) {
        a0[i] = _mm256_fmadd_ps(load8<Kind>(wr[i], t), x0, a0[i]);
        a1[i] = _mm256_fmadd_ps(load8<Kind>(wr[i], t + 8), x1, a1[i]);
      }
    }
    for (int i = 0; i < nw; ++i) {
      float s = hsum256(_mm256_add_ps(a0[i], a1[i]));
      for (std::int64_t u = t; u < k; ++u) s += load1<Kind>(wr[i], u) * xr[u];
      y[r * ldy + n0 + i] = s;
    }
  }
}

/// out[j] = <q, k_j> * scale for j < len, k_j = k + j * stride (hd values each).
__attribute__((target("avx2,fma,f16c"))) inline void attn_scores_avx2(const float* q, const float* k, std::int64_t stride,
                                                                 int len, int hd, float scale, float* out) {
  for (int j = 0; j < len; ++j) {
    const float* kj = k + j * stride;
    __m256 acc = _mm256_setzero_ps();
    int d = 0;
    for (; d + 8 <= hd; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kj + d), acc);
    float s = hsum256(acc);
    for (; d < hd; ++d) s += q[d] * kj[d];
    out[j] = s * scale;
  }
}

/// out[d] += sum_j p[j] * v_j[d], v_j = v + j * stride.
__attribute__((target("avx2,fma,f16c"))) inline void attn_values_avx2(const float* p, const float* v, std::int64_t stride,
                                                                 int len, int hd, float* out) {
  int d = 0;
  for (; d + 32 <= hd; d += 32) {
    __m256 a0 = _mm256_loadu_ps(out + d), a1 = _mm256_loadu_ps(out + d + 8);
    __m256 a2 = _mm256_loadu_ps(out + d + 16), a3 = _mm256_loadu_ps(out + d + 24);
    for (int j = 0; j < len; ++j) {
      const float* vj = v + j * stride + d;
      const __m256 pj = _mm256_set1_ps(p[j]);
      a0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj), a0);
      a1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8), a1);
      a2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 16), a2);
      a3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 24), a3);
    }
    _mm256_storeu_ps(out + d, a0);
    _mm256_storeu_ps(out + d + 8, a1);
    _mm256_storeu_ps(out + d + 16, a2);
    _mm256_storeu_ps(out + d + 24, a3);
  }
  for (; d < hd; ++d)
    for (int j = 0; j < len; ++j) out[d] += p[j] * v[j * stride + d];
}
#endif

inline void attn_scores(const float* q, const float* k, std::int64_t stride, int len, int hd, float scale, float* out,
                        bool simd) {
#if SO8T_GEMM_X86
  if (simd) return attn_scores_avx2(q, k, stride, len, hd, scale, out);
#endif
  (void)simd;
  for (int j = 0; j < len; ++j) {
    const float* kj = k + j * stride;
    float s = 0.0f;
    for (int d = 0; d < hd; ++d) s += q[d] * kj[d];
    out[j] = s * scale;
  }
}

inline void attn_values(const float* p, const float* v, std::int64_t stride, int len, int hd, float* out, bool simd) {
#if SO8T_GEMM_X86
  if (simd) return attn_values_avx2(p, v, stride, len, hd, out);
#endif
  (void)simd;
  for (int j = 0; j < len; ++j)
    for (int d = 0; d < hd; ++d) out[d] += p[j] * v[j * stride + d];
}

/// AVX2, FMA and F16C: what the kernels here and the quantized AVX2 dots need.
inline bool has_avx2() { return cpu::has_avx2_fma_f16c(); }

inline bool has_vec_dot(quant::Type t) {
  using quant::Type;
  return t == Type::q8_0 || t == Type::q4_0 || t == Type::q4_1 || t == Type::q5_0 || t == Type::q5_1 ||
         t == Type::q4_k || t == Type::q5_k || t == Type::q6_k;
}

}  // namespace detail

/// The built-in CPU backend: fp32 weights through AVX2 dots (Eigen without AVX2), quantized weights
/// through vec_dot on quantized activations (InferOptions::quantize_activations); with f32 activations,
/// q8_0/q4_K through qgemm's on-the-fly row dequantization; f16/bf16 and the rest a few dequantized rows at a
/// time (streamed_matmul). Holds only scratch, so one CpuLinear may serve several models.
class CpuLinear : public LinearBackend {
 public:
  explicit CpuLinear(bool quantize_activations = true, bool allow_simd = true)
      : quantize_(quantize_activations), simd_(allow_simd && detail::has_avx2()) {}

  void matmul(const WeightView& w, const float* x, std::int64_t m, float* y) override {
    if (m <= 0) return;
    const std::int64_t N = w.rows, K = w.cols;
    if (w.type == quant::Type::f32) return f32_matmul(static_cast<const float*>(w.data), N, K, x, m, y);
    if (quantize_ && detail::has_vec_dot(w.type)) {
      const quant::Type at = quant::vec_dot_type(w.type);
      const std::size_t arow = quant::row_bytes(at, K), wrow = quant::row_bytes(w.type, K);
      act_.resize(arow * static_cast<std::size_t>(m));
#if SO8T_GEMM_X86
      if (simd_ && at == quant::Type::q8_k)
        quant::quantize_row_q8_k_avx2(x, reinterpret_cast<quant::BlockQ8K*>(act_.data()), m * (K / 256));
      else
#endif
        quant::quantize(at, x, act_.data(), m, K);
      const auto* wb = static_cast<const std::uint8_t*>(w.data);
      // Tiles of up to 16 activation rows against each weight row in turn: the weight row stays in L1 while
      // the tile's rows (at most 16 x 1.06 K bytes) stay in L1/L2, instead of streaming the whole matrix once
      // per activation row. Every output is the same single row_dot either way.
      constexpr std::int64_t kTile = 16;
      for (std::int64_t r0 = 0; r0 < m; r0 += kTile) {
        const std::int64_t r1 = std::min(m, r0 + kTile);
        for (std::int64_t n = 0; n < N; ++n) {
          const std::uint8_t* wr = wb + wrow * static_cast<std::size_t>(n);
          for (std::int64_t r = r0; r < r1; ++r)
            y[r * N + n] = quant::vec_dot_best(w.type, wr, act_.data() + arow * static_cast<std::size_t>(r), K, simd_);
        }
      }
      return;
    }
    if (!quantize_ && (w.type == quant::Type::q8_0 || w.type == quant::Type::q4_k)) {
      // Never the dequantize-then-GEMM branch: each row's sums then do not depend on m (incremental ==
      // one-shot) and no fp32 copy of the weight is kept.
      gemm::QgemmOptions qo;
      qo.crossover_m = INT64_MAX;
      qo.allow_simd = simd_;
      return gemm::qgemm(w.type, w.data, N, K, x, m, y, qo);
    }
    streamed_matmul(w, x, m, y);
  }

 private:
  /// f16 / bf16 weights, and quantized ones with f32 activations: a few rows at a time dequantized into a
  /// scratch buffer and multiplied there, so no fp32 copy of a matrix is ever made (memory stays the mapped
  /// file). With SIMD, f16/bf16 rows are widened as rows_avx2 loads them and other types dequantized 4 rows
  /// per step into scratch (sums independent of m either way); without, tiles of 64 rows through gemm_f32.
  void streamed_matmul(const WeightView& w, const float* x, std::int64_t m, float* y) {
    const std::int64_t N = w.rows, K = w.cols;
    const std::size_t wrow = quant::row_bytes(w.type, K);
    const auto* wb = static_cast<const std::uint8_t*>(w.data);
#if SO8T_GEMM_X86
    if (simd_ && (w.type == quant::Type::f16 || w.type == quant::Type::bf16)) {  // widened as they are loaded
      for (std::int64_t n = 0; n < N; n += 4) {
        const int nw = static_cast<int>(std::min<std::int64_t>(4, N - n));
        if (w.type == quant::Type::f16) detail::rows_avx2<detail::RowKind::f16>(w.data, K, n, nw, x, m, y, N);
        else detail::rows_avx2<detail::RowKind::bf16>(w.data, K, n, nw, x, m, y, N);
      }
      return;
    }
    if (simd_) {
      rows_.resize(static_cast<std::size_t>(4 * K));
      for (std::int64_t n = 0; n < N; n += 4) {
        const std::int64_t nw = std::min<std::int64_t>(4, N - n);
        quant::dequantize(w.type, wb + wrow * static_cast<std::size_t>(n), rows_.data(), nw, K);
        detail::rows_avx2<detail::RowKind::f32>(rows_.data(), K, 0, static_cast<int>(nw), x, m, y + n, N);
      }
      return;
    }
#endif
    constexpr std::int64_t kTile = 64;
    rows_.resize(static_cast<std::size_t>(kTile * K));
    tile_.resize(static_cast<std::size_t>(kTile * m));
    for (std::int64_t n = 0; n < N; n += kTile) {
      const std::int64_t nt = std::min(kTile, N - n);
      quant::dequantize(w.type, wb + wrow * static_cast<std::size_t>(n), rows_.data(), nt, K);
      gemm::gemm_f32(x, m, K, rows_.data(), nt, tile_.data());
      for (std::int64_t r = 0; r < m; ++r)
        std::copy_n(tile_.data() + r * nt, nt, y + r * N + n);
    }
  }

 private:
  void f32_matmul(const float* w, std::int64_t N, std::int64_t K, const float* x, std::int64_t m, float* y) {
#if SO8T_GEMM_X86
    if (simd_) {  // for any m: every row then gets the same sums whatever the batch (incremental == one-shot)
      for (std::int64_t n = 0; n < N; n += 4)
        detail::rows_avx2<detail::RowKind::f32>(w, K, n, static_cast<int>(std::min<std::int64_t>(4, N - n)), x, m, y, N);
      return;
    }
#endif
    gemm::gemm_f32(x, m, K, w, N, y);
  }

  bool quantize_, simd_;
  std::vector<std::uint8_t> act_;
  std::vector<float> rows_, tile_;
};

class LlamaInfer {
 public:
  explicit LlamaInfer(const LlamaModel& model, InferOptions options = {})
      : model_(&model), opt_(options), cpu_(options.quantize_activations) {
    const LlamaConfig& hp = model.hparams();
    if (opt_.n_ctx < 0) throw InvalidArgument("so8t::llm::LlamaInfer: n_ctx = " + std::to_string(opt_.n_ctx) + " < 0");
    n_ctx_ = opt_.n_ctx > 0 ? opt_.n_ctx : hp.ctx;
    kv_dim_ = hp.n_kv_heads * hp.head_dim();
    // The K/V caches ([pos][kv_dim] per layer) grow with n_past, so a file claiming a huge context costs
    // nothing until that many tokens are evaluated.
    k_cache_.resize(static_cast<std::size_t>(hp.n_layers));
    v_cache_.resize(static_cast<std::size_t>(hp.n_layers));
    // RoPE: angle of pair j at position p = p * theta_scale^j, multiplied up in float as ggml does (rope_table).
    theta_scale_ = std::pow(static_cast<float>(hp.rope_theta), -2.0f / static_cast<float>(hp.n_rot));
    n_pairs_ = static_cast<std::size_t>(hp.n_rot / 2);
    backend_ = &cpu_;
  }
  LlamaInfer(const LlamaInfer&) = delete;
  LlamaInfer& operator=(const LlamaInfer&) = delete;

  /// Null: the built-in CpuLinear. The backend must outlive its use here.
  void set_backend(LinearBackend* b) { backend_ = b ? b : &cpu_; }
  void reset() { n_past_ = 0; }
  int n_past() const noexcept { return n_past_; }
  int n_ctx() const noexcept { return n_ctx_; }
  const LlamaModel& model() const noexcept { return *model_; }
  const InferOptions& options() const noexcept { return opt_; }

  /// Appends n tokens at positions n_past() .. n_past() + n - 1; writes logits [n, n_vocab] row-major
  /// when `logits` is non-null (NumericError naming the first position when one is NaN or infinite).
  void eval(const std::int32_t* tokens, int n, float* logits) {
    const LlamaConfig& hp = model_->hparams();
    if (n <= 0) {
      if (n == 0) return;
      throw InvalidArgument("so8t::llm::LlamaInfer::eval: n = " + std::to_string(n) + " < 0");
    }
    if (tokens == nullptr) throw InvalidArgument("so8t::llm::LlamaInfer::eval: null tokens");
    if (static_cast<std::int64_t>(n_past_) + n > n_ctx_)
      throw InvalidArgument("so8t::llm::LlamaInfer::eval: n_past " + std::to_string(n_past_) + " + " + std::to_string(n) +
                            " tokens exceeds n_ctx " + std::to_string(n_ctx_));
    for (int i = 0; i < n; ++i)
      if (tokens[i] < 0 || tokens[i] >= hp.vocab)
        throw InvalidArgument("so8t::llm::LlamaInfer::eval: token id " + std::to_string(tokens[i]) + " at index " +
                              std::to_string(i) + " is outside [0, " + std::to_string(hp.vocab) + ")");

    const int E = hp.dim, hd = hp.head_dim(), H = hp.n_heads, Hkv = hp.n_kv_heads, F = hp.ffn;
    const std::size_t ne = static_cast<std::size_t>(n);
    x_.resize(ne * E);
    xn_.resize(ne * E);
    q_.resize(ne * H * hd);
    k_.resize(ne * kv_dim_);
    v_.resize(ne * kv_dim_);
    att_.resize(ne * H * hd);
    tmp_.resize(ne * E);
    g_.resize(ne * F);
    u_.resize(ne * F);
    scores_.resize(static_cast<std::size_t>(n_past_ + n));
    const std::size_t cache_len = static_cast<std::size_t>(n_past_ + n) * static_cast<std::size_t>(kv_dim_);
    for (std::size_t il = 0; il < k_cache_.size(); ++il) {
      if (k_cache_[il].size() < cache_len) k_cache_[il].resize(cache_len);
      if (v_cache_[il].size() < cache_len) v_cache_[il].resize(cache_len);
    }

    // Embedding rows, dequantized exactly.
    const WeightView& te = model_->token_embd();
    const std::size_t trow = quant::row_bytes(te.type, E);
    for (int i = 0; i < n; ++i)
      quant::dequantize(te.type, static_cast<const std::uint8_t*>(te.data) + trow * static_cast<std::size_t>(tokens[i]),
                        x_.data() + static_cast<std::size_t>(i) * E, 1, E);

    rope_table(n);
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    const int group = H / Hkv;
    for (int il = 0; il < hp.n_layers; ++il) {
      const LlamaLayerView& L = model_->layers()[static_cast<std::size_t>(il)];
      rms_norm(x_.data(), static_cast<const float*>(L.attn_norm.data), n, E, xn_.data());
      backend_->matmul(L.wq, xn_.data(), n, q_.data());
      backend_->matmul(L.wk, xn_.data(), n, k_.data());
      backend_->matmul(L.wv, xn_.data(), n, v_.data());
      add_bias(L.bq, q_.data(), n);
      add_bias(L.bk, k_.data(), n);
      add_bias(L.bv, v_.data(), n);
      if (L.q_norm.data) rms_norm(q_.data(), static_cast<const float*>(L.q_norm.data), n * H, hd, q_.data());
      if (L.k_norm.data) rms_norm(k_.data(), static_cast<const float*>(L.k_norm.data), n * Hkv, hd, k_.data());
      float* kc = k_cache_[static_cast<std::size_t>(il)].data();
      float* vc = v_cache_[static_cast<std::size_t>(il)].data();
      for (int i = 0; i < n; ++i) {
        const int pos = n_past_ + i;
        float* qi = q_.data() + static_cast<std::size_t>(i) * H * hd;
        float* ki = k_.data() + static_cast<std::size_t>(i) * kv_dim_;
        const float* cs = rope_cs_.data() + static_cast<std::size_t>(i) * n_pairs_ * 2;
        for (int h = 0; h < H; ++h) rope(qi + h * hd, cs);
        for (int h = 0; h < Hkv; ++h) rope(ki + h * hd, cs);
        float* kdst = kc + static_cast<std::size_t>(pos) * kv_dim_;
        float* vdst = vc + static_cast<std::size_t>(pos) * kv_dim_;
        const float* vi = v_.data() + static_cast<std::size_t>(i) * kv_dim_;
        for (int d = 0; d < kv_dim_; ++d) {
          kdst[d] = opt_.kv_f16 ? round_f16(ki[d]) : ki[d];
          vdst[d] = opt_.kv_f16 ? round_f16(vi[d]) : vi[d];
        }
      }
      // Causal attention per query row and head.
      for (int i = 0; i < n; ++i) {
        const int len = n_past_ + i + 1;
        for (int h = 0; h < H; ++h) {
          const float* qh = q_.data() + (static_cast<std::size_t>(i) * H + h) * hd;
          const int kvh = h / group;
          float* sc = scores_.data();
          detail::attn_scores(qh, kc + kvh * hd, kv_dim_, len, hd, scale, sc, simd_);
          const float mx = *std::max_element(sc, sc + len);
          float sum = 0.0f;
          for (int j = 0; j < len; ++j) {
            sc[j] = std::exp(sc[j] - mx);
            sum += sc[j];
          }
          const float inv = 1.0f / sum;
          float* out = att_.data() + (static_cast<std::size_t>(i) * H + h) * hd;
          std::fill(out, out + hd, 0.0f);
          detail::attn_values(sc, vc + kvh * hd, kv_dim_, len, hd, out, simd_);
          for (int d = 0; d < hd; ++d) out[d] *= inv;
        }
      }
      backend_->matmul(L.wo, att_.data(), n, tmp_.data());
      for (std::size_t t = 0; t < ne * E; ++t) x_[t] += tmp_[t];

      rms_norm(x_.data(), static_cast<const float*>(L.ffn_norm.data), n, E, xn_.data());
      backend_->matmul(L.w_gate, xn_.data(), n, g_.data());
      backend_->matmul(L.w_up, xn_.data(), n, u_.data());
      for (std::size_t t = 0; t < ne * F; ++t) {
        const float a = g_[t];
        g_[t] = a / (1.0f + std::exp(-a)) * u_[t];
      }
      backend_->matmul(L.w_down, g_.data(), n, tmp_.data());
      for (std::size_t t = 0; t < ne * E; ++t) x_[t] += tmp_[t];
    }
    n_past_ += n;
    if (logits == nullptr) return;
    rms_norm(x_.data(), static_cast<const float*>(model_->output_norm().data), n, E, xn_.data());
    backend_->matmul(model_->output(), xn_.data(), n, logits);
    // A NaN weight or an overflow anywhere ends here: refuse it, rather than score or sample from garbage.
    const std::size_t V = static_cast<std::size_t>(hp.vocab), all = ne * V;
    if (const std::size_t bad = first_non_finite(logits, all); bad < all)
      throw NumericError("so8t::llm::LlamaInfer::eval: logit " + std::to_string(logits[bad]) + " at position " +
                         std::to_string(n_past_ - n + static_cast<int>(bad / V)) + ", vocab entry " +
                         std::to_string(bad % V) + " (a non-finite weight or an overflow in the model)");
  }

 private:
  static float round_f16(float v) { return fp16_bits_to_fp32(fp32_to_fp16_bits(v)); }

  /// y[r] += b for every one of the n rows (a bias of the file, or nothing when it has none).
  static void add_bias(const WeightView& b, float* y, int n) {
    if (!b.data) return;
    const float* bv = static_cast<const float*>(b.data);
    const std::size_t w = static_cast<std::size_t>(b.cols);
    for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r)
      for (std::size_t c = 0; c < w; ++c) y[r * w + c] += bv[c];
  }

  /// ggml's rms_norm (sum of squares in double) followed by the elementwise norm weight; in place when y == x
  /// (every element is read before it is written).
  void rms_norm(const float* x, const float* w, int n, int E, float* y) const {
    const float eps = static_cast<float>(model_->hparams().norm_eps);
    for (int i = 0; i < n; ++i) {
      const float* xi = x + static_cast<std::size_t>(i) * E;
      float* yi = y + static_cast<std::size_t>(i) * E;
      double ss = 0.0;
      for (int d = 0; d < E; ++d) ss += static_cast<double>(xi[d]) * xi[d];
      const float mean = static_cast<float>(ss / E);
      const float s = 1.0f / std::sqrt(mean + eps);
      for (int d = 0; d < E; ++d) yi[d] = (xi[d] * s) * w[d];
    }
  }

  /// cos/sin of every rotated pair for positions n_past .. n_past + n - 1 (shared by all heads and layers):
  /// the angle as ggml's rope with freq factors and linear scaling (ext_factor 0, attn_factor 1).
  void rope_table(int n) {
    const std::size_t half = n_pairs_;
    const RopeSpec& rs = model_->rope();
    rope_cs_.resize(static_cast<std::size_t>(n) * half * 2);
    for (int i = 0; i < n; ++i) {
      float theta_base = static_cast<float>(n_past_ + i);  // p * theta_scale^j by repeated products, as ggml
      for (std::size_t j = 0; j < half; ++j, theta_base *= theta_scale_) {
        float theta = theta_base;
        if (rs.freq_factors) theta /= rs.freq_factors[j];
        theta *= rs.freq_scale;
        rope_cs_[(static_cast<std::size_t>(i) * half + j) * 2] = std::cos(theta);
        rope_cs_[(static_cast<std::size_t>(i) * half + j) * 2 + 1] = std::sin(theta);
      }
    }
  }

  /// RoPE on one head vector: pair j is (2j, 2j+1) in normal mode, (j, j + n_rot/2) in neox mode.
  void rope(float* v, const float* cs) const {
    const std::size_t half = n_pairs_;
    const bool neox = model_->rope().neox;
    for (std::size_t j = 0; j < half; ++j) {
      const float c = cs[2 * j], s = cs[2 * j + 1];
      const std::size_t i0 = neox ? j : 2 * j, i1 = neox ? j + half : 2 * j + 1;
      const float a = v[i0], b = v[i1];
      v[i0] = a * c - b * s;
      v[i1] = a * s + b * c;
    }
  }

  const LlamaModel* model_;
  InferOptions opt_;
  CpuLinear cpu_;
  LinearBackend* backend_ = nullptr;
  bool simd_ = detail::has_avx2();
  int n_ctx_ = 0, n_past_ = 0, kv_dim_ = 0;
  float theta_scale_ = 1.0f;
  std::size_t n_pairs_ = 0;  ///< rotated pairs per head (n_rot / 2)
  std::vector<float> rope_cs_;
  std::vector<std::vector<float>> k_cache_, v_cache_;
  std::vector<float> x_, xn_, q_, k_, v_, att_, tmp_, g_, u_, scores_;
};

}  // namespace so8t::llm
