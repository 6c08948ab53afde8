// Batched exp and exp+gradient per 8x8 block on the CPU, so8t against Eigen's unsupported
// MatrixExponential on the same inputs (the gradient baseline is Eigen's exp of the 16x16
// block-triangular matrix [[-A, G], [0, -A]], the Mathias/PyTorch method). Both are built with the same
// flags (-O3 -mavx2 -mfma). Each benchmark also reports its accuracy against a long-double oracle on the
// same inputs, and main() prints so8t/Eigen speed ratios measured in this run.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <unsupported/Eigen/MatrixFunctions>
#include <vector>

#include "so8t/so8.hpp"

namespace {

constexpr std::size_t kBlocks = 4096;  // one 32768-wide hidden vector

template <class S>
struct Inputs {
  std::vector<S> params, cot;
  explicit Inputs(double scale) : params(28 * kBlocks), cot(64 * kBlocks) {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> nd;
    for (auto& v : params) v = S(scale * nd(rng));
    for (auto& v : cot) v = S(nd(rng));
  }
};

using MatL = Eigen::Matrix<long double, 8, 8>;

template <class S>
MatL hat_ld(const S* p) {
  MatL A = MatL::Zero();
  for (int k = 0; k < 28; ++k) {
    A(so8t::so8_row(k), so8t::so8_col(k)) = p[k];
    A(so8t::so8_col(k), so8t::so8_row(k)) = -(long double)p[k];
  }
  return A;
}

// Max |R - exp_ld(A)| over the first 64 blocks.
template <class S, class F>
double exp_error(const Inputs<S>& in, F exp_block) {
  double worst = 0;
  for (std::size_t b = 0; b < 64; ++b) {
    S R[64];
    exp_block(&in.params[28 * b], R);
    const MatL ref = hat_ld(&in.params[28 * b]).exp();
    for (int k = 0; k < 64; ++k) worst = std::max(worst, double(std::abs((long double)R[k] - ref(k / 8, k % 8))));
  }
  return worst;
}

// Max relative error of the 28-gradient over the first 32 blocks, against the long-double block form.
template <class S, class F>
double grad_error(const Inputs<S>& in, F grad_block) {
  double worst = 0;
  for (std::size_t b = 0; b < 32; ++b) {
    // reference: the top-right block of exp([[-A, G], [0, -A]]) (Van Loan), antisymmetrised below
    const MatL A = hat_ld(&in.params[28 * b]);
    Eigen::Matrix<long double, 16, 16> B = Eigen::Matrix<long double, 16, 16>::Zero();
    B.topLeftCorner<8, 8>() = -A;
    B.bottomRightCorner<8, 8>() = -A;
    for (int k = 0; k < 64; ++k) B(k / 8, 8 + k % 8) = in.cot[64 * b + k];
    const MatL L = B.exp().topRightCorner<8, 8>();
    S g[28];
    grad_block(&in.params[28 * b], &in.cot[64 * b], g);
    long double num = 0, den = 0;
    for (int k = 0; k < 28; ++k) {
      const int i = so8t::so8_row(k), j = so8t::so8_col(k);
      const long double r = L(i, j) - L(j, i);
      num += (g[k] - r) * (g[k] - r);
      den += r * r;
    }
    worst = std::max(worst, double(std::sqrt(num / den)));
  }
  return worst;
}

template <class S>
void eigen_exp_block(const S* p, S* R) {
  Eigen::Matrix<S, 8, 8> A;
  for (int i = 0; i < 8; ++i) A(i, i) = 0;
  for (int k = 0; k < 28; ++k) {
    A(so8t::so8_row(k), so8t::so8_col(k)) = p[k];
    A(so8t::so8_col(k), so8t::so8_row(k)) = -p[k];
  }
  const Eigen::Matrix<S, 8, 8> E = A.exp();
  for (int k = 0; k < 64; ++k) R[k] = E(k / 8, k % 8);
}

template <class S>
void eigen_grad_block(const S* p, const S* G, S* g) {
  Eigen::Matrix<S, 16, 16> B = Eigen::Matrix<S, 16, 16>::Zero();
  for (int k = 0; k < 28; ++k) {
    const int i = so8t::so8_row(k), j = so8t::so8_col(k);
    B(i, j) = B(8 + i, 8 + j) = -p[k];
    B(j, i) = B(8 + j, 8 + i) = p[k];
  }
  for (int k = 0; k < 64; ++k) B(k / 8, 8 + k % 8) = G[k];
  const Eigen::Matrix<S, 16, 16> X = B.exp();
  for (int k = 0; k < 28; ++k) {
    const int i = so8t::so8_row(k), j = so8t::so8_col(k);
    g[k] = X(i, 8 + j) - X(j, 8 + i);
  }
}

template <class S>
void BM_so8t_exp(benchmark::State& st, double scale) {
  const Inputs<S> in(scale);
  std::vector<S> R(64 * kBlocks);
  for (auto _ : st) {
    so8t::block_exp(in.params.data(), kBlocks, R.data());
    benchmark::DoNotOptimize(R.data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * kBlocks);
  st.counters["max_abs_err"] = exp_error(in, [](const S* p, S* r) { so8t::block_exp_one(p, r); });
}

template <class S>
void BM_eigen_exp(benchmark::State& st, double scale) {
  const Inputs<S> in(scale);
  std::vector<S> R(64 * kBlocks);
  for (auto _ : st) {
    for (std::size_t b = 0; b < kBlocks; ++b) eigen_exp_block(&in.params[28 * b], &R[64 * b]);
    benchmark::DoNotOptimize(R.data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * kBlocks);
  st.counters["max_abs_err"] = exp_error(in, eigen_exp_block<S>);
}

template <class S>
void BM_so8t_exp_grad(benchmark::State& st, double scale) {
  const Inputs<S> in(scale);
  std::vector<S> R(64 * kBlocks), g(28 * kBlocks);
  for (auto _ : st) {
    so8t::block_exp(in.params.data(), kBlocks, R.data());
    so8t::block_exp_vjp(in.params.data(), in.cot.data(), kBlocks, g.data());
    benchmark::DoNotOptimize(g.data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * kBlocks);
  st.counters["grad_rel_err"] = grad_error(in, [](const S* p, const S* G, S* o) { so8t::block_exp_vjp_one(p, G, o); });
}

template <class S>
void BM_eigen_exp_grad(benchmark::State& st, double scale) {
  const Inputs<S> in(scale);
  std::vector<S> R(64 * kBlocks), g(28 * kBlocks);
  for (auto _ : st) {
    for (std::size_t b = 0; b < kBlocks; ++b) {
      eigen_exp_block(&in.params[28 * b], &R[64 * b]);
      eigen_grad_block(&in.params[28 * b], &in.cot[64 * b], &g[28 * b]);
    }
    benchmark::DoNotOptimize(g.data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * kBlocks);
  st.counters["grad_rel_err"] = grad_error(in, eigen_grad_block<S>);
}

// Collects ns per block for every benchmark, to print so8t / Eigen ratios of this run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> ns_per_block;
  std::map<std::string, std::map<std::string, double>> counters;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      const double items = r.counters.count("items_per_second") ? double(r.counters.at("items_per_second")) : 0.0;
      if (items > 0) ns_per_block[r.benchmark_name()] = 1e9 / items;
      for (const auto& [k, v] : r.counters) counters[r.benchmark_name()][k] = double(v);
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  // Scales: 0.02 (typical trained gates, small angles) and 0.3 (angles up to about 3).
  const struct {
    const char* tag;
    double scale;
  } cases[] = {{"small", 0.02}, {"large", 0.3}};
  for (const auto& c : cases) {
    const double s = c.scale;
    const std::string f = std::string("float_") + c.tag, d = std::string("double_") + c.tag;
    benchmark::RegisterBenchmark(("BM_so8t_exp<float>/" + f).c_str(), [s](benchmark::State& st) { BM_so8t_exp<float>(st, s); });
    benchmark::RegisterBenchmark(("BM_eigen_exp<float>/" + f).c_str(), [s](benchmark::State& st) { BM_eigen_exp<float>(st, s); });
    benchmark::RegisterBenchmark(("BM_so8t_exp_grad<float>/" + f).c_str(), [s](benchmark::State& st) { BM_so8t_exp_grad<float>(st, s); });
    benchmark::RegisterBenchmark(("BM_eigen_exp_grad<float>/" + f).c_str(), [s](benchmark::State& st) { BM_eigen_exp_grad<float>(st, s); });
    benchmark::RegisterBenchmark(("BM_so8t_exp<double>/" + d).c_str(), [s](benchmark::State& st) { BM_so8t_exp<double>(st, s); });
    benchmark::RegisterBenchmark(("BM_eigen_exp<double>/" + d).c_str(), [s](benchmark::State& st) { BM_eigen_exp<double>(st, s); });
    benchmark::RegisterBenchmark(("BM_so8t_exp_grad<double>/" + d).c_str(), [s](benchmark::State& st) { BM_so8t_exp_grad<double>(st, s); });
    benchmark::RegisterBenchmark(("BM_eigen_exp_grad<double>/" + d).c_str(), [s](benchmark::State& st) { BM_eigen_exp_grad<double>(st, s); });
  }
  benchmark::Initialize(&argc, argv);
  RatioReporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  std::printf("\n%-28s %12s %12s %9s  %s\n", "case (ns per block)", "so8t", "Eigen", "speedup", "accuracy so8t / Eigen");
  for (const char* tag : {"float_small", "float_large", "double_small", "double_large"}) {
    const std::string S = std::string(tag).substr(0, std::string(tag).find('_'));
    for (const char* what : {"exp", "exp_grad"}) {
      const std::string a = std::string("BM_so8t_") + what + "<" + S + ">/" + tag;
      const std::string b = std::string("BM_eigen_") + what + "<" + S + ">/" + tag;
      if (!rep.ns_per_block.count(a) || !rep.ns_per_block.count(b)) continue;
      const char* acc = std::string(what) == "exp" ? "max_abs_err" : "grad_rel_err";
      std::printf("%-28s %12.1f %12.1f %8.1fx  %.2g / %.2g\n", (std::string(what) + " " + tag).c_str(),
                  rep.ns_per_block[a], rep.ns_per_block[b], rep.ns_per_block[b] / rep.ns_per_block[a],
                  rep.counters[a][acc], rep.counters[b][acc]);
    }
  }
  benchmark::Shutdown();
  return 0;
}
