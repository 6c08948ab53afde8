// so8t/llm/train/adamw.hpp: AdamW with bias correction and global-norm gradient clipping, on flat arrays.
// Weight decay (decoupled) applies to matrices and embeddings only, not to norm gains or SO(8) gates.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "so8t/llm/model/param_layout.hpp"

namespace so8t::llm {

/// Scales g so that its L2 norm is at most max_norm (max_norm <= 0: no clipping). Returns the norm before.
template <class S>
double clip_grad_norm(S* g, std::size_t n, double max_norm) {
  double ss = 0.0;
  for (std::size_t i = 0; i < n; ++i) ss += double(g[i]) * double(g[i]);
  const double norm = std::sqrt(ss);
  if (max_norm > 0.0 && norm > max_norm) {
    const S s = S(max_norm / (norm + 1e-12));
    for (std::size_t i = 0; i < n; ++i) g[i] *= s;
  }
  return norm;
}

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
};

template <class S>
struct AdamW {
  AdamWConfig cfg;
  std::vector<S> m, v;
  std::vector<unsigned char> decay;  ///< per parameter: 1 = decayed
  std::size_t t = 0;                 ///< updates done

  AdamW() = default;
  AdamW(const ParamLayout& layout, AdamWConfig c) : cfg(c), m(layout.total, S(0)), v(layout.total, S(0)),
                                                    decay(layout.total, 0) {
    for (const auto& p : layout.tensors)
      if (p.kind == ParamKind::matrix || p.kind == ParamKind::embedding)
        std::fill(decay.begin() + std::ptrdiff_t(p.offset), decay.begin() + std::ptrdiff_t(p.offset + p.size()), 1);
  }

  void step(S* params, const S* grads, double lr) {
    ++t;
    const double bc1 = 1.0 - std::pow(cfg.beta1, double(t)), bc2 = 1.0 - std::pow(cfg.beta2, double(t));
    const S b1 = S(cfg.beta1), b2 = S(cfg.beta2), lr_s = S(lr), eps = S(cfg.eps), wd = S(cfg.weight_decay);
    const S inv_bc1 = S(1.0 / bc1), inv_bc2 = S(1.0 / bc2);
    for (std::size_t i = 0; i < m.size(); ++i) {
      const S g = grads[i];
      m[i] = b1 * m[i] + (S(1) - b1) * g;
      v[i] = b2 * v[i] + (S(1) - b2) * g * g;
      const S mh = m[i] * inv_bc1, vh = v[i] * inv_bc2;
      params[i] -= lr_s * (mh / (std::sqrt(vh) + eps) + (decay[i] ? wd * params[i] : S(0)));
    }
  }
};

}  // namespace so8t::llm
