// so8_tour: a short walk through the so8t API. Each step prints what it computed and what it checked
// against an independent value; the program exits non-zero if any check fails.
#include <so8t/so8.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {
int failures = 0;
void check(bool ok, const char* what, double value, double bound) {
  std::printf("  %-58s %10.3g  (bound %.1g)  %s\n", what, value, bound, ok ? "ok" : "FAILED");
  failures += ok ? 0 : 1;
}
}  // namespace

int main() {
  using so8t::so8;
  using so8t::SO8;
  std::mt19937_64 rng(8);
  std::normal_distribution<double> nd(0.0, 0.4);

  std::printf("1. so(8): 28 coefficients, upper triangle row-major (PEFT OFT order)\n");
  std::array<double, 28> c{};
  for (auto& v : c) v = nd(rng);
  const so8<double> a(c);
  const auto A = a.hat();
  check(A(0, 1) == c[0] && A(1, 0) == -c[0] && A(6, 7) == c[27], "hat puts c_0 at (0,1) and c_27 at (6,7)", 0, 0);

  std::printf("2. exp: Padé scaling and squaring, degree from the 1-norm\n");
  const auto R = SO8<double>::exp(a);
  const auto plan = so8t::exp_plan(so8t::norm1(A));
  std::printf("  ||A||_1 = %.3f -> Padé degree %d, %d squarings\n", so8t::norm1(A), plan.degree, plan.squarings);
  check(R.orthogonality_error() <= 1e-13, "||R^T R - I||_F (double)", R.orthogonality_error(), 1e-13);
  check(std::abs(so8t::determinant(R.matrix()) - 1) <= 1e-13, "|det R - 1|", std::abs(so8t::determinant(R.matrix()) - 1), 1e-13);
  const auto Rf = SO8<float>::exp(a.cast<float>());
  check(Rf.orthogonality_error() <= 2e-6f, "||R^T R - I||_F (float)", Rf.orthogonality_error(), 2e-6);

  std::printf("3. a one-plane rotation against Rodrigues: exp(t E_01) = cos/sin in that plane\n");
  so8<double> plane;
  plane[so8t::so8_index(0, 1)] = 0.7;
  const auto P = SO8<double>::exp(plane).matrix();
  check(std::abs(P(0, 0) - std::cos(0.7)) + std::abs(P(0, 1) - std::sin(0.7)) <= 1e-15, "|R_00 - cos 0.7| + |R_01 - sin 0.7|",
        std::abs(P(0, 0) - std::cos(0.7)) + std::abs(P(0, 1) - std::sin(0.7)), 1e-15);

  std::printf("4. log: back to the algebra (angles < pi)\n");
  so8t::LogReport<double> rep;
  const auto b = R.log(&rep);
  double err = 0;
  for (int k = 0; k < 28; ++k) err = std::max(err, std::abs(b[k] - a[k]));
  std::printf("  rotation angles: %.4f %.4f %.4f %.4f, near pi: %s\n", rep.angles[0], rep.angles[1], rep.angles[2],
              rep.angles[3], rep.near_pi ? "yes" : "no");
  check(err <= 1e-12, "max |log(exp a) - a|", err, 1e-12);

  std::printf("5. gradient of <G, exp(hat a)> by the Fréchet derivative, against central differences\n");
  so8t::Mat8<double> G;
  for (auto& v : G.a) v = nd(rng);
  const auto g = so8t::exp_vjp(a, G);
  double worst = 0;
  for (int k = 0; k < 28; k += 5) {
    const double h = 1e-5;
    so8<double> ap = a, am = a;
    ap[k] += h;
    am[k] -= h;
    double lp = 0, lm = 0;
    const auto Rp = SO8<double>::exp(ap).matrix(), Rm = SO8<double>::exp(am).matrix();
    for (int e = 0; e < 64; ++e) {
      lp += G.a[e] * Rp.a[e];
      lm += G.a[e] * Rm.a[e];
    }
    worst = std::max(worst, std::abs(g[k] - (lp - lm) / (2 * h)) / std::max(1.0, std::abs(g[k])));
  }
  check(worst <= 1e-8, "relative |analytic - finite difference| (6 coordinates)", worst, 1e-8);

  std::printf("6. Cayley map R = (I - A)^-1 (I + A) and its inverse\n");
  const auto C = so8t::cayley(a);
  const auto ac = so8t::cayley_inverse(C);
  double cerr = 0;
  for (int k = 0; k < 28; ++k) cerr = std::max(cerr, std::abs(ac[k] - a[k]));
  check(cerr <= 1e-12, "max |cayley_inverse(cayley(a)) - a|", cerr, 1e-12);

  std::printf("7. block rotations: D = 64 -> 8 gates, R_cmd after R_safe\n");
  const std::size_t n = 8;
  std::vector<float> ps(28 * n), pc(28 * n), Rs(64 * n), Rc(64 * n), Rcs(64 * n);
  for (auto& v : ps) v = float(nd(rng));
  for (auto& v : pc) v = float(nd(rng));
  so8t::block_exp(ps.data(), n, Rs.data());
  so8t::block_exp(pc.data(), n, Rc.data());
  so8t::block_compose(Rc.data(), Rs.data(), n, Rcs.data());
  const auto drift = so8t::block_drift(Rcs.data(), n);
  check(drift.max_error <= 4e-6, "worst block drift of the stack (float)", drift.max_error, 4e-6);

  std::printf("8. triality: sigma_plus(a)(x y) = (a x) y + x (sigma_minus(a) y) for octonions x, y\n");
  so8t::Vec8<double> x, y;
  for (int i = 0; i < 8; ++i) {
    x[i] = nd(rng);
    y[i] = nd(rng);
  }
  const auto lhs = so8t::sigma_plus(a).hat() * so8t::octonion_mul(x, y);
  const auto r1 = so8t::octonion_mul(A * x, y), r2 = so8t::octonion_mul(x, so8t::sigma_minus(a).hat() * y);
  double terr = 0;
  for (int i = 0; i < 8; ++i) terr = std::max(terr, std::abs(lhs[i] - r1[i] - r2[i]));
  check(terr <= 1e-13, "local triality residual", terr, 1e-13);
  const auto t3 = so8t::triality_automorphism(so8t::triality_automorphism(so8t::triality_automorphism(a)));
  double t3err = 0;
  for (int k = 0; k < 28; ++k) t3err = std::max(t3err, std::abs(t3[k] - a[k]));
  check(t3err <= 1e-14, "T(T(T(a))) - a (order-3 automorphism)", t3err, 1e-14);

  std::printf(failures ? "so8_tour: %d check(s) FAILED\n" : "so8_tour: all checks passed\n", failures);
  return failures ? 1 : 0;
}
