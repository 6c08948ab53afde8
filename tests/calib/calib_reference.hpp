// Independent references for the quality-control tests: two-pass softmax in long double written out from
// the definitions (no online rescaling, no so8t code), and seeded random logit generators.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace qc_ref {

using LD = long double;

template <class T>
std::vector<LD> softmax(const T* z, std::size_t V) {
  LD m = z[0];
  for (std::size_t k = 1; k < V; ++k) m = std::max<LD>(m, z[k]);
  std::vector<LD> p(V);
  LD s = 0;
  for (std::size_t k = 0; k < V; ++k) s += (p[k] = std::exp(LD(z[k]) - m));
  for (auto& v : p) v /= s;
  return p;
}

template <class T>
std::vector<LD> log_softmax(const T* z, std::size_t V) {
  LD m = z[0];
  for (std::size_t k = 1; k < V; ++k) m = std::max<LD>(m, z[k]);
  LD s = 0;
  for (std::size_t k = 0; k < V; ++k) s += std::exp(LD(z[k]) - m);
  const LD lse = m + std::log(s);
  std::vector<LD> r(V);
  for (std::size_t k = 0; k < V; ++k) r[k] = LD(z[k]) - lse;
  return r;
}

template <class T>
LD kl(const T* a, const T* b, std::size_t V) {
  const auto la = log_softmax(a, V), lb = log_softmax(b, V);
  LD r = 0;
  for (std::size_t k = 0; k < V; ++k) r += std::exp(la[k]) * (la[k] - lb[k]);
  return r;
}

template <class T>
std::size_t argmax(const T* z, std::size_t V) {
  std::size_t best = 0;
  for (std::size_t k = 1; k < V; ++k)
    if (z[k] > z[best]) best = k;
  return best;
}

/// Logits with a given spread, plus a few large peaks so rows are not flat.
template <class T>
std::vector<T> random_logits(std::size_t N, std::size_t V, double scale, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, scale);
  std::vector<T> z(N * V);
  for (auto& v : z) v = T(g(rng));
  std::uniform_int_distribution<std::size_t> pick(0, V - 1);
  for (std::size_t t = 0; t < N; ++t) z[t * V + pick(rng)] += T(4.0 * scale);
  return z;
}

/// N rows of logits over V classes with labels drawn from softmax(z_true) (labels from the generator
/// seeded label_seed); the returned logits are scale * z_true, so scale > 1 is over-confident and the
/// temperature that calibrates them is scale.
struct SampledDataset {
  std::size_t N, V;
  std::vector<double> z;
  std::vector<int> y;
};
inline SampledDataset sampled_dataset(std::size_t N, std::size_t V, double scale, unsigned seed, unsigned label_seed) {
  SampledDataset d{N, V, random_logits<double>(N, V, 1.0, seed), std::vector<int>(N)};
  std::mt19937_64 rng(label_seed);
  for (std::size_t t = 0; t < N; ++t) {
    const auto p = softmax(&d.z[t * V], V);
    std::vector<double> w(p.begin(), p.end());
    d.y[t] = std::discrete_distribution<int>(w.begin(), w.end())(rng);
    for (std::size_t k = 0; k < V; ++k) d.z[t * V + k] *= scale;
  }
  return d;
}

}  // namespace qc_ref
