// Prints a digest of the bytes of many so8t results. Built several times with different flags by
// tests/flags/CMakeLists.txt; every build must print the same "so8t" lines.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "so8t/so8.hpp"

namespace {

std::uint64_t fnv = 1469598103934665603ull;
void mix(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) fnv = (fnv ^ b[i]) * 1099511628211ull;
}
void digest(const char* what) {
  std::printf("so8t %-22s %016llx\n", what, static_cast<unsigned long long>(fnv));
  fnv = 1469598103934665603ull;
}

// Deterministic pseudo-random values without <random> (whose distributions are implementation-defined).
std::uint64_t state = 0x9E3779B97F4A7C15ull;
double next_uniform() {  // in [-1, 1)
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return double(state >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

template <class S>
void run(const char* tag) {
  char name[64];
  const double scales[] = {1e-8, 1e-3, 0.05, 0.3, 0.8, 2.0, 5.0, 30.0};
  for (double scale : scales) {
    so8t::so8<S> a;
    for (int k = 0; k < 28; ++k) a[k] = S(scale * next_uniform());
    so8t::Mat8<S> G;
    for (int k = 0; k < 64; ++k) G.a[k] = S(next_uniform());
    const auto R = so8t::SO8<S>::exp(a);
    mix(R.matrix().a, sizeof(R.matrix().a));
    const auto g = so8t::exp_vjp(a, G);
    mix(g.data(), 28 * sizeof(S));
    const auto b = R.log();
    mix(b.data(), 28 * sizeof(S));
    const auto C = so8t::cayley(a);
    mix(C.matrix().a, sizeof(C.matrix().a));
    const auto gc = so8t::cayley_vjp(a, G);
    mix(gc.data(), 28 * sizeof(S));
    const auto N = so8t::nearest_rotation(G);
    mix(N.a, sizeof(N.a));
    const auto sp = so8t::sigma_plus(a), sm = so8t::sigma_minus(a);
    mix(sp.data(), 28 * sizeof(S));
    mix(sm.data(), 28 * sizeof(S));
    const S e = so8t::orthogonality_error(R.matrix());
    mix(&e, sizeof e);
    std::snprintf(name, sizeof name, "%s/scale=%g", tag, scale);
    digest(name);
  }
  // The batched host paths (SIMD lane packs whose width depends on -march: 2 to 16 lanes).
  const std::size_t n = 203;
  std::vector<S> p(28 * n), G(64 * n), R(64 * n), g(28 * n);
  for (std::size_t b = 0; b < n; ++b)
    for (int k = 0; k < 28; ++k) p[28 * b + k] = S(scales[b % 8] * next_uniform());
  for (auto& v : G) v = S(next_uniform());
  so8t::block_exp(p.data(), n, R.data());
  so8t::block_exp_vjp(p.data(), G.data(), n, g.data());
  mix(R.data(), R.size() * sizeof(S));
  mix(g.data(), g.size() * sizeof(S));
  std::snprintf(name, sizeof name, "%s/batched", tag);
  digest(name);
}

// Plain arithmetic that the compiler may contract: a control, not part of the contract. Horner's rule
// (acc * x + c) is a recurrence, so GCC cannot vectorise the product away from the add and fuses them.
__attribute__((noinline)) double control_horner(const double* c, double x, int n) {
  double acc = 0.0;
  for (int i = 0; i < n; ++i) acc = acc * x + c[i];
  return acc;
}

}  // namespace

int main() {
  run<float>("float");
  run<double>("double");
  double x[257], y[257];
  for (int i = 0; i < 257; ++i) {
    x[i] = next_uniform();
    y[i] = next_uniform() * 1e3;
  }
  double acc = 0;
  for (int rep = 0; rep < 64; ++rep) acc += control_horner(x, 0.999 + 1e-3 * y[rep] * 1e-3, 257);
  mix(&acc, sizeof acc);
  std::printf("control %016llx\n", static_cast<unsigned long long>(fnv));
#if defined(__GNUC__) && defined(__x86_64__)
  std::printf("fma %s\n", __builtin_cpu_supports("fma") ? "yes" : "no");
#endif
  return 0;
}
