// so8t/gemm/llm_int8.hpp: the LLM.int8 linear layer, Y[M,N] = X[M,K] . W[N,K]^T (+ bias), and the
// skip-module rule that keeps named layers in floating point.
//
// Forward (docs/int8-gemm-and-offload.md §1.1): find the outlier columns of X (|x| >= threshold),
// quantize the rest per row by absmax (int8_quantize.hpp), int8 GEMM with exact int32 accumulation
// (int8_kernels.hpp, kernel chosen at run time), and a fused epilogue per tile:
//     y = fp::mul(float(acc) * sx[m] / 127, sw[n] / 127) + outlier[m, n] + bias[n]
// where outlier = X[:, cols] . Wdq[:, cols]^T in fp32 (Eigen) against the int8 weight dequantized back
// (Wdq[n, c] = q[n, c] * sw[n] / 127: exact activations, int8-rounded weights, as bitsandbytes does).
// The epilogue code is the same for every kernel, so equal int32 accumulators give bit-equal outputs.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <string>
#include <vector>

#include "so8t/base/errors.hpp"
#include "so8t/base/fp.hpp"
#include "so8t/gemm/fp32_gemm.hpp"
#include "so8t/gemm/int8_kernels.hpp"
#include "so8t/gemm/int8_quantize.hpp"
#include "so8t/base/half.hpp"

namespace so8t::gemm {

/// Per-call options of the int8 layer.
struct Int8Options {
  float threshold = kDefaultOutlierThreshold;  ///< outlier threshold; <= 0 disables the fp path
  Int8Kernel kernel = Int8Kernel::automatic;   ///< CPU kernel (automatic: best by CPU features)
  int threads = 1;                             ///< threads splitting the output columns
};

/// What the last forward did (for tests and logs).
struct Int8Stats {
  Int8Kernel kernel = Int8Kernel::scalar;
  std::int64_t outlier_columns = 0;
};

class Int8Linear {
 public:
  Int8Linear() = default;

  /// Quantizes W[n, k] (row-major) per output row; bias (length n) is optional.
  static Int8Linear from_float(const float* w, std::int64_t n, std::int64_t k, const float* bias = nullptr) {
    Int8Linear l;
    l.w_ = quantize_weight_int8(w, n, k, k);
    l.packed_ = pack_int8(l.w_.q.data(), n, k, k);
    if (bias != nullptr) l.bias_.assign(bias, bias + n);
    return l;
  }

  std::int64_t in_features() const { return w_.k; }
  std::int64_t out_features() const { return w_.n; }
  const Int8Weight& weight() const { return w_; }
  const PackedInt8& packed() const { return packed_; }
  const std::vector<float>& bias() const { return bias_; }
  /// Bytes of the stored layer: int8 codes + fp32 row scales + bias.
  std::uint64_t stored_bytes() const {
    return static_cast<std::uint64_t>(w_.q.size()) + 4u * (w_.scale.size() + bias_.size());
  }

  /// Y[m, n] = X[m, k] . W^T (+ bias), X and Y row-major and contiguous.
  Int8Stats forward(const float* x, std::int64_t m, float* y, const Int8Options& opt = {}) const {
    const std::int64_t n = w_.n, k = w_.k;
    if (m < 0) throw InvalidArgument("so8t::gemm::Int8Linear::forward: m = " + std::to_string(m) + " is negative");
    Int8Stats st;
    st.kernel = resolve_kernel(opt.kernel);
    if (m == 0 || n == 0) return st;
    if (x == nullptr || y == nullptr) throw InvalidArgument("so8t::gemm::Int8Linear::forward: null pointer");
    const Int8Activations a = quantize_activations_int8(x, m, k, k, opt.threshold);
    st.outlier_columns = static_cast<std::int64_t>(a.outlier_cols.size());
    std::vector<float> outl;
    if (!a.outlier_cols.empty()) outl = outlier_product(x, m, a.outlier_cols);
    std::vector<float> rs(static_cast<std::size_t>(m)), cs(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < m; ++i) rs[static_cast<std::size_t>(i)] = a.absmax[static_cast<std::size_t>(i)] / 127.0f;
    for (std::int64_t j = 0; j < n; ++j) cs[static_cast<std::size_t>(j)] = w_.scale[static_cast<std::size_t>(j)] / 127.0f;
    const float* bias = bias_.empty() ? nullptr : bias_.data();
    const float* add = outl.empty() ? nullptr : outl.data();
    gemm_s8s8_tiles(st.kernel, a.q.data(), k, m, w_.q.data(), k, packed_,
                    [&](std::int64_t m0, int rows, std::int64_t n0, std::int64_t cols, const std::int32_t* t,
                        std::int64_t ldt) {
                      for (int r = 0; r < rows; ++r) {
                        const std::int64_t i = m0 + r;
                        const float ri = rs[static_cast<std::size_t>(i)];
                        float* yr = y + i * n + n0;
                        const float* cr = cs.data() + n0;
                        for (std::int64_t c = 0; c < cols; ++c) yr[c] = fp::mul(float(t[r * ldt + c]) * ri, cr[c]);
                        if (add != nullptr)
                          for (std::int64_t c = 0; c < cols; ++c) yr[c] = fp::add(yr[c], add[i * n + n0 + c]);
                        if (bias != nullptr)
                          for (std::int64_t c = 0; c < cols; ++c) yr[c] = fp::add(yr[c], bias[n0 + c]);
                      }
                    },
                    opt.threads);
    return st;
  }

  /// fp16 activations: widened to fp32 (exactly), then as above.
  Int8Stats forward(const half_t* x, std::int64_t m, float* y, const Int8Options& opt = {}) const {
    std::vector<float> xf(static_cast<std::size_t>(m * w_.k));
    for (std::size_t i = 0; i < xf.size(); ++i) xf[i] = x[i].to_float();
    return forward(xf.data(), m, y, opt);
  }

 private:
  /// X[:, cols] . Wdq[:, cols]^T in fp32, [m, n].
  std::vector<float> outlier_product(const float* x, std::int64_t m, const std::vector<std::int32_t>& cols) const {
    const std::int64_t n = w_.n, k = w_.k, c = static_cast<std::int64_t>(cols.size());
    std::vector<float> xo(static_cast<std::size_t>(m * c)), wo(static_cast<std::size_t>(n * c));
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < c; ++j) xo[static_cast<std::size_t>(i * c + j)] = x[i * k + cols[static_cast<std::size_t>(j)]];
    for (std::int64_t r = 0; r < n; ++r) {
      const float s = w_.scale[static_cast<std::size_t>(r)] / 127.0f;
      for (std::int64_t j = 0; j < c; ++j)
        wo[static_cast<std::size_t>(r * c + j)] =
            fp::mul(float(w_.q[static_cast<std::size_t>(r * k + cols[static_cast<std::size_t>(j)])]), s);
    }
    std::vector<float> out(static_cast<std::size_t>(m * n));
    gemm_f32(xo.data(), m, c, wo.data(), n, out.data());
    return out;
  }

  Int8Weight w_;
  PackedInt8 packed_;
  std::vector<float> bias_;
};

/// A plain fp32 linear layer (skip modules, CPU-offloaded layers).
class FloatLinear {
 public:
  FloatLinear() = default;
  static FloatLinear from_float(const float* w, std::int64_t n, std::int64_t k, const float* bias = nullptr) {
    if (n < 0 || k < 0 || (n * k > 0 && w == nullptr))
      throw InvalidArgument("so8t::gemm::FloatLinear: bad weight " + std::to_string(n) + " x " + std::to_string(k));
    FloatLinear l;
    l.n_ = n;
    l.k_ = k;
    l.w_.assign(w, w + n * k);
    if (bias != nullptr) l.bias_.assign(bias, bias + n);
    return l;
  }
  std::int64_t in_features() const { return k_; }
  std::int64_t out_features() const { return n_; }
  const float* weight() const { return w_.data(); }
  const float* bias() const { return bias_.empty() ? nullptr : bias_.data(); }
  std::uint64_t stored_bytes() const { return 4u * static_cast<std::uint64_t>(w_.size() + bias_.size()); }
  void forward(const float* x, std::int64_t m, float* y) const { gemm_f32(x, m, k_, w_.data(), n_, y, bias()); }

 private:
  std::int64_t n_ = 0, k_ = 0;
  std::vector<float> w_, bias_;
};

/// True when module `name` is named by the skip list: equal to an entry, or an entry is one of its
/// dot-separated prefixes/suffixes ("lm_head" skips "model.lm_head"; "model.layers.0" skips
/// "model.layers.0.mlp.up").
inline bool is_skipped(const std::string& name, const std::vector<std::string>& skip) {
  for (const std::string& s : skip) {
    if (s.empty()) continue;
    if (name == s) return true;
    if (name.size() > s.size()) {
      if (name.compare(name.size() - s.size(), s.size(), s) == 0 && name[name.size() - s.size() - 1] == '.') return true;
      if (name.compare(0, s.size(), s) == 0 && name[s.size()] == '.') return true;
    }
  }
  return false;
}

/// LLM.int8 conversion settings: threshold, kernel and skip modules (kept in fp32). The default skip
/// list keeps "lm_head" in floating point, as transformers does.
struct Int8Config {
  Int8Options options{};
  std::vector<std::string> skip_modules{"lm_head"};
};

/// A named linear layer that is int8 unless its name is on the skip list.
class QuantizedLinear {
 public:
  static QuantizedLinear create(std::string name, const float* w, std::int64_t n, std::int64_t k, const float* bias,
                                const Int8Config& cfg) {
    QuantizedLinear q;
    q.name_ = std::move(name);
    q.opt_ = cfg.options;
    q.int8_ = !is_skipped(q.name_, cfg.skip_modules);
    if (q.int8_) q.i8_ = Int8Linear::from_float(w, n, k, bias);
    else q.f32_ = FloatLinear::from_float(w, n, k, bias);
    return q;
  }
  const std::string& name() const { return name_; }
  bool is_int8() const { return int8_; }
  std::int64_t in_features() const { return int8_ ? i8_.in_features() : f32_.in_features(); }
  std::int64_t out_features() const { return int8_ ? i8_.out_features() : f32_.out_features(); }
  std::uint64_t stored_bytes() const { return int8_ ? i8_.stored_bytes() : f32_.stored_bytes(); }
  void forward(const float* x, std::int64_t m, float* y) const {
    if (int8_) i8_.forward(x, m, y, opt_);
    else f32_.forward(x, m, y);
  }

 private:
  std::string name_;
  Int8Options opt_{};
  bool int8_ = true;
  Int8Linear i8_;
  FloatLinear f32_;
};

}  // namespace so8t::gemm
