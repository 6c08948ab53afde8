// Folding block-diagonal SO(8) gates into weights, checked against an independent reference: the D x D
// block-diagonal matrix materialised in long double and a direct dense product (no so8t fold code).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "so8t/bake/fold.hpp"
#include "support/oracles.hpp"
#include "bake/fold_fixtures.hpp"
#include "support/typed_suite.hpp"

namespace {

using namespace fold_test;  // weights, rotation scalars, so8t::half_t / bfloat16_t / RotationOp
using LD = long double;

/// n random Haar rotations (det may be -1: orthogonality is all the fold needs), [n, 64] in S.
template <class S>
std::vector<S> random_rotations(std::mt19937_64& rng, std::size_t n) {
  std::vector<S> r(64 * n);
  for (std::size_t b = 0; b < n; ++b) {
    const so8t_test::MatL Q = so8t_test::random_orthogonal(rng);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) r[64 * b + 8 * i + j] = S(Q(i, j));
  }
  return r;
}

template <class T>
LD val(T x) {
  return LD(so8t::to_float(x));
}

/// Dense D x D matrix blockdiag(op(R)) in long double.
template <class R>
std::vector<LD> dense_blockdiag(const std::vector<R>& rot, std::size_t D, RotationOp op) {
  std::vector<LD> B(D * D, 0.0L);
  for (std::size_t b = 0; b < D / 8; ++b)
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) {
        const R v = op == RotationOp::as_is ? rot[64 * b + 8 * i + j] : rot[64 * b + 8 * j + i];
        B[(8 * b + i) * D + 8 * b + j] = LD(v);
      }
  return B;
}

/// C = A [m, k] (lda) * B [k, n] (dense), long double; also |A| |B| for error bounds.
template <class T>
void dense_mul(const T* A, std::size_t m, std::size_t k, std::size_t lda, const std::vector<LD>& B, std::size_t n,
               std::vector<LD>& C, std::vector<LD>& absC) {
  C.assign(m * n, 0.0L);
  absC.assign(m * n, 0.0L);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < k; ++p) {
      const LD a = val(A[i * lda + p]);
      for (std::size_t j = 0; j < n; ++j) {
        C[i * n + j] += a * B[p * n + j];
        absC[i * n + j] += std::fabs(a * B[p * n + j]);
      }
    }
}

/// C = B [m, m] (dense) * A [m, n] (lda).
template <class T>
void dense_left_mul(const std::vector<LD>& B, const T* A, std::size_t m, std::size_t n, std::size_t lda,
                    std::vector<LD>& C, std::vector<LD>& absC) {
  C.assign(m * n, 0.0L);
  absC.assign(m * n, 0.0L);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t p = 0; p < m; ++p) {
      const LD bip = B[i * m + p];
      if (bip == 0) continue;
      for (std::size_t j = 0; j < n; ++j) {
        const LD a = val(A[p * lda + j]);
        C[i * n + j] += bip * a;
        absC[i * n + j] += std::fabs(bip * a);
      }
    }
}

/// Unit roundoff of the accumulator and of the storage type.
template <class T, class R>
double acc_eps() {
  return std::is_same<so8t::fold_accumulator_t<T, R>, double>::value ? 0x1p-53 : 0x1p-24;
}
template <class T>
double storage_eps() {
  if constexpr (std::is_same<T, double>::value) return 0x1p-53;
  if constexpr (std::is_same<T, float>::value) return 0x1p-24;
  if constexpr (std::is_same<T, half_t>::value) return 0x1p-11;
  return 0x1p-8;
}

struct ErrorReport {
  double max_abs = 0.0;      // max |got - ref|
  double max_ratio = 0.0;    // max |got - ref| / bound
};

/// Compares got (T, ld) with ref, bound per element = 10 * u_acc * |A||B| + u_T * |ref| + tiny.
template <class T, class R>
ErrorReport compare(const T* got, std::size_t m, std::size_t n, std::size_t ld, const std::vector<LD>& ref,
                    const std::vector<LD>& absref) {
  ErrorReport e;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const double err = double(std::fabs(val(got[i * ld + j]) - ref[i * n + j]));
      const double bound = 10.0 * acc_eps<T, R>() * double(absref[i * n + j]) +
                           storage_eps<T>() * double(std::fabs(ref[i * n + j])) + 1e-300;
      e.max_abs = std::max(e.max_abs, err);
      e.max_ratio = std::max(e.max_ratio, err / bound);
    }
  return e;
}

SO8T_TYPED_TEST_SUITE(FoldTyped, so8t_test::StorageTypes);

TYPED_TEST(FoldTyped, RightFoldInPlaceMatchesDenseProduct) {
  using T = TypeParam;
  using R = typename RotationFor<T>::type;
  std::mt19937_64 rng(11);
  for (RotationOp op : {RotationOp::as_is, RotationOp::transposed}) {
    const std::size_t rows = 37, D = 64, ld = 72;  // padded rows: the padding must stay untouched
    std::vector<T> W = random_weights<T>(rng, rows * ld);
    const std::vector<T> W0 = W;
    const std::vector<R> rot = random_rotations<R>(rng, D / 8);
    so8t::fold_right(so8t::matrix_view(W.data(), rows, D, ld), so8t::block_rotations(rot.data(), D / 8), op);
    std::vector<LD> ref, absref;
    dense_mul(W0.data(), rows, D, ld, dense_blockdiag(rot, D, op), D, ref, absref);
    const ErrorReport e = compare<T, R>(W.data(), rows, D, ld, ref, absref);
    EXPECT_LE(e.max_ratio, 1.0) << "max abs error " << e.max_abs;
    ::testing::Test::RecordProperty("max_abs_error", std::to_string(e.max_abs));
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = D; j < ld; ++j)
        ASSERT_EQ(std::memcmp(&W[i * ld + j], &W0[i * ld + j], sizeof(T)), 0) << "padding written";
  }
}

TYPED_TEST(FoldTyped, RightFoldOutOfPlaceEqualsInPlaceBitwise) {
  using T = TypeParam;
  using R = typename RotationFor<T>::type;
  std::mt19937_64 rng(12);
  const std::size_t rows = 19, D = 48;
  const std::vector<T> W = random_weights<T>(rng, rows * D);
  const std::vector<R> rot = random_rotations<R>(rng, D / 8);
  std::vector<T> out(rows * (D + 5)), inplace = W;
  so8t::fold_right(so8t::matrix_view<const T>(W.data(), rows, D),
                   so8t::matrix_view(out.data(), rows, D, D + 5), so8t::block_rotations(rot.data(), D / 8));
  so8t::fold_right(so8t::matrix_view(inplace.data(), rows, D), so8t::block_rotations(rot.data(), D / 8));
  for (std::size_t i = 0; i < rows; ++i)
    ASSERT_EQ(std::memcmp(&out[i * (D + 5)], &inplace[i * D], D * sizeof(T)), 0) << "row " << i;
}

TYPED_TEST(FoldTyped, SimdPathEqualsSharedScalarTileBitwise) {
  // The CPU fast path and the SO8T_HOST_DEVICE tile (what the CUDA kernel runs) must give the same bits.
  using T = TypeParam;
  using R = typename RotationFor<T>::type;
  using A = so8t::fold_accumulator_t<T, R>;
  std::mt19937_64 rng(13);
  const std::size_t rows = 21, D = 40, cols_left = 29;
  const std::vector<R> rot = random_rotations<R>(rng, D / 8);
  for (RotationOp op : {RotationOp::as_is, RotationOp::transposed}) {
    std::vector<A> M(64 * (D / 8));
    for (std::size_t b = 0; b < D / 8; ++b) so8t::fold_load_block(rot.data() + 64 * b, op, M.data() + 64 * b);
    // right
    std::vector<T> W = random_weights<T>(rng, rows * D), tile = W;
    so8t::fold_right(so8t::matrix_view(W.data(), rows, D), so8t::block_rotations(rot.data(), D / 8), op);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t b = 0; b < D / 8; ++b)
        so8t::fold_right_tile(&tile[i * D + 8 * b], &tile[i * D + 8 * b], M.data() + 64 * b);
    ASSERT_EQ(std::memcmp(W.data(), tile.data(), W.size() * sizeof(T)), 0);
    // left (cols not a multiple of any SIMD width: exercises the tail)
    std::vector<T> L = random_weights<T>(rng, D * cols_left), ltile = L;
    so8t::fold_left(so8t::matrix_view(L.data(), D, cols_left), static_cast<T*>(nullptr),
                    so8t::block_rotations(rot.data(), D / 8), op);
    for (std::size_t b = 0; b < D / 8; ++b)
      for (std::size_t c = 0; c < cols_left; ++c)
        so8t::fold_left_column(&ltile[8 * b * cols_left + c], (long long)cols_left, &ltile[8 * b * cols_left + c],
                               (long long)cols_left, M.data() + 64 * b);
    ASSERT_EQ(std::memcmp(L.data(), ltile.data(), L.size() * sizeof(T)), 0);
  }
}

TYPED_TEST(FoldTyped, LeftFoldWithBiasMatchesDenseProduct) {
  using T = TypeParam;
  using R = typename RotationFor<T>::type;
  std::mt19937_64 rng(14);
  for (RotationOp op : {RotationOp::as_is, RotationOp::transposed}) {
    const std::size_t D = 56, cols = 45, ld = 50;
    std::vector<T> W = random_weights<T>(rng, D * ld), bias = random_weights<T>(rng, D);
    const std::vector<T> W0 = W, b0 = bias;
    const std::vector<R> rot = random_rotations<R>(rng, D / 8);
    so8t::fold_left(so8t::matrix_view(W.data(), D, cols, ld), bias.data(), so8t::block_rotations(rot.data(), D / 8),
                    op);
    const std::vector<LD> B = dense_blockdiag(rot, D, op);
    std::vector<LD> ref, absref;
    dense_left_mul(B, W0.data(), D, cols, ld, ref, absref);
    ErrorReport e = compare<T, R>(W.data(), D, cols, ld, ref, absref);
    EXPECT_LE(e.max_ratio, 1.0) << "W max abs error " << e.max_abs;
    dense_left_mul(B, b0.data(), D, 1, 1, ref, absref);
    e = compare<T, R>(bias.data(), D, 1, 1, ref, absref);
    EXPECT_LE(e.max_ratio, 1.0) << "bias max abs error " << e.max_abs;
    for (std::size_t i = 0; i < D; ++i)
      for (std::size_t j = cols; j < ld; ++j) ASSERT_EQ(std::memcmp(&W[i * ld + j], &W0[i * ld + j], sizeof(T)), 0);

    // out of place gives the same bits, and leaves the input alone
    std::vector<T> out(D * cols), bout(D);
    std::vector<T> Wc = W0, bc = b0;
    so8t::fold_left(so8t::matrix_view<const T>(Wc.data(), D, cols, ld), bc.data(),
                    so8t::matrix_view(out.data(), D, cols), bout.data(), so8t::block_rotations(rot.data(), D / 8), op);
    ASSERT_EQ(std::memcmp(Wc.data(), W0.data(), W0.size() * sizeof(T)), 0);
    for (std::size_t i = 0; i < D; ++i) ASSERT_EQ(std::memcmp(&out[i * cols], &W[i * ld], cols * sizeof(T)), 0);
    ASSERT_EQ(std::memcmp(bout.data(), bias.data(), D * sizeof(T)), 0);
  }
}

TYPED_TEST(FoldTyped, ScalarReferenceAgreesWithDenseProduct) {
  using T = TypeParam;
  using R = typename RotationFor<T>::type;
  std::mt19937_64 rng(15);
  const std::size_t rows = 16, D = 32;
  const std::vector<T> W = random_weights<T>(rng, rows * D);
  const std::vector<R> rot = random_rotations<R>(rng, D / 8);
  std::vector<T> out(rows * D);
  so8t::fold_right_reference(so8t::matrix_view<const T>(W.data(), rows, D), so8t::matrix_view(out.data(), rows, D),
                             so8t::block_rotations(rot.data(), D / 8));
  std::vector<LD> ref, absref;
  dense_mul(W.data(), rows, D, D, dense_blockdiag(rot, D, RotationOp::as_is), D, ref, absref);
  // fp64 accumulation: only the final rounding to T (plus fp64 noise) remains.
  ErrorReport e;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    const double err = double(std::fabs(val(out[k]) - ref[k]));
    const double bound = storage_eps<T>() * double(std::fabs(ref[k])) * 1.0001 + 1e-14 * double(absref[k]);
    e.max_ratio = std::max(e.max_ratio, err / bound);
  }
  EXPECT_LE(e.max_ratio, 1.0);
  std::vector<T> Lout(D * rows), bias = random_weights<T>(rng, D), bout(D);
  so8t::fold_left_reference(so8t::matrix_view<const T>(W.data(), D, rows), bias.data(),
                            so8t::matrix_view(Lout.data(), D, rows), bout.data(), so8t::block_rotations(rot.data(), D / 8));
  dense_left_mul(dense_blockdiag(rot, D, RotationOp::as_is), W.data(), D, rows, rows, ref, absref);
  for (std::size_t k = 0; k < ref.size(); ++k)
    EXPECT_LE(double(std::fabs(val(Lout[k]) - ref[k])),
              storage_eps<T>() * double(std::fabs(ref[k])) * 1.0001 + 1e-14 * double(absref[k]));
}

TYPED_TEST(FoldTyped, RowNormsPreservedAndUnfoldReturnsW) {
  using T = TypeParam;
  using R = typename RotationFor<T>::type;
  std::mt19937_64 rng(16);
  const std::size_t rows = 33, D = 128;
  const std::vector<T> W = random_weights<T>(rng, rows * D);
  const std::vector<R> rot = random_rotations<R>(rng, D / 8);
  std::vector<T> F = W;
  so8t::fold_right(so8t::matrix_view(F.data(), rows, D), so8t::block_rotations(rot.data(), D / 8));
  const double norm_change = so8t::max_row_norm_change(so8t::matrix_view<const T>(W.data(), rows, D),
                                                       so8t::matrix_view<const T>(F.data(), rows, D));
  const double rt = so8t::fold_roundtrip_error(so8t::matrix_view<const T>(W.data(), rows, D),
                                               so8t::block_rotations(rot.data(), D / 8));
  // Rounding to T on each element (u_T) dominates; rotations in R are orthogonal to u_R.
  const double u = std::max(storage_eps<T>(), acc_eps<T, R>());
  EXPECT_LE(norm_change, (4.0 * u + 16.0 * acc_eps<T, R>())) << "row norm change " << norm_change;
  EXPECT_LE(rt, (8.0 * u + 64.0 * acc_eps<T, R>())) << "round-trip error " << rt;
  ::testing::Test::RecordProperty("row_norm_change", std::to_string(norm_change));
  ::testing::Test::RecordProperty("roundtrip_error", std::to_string(rt));
}

TEST(Fold, FloatWeightsWithDoubleRotationsAccumulateInDouble) {
  static_assert(std::is_same<so8t::fold_accumulator_t<float, double>, double>::value, "fp64 accumulator");
  static_assert(std::is_same<so8t::fold_accumulator_t<half_t, float>, float>::value, "fp32 accumulator");
  std::mt19937_64 rng(17);
  const std::size_t rows = 9, D = 24;
  std::vector<float> W = random_weights<float>(rng, rows * D);
  const std::vector<float> W0 = W;
  const std::vector<double> rot = random_rotations<double>(rng, D / 8);
  so8t::fold_right(so8t::matrix_view(W.data(), rows, D), so8t::block_rotations(rot.data(), D / 8));
  std::vector<LD> ref, absref;
  dense_mul(W0.data(), rows, D, D, dense_blockdiag(rot, D, RotationOp::as_is), D, ref, absref);
  // fp64 accumulation then one rounding: the result is the correctly rounded float almost everywhere.
  for (std::size_t k = 0; k < ref.size(); ++k)
    EXPECT_LE(double(std::fabs(LD(W[k]) - ref[k])), 0x1p-24 * double(std::fabs(ref[k])) * 1.0001 + 1e-15);
}

TEST(Fold, GateStackFoldsAsOne) {
  // "R_cmd after R_safe": y = W (R_cmd (R_safe x)) -> W' = W R_cmd R_safe; left: y = R_cmd R_safe (W x + b).
  std::mt19937_64 rng(18);
  const std::size_t rows = 10, D = 32;
  const std::vector<double> safe = random_rotations<double>(rng, D / 8), cmd = random_rotations<double>(rng, D / 8);
  const so8t::GateStack<double> stack{so8t::block_rotations(safe.data(), D / 8), so8t::block_rotations(cmd.data(), D / 8)};
  const std::vector<LD> Bs = dense_blockdiag(safe, D, RotationOp::as_is), Bc = dense_blockdiag(cmd, D, RotationOp::as_is);
  std::vector<LD> BcBs(D * D, 0.0L);
  for (std::size_t i = 0; i < D; ++i)
    for (std::size_t k = 0; k < D; ++k)
      for (std::size_t j = 0; j < D; ++j) BcBs[i * D + j] += Bc[i * D + k] * Bs[k * D + j];

  std::vector<double> W = random_weights<double>(rng, rows * D);
  const std::vector<double> W0 = W;
  so8t::fold_right(so8t::matrix_view(W.data(), rows, D), stack);
  std::vector<LD> ref, absref;
  dense_mul(W0.data(), rows, D, D, BcBs, D, ref, absref);
  for (std::size_t k = 0; k < ref.size(); ++k) EXPECT_NEAR(double(ref[k]), W[k], 1e-14 * double(absref[k]) + 1e-300);

  // out of place with float weights gives the same as the in-place stack fold
  std::vector<float> Wf = random_weights<float>(rng, rows * D), outf(rows * D), inpl = Wf;
  so8t::fold_right(so8t::matrix_view<const float>(Wf.data(), rows, D), so8t::matrix_view(outf.data(), rows, D), stack);
  so8t::fold_right(so8t::matrix_view(inpl.data(), rows, D), stack);
  EXPECT_EQ(std::memcmp(outf.data(), inpl.data(), outf.size() * sizeof(float)), 0);

  std::vector<double> L = random_weights<double>(rng, D * rows), b = random_weights<double>(rng, D);
  const std::vector<double> L0 = L, b0 = b;
  so8t::fold_left(so8t::matrix_view(L.data(), D, rows), b.data(), stack);
  dense_left_mul(BcBs, L0.data(), D, rows, rows, ref, absref);
  for (std::size_t k = 0; k < ref.size(); ++k) EXPECT_NEAR(double(ref[k]), L[k], 1e-14 * double(absref[k]) + 1e-300);
  dense_left_mul(BcBs, b0.data(), D, 1, 1, ref, absref);
  for (std::size_t k = 0; k < D; ++k) EXPECT_NEAR(double(ref[k]), b[k], 1e-14 * double(absref[k]) + 1e-300);

  // order matters: {cmd, safe} is a different gate
  std::vector<double> W2 = W0;
  so8t::fold_right(so8t::matrix_view(W2.data(), rows, D),
                   so8t::GateStack<double>{stack[1], stack[0]});
  double diff = 0.0;
  for (std::size_t k = 0; k < W.size(); ++k) diff = std::max(diff, std::fabs(W2[k] - W[k]));
  EXPECT_GT(diff, 1e-3);
}

TEST(Fold, RowVectorEquivalentsMatchPyTorchSemantics) {
  // PyTorch: out = x @ W.T + b with W [out, in]; gate x -> x @ Q (Q block-diagonal, row-vector form).
  std::mt19937_64 rng(19);
  const std::size_t in = 24, outf = 16;
  const std::vector<double> Qin = random_rotations<double>(rng, in / 8), Qout = random_rotations<double>(rng, outf / 8);
  const std::vector<double> W0 = random_weights<double>(rng, outf * in), b0 = random_weights<double>(rng, outf),
                            x = random_weights<double>(rng, in);
  auto rowvec_times_blocks = [](const std::vector<double>& v, const std::vector<double>& Q) {
    std::vector<double> r(v.size(), 0.0);
    for (std::size_t b = 0; b < v.size() / 8; ++b)
      for (int j = 0; j < 8; ++j)
        for (int k = 0; k < 8; ++k) r[8 * b + j] += v[8 * b + k] * Q[64 * b + 8 * k + j];
    return r;
  };
  auto linear = [&](const std::vector<double>& W, const std::vector<double>& b, const std::vector<double>& v) {
    std::vector<double> r(outf);
    for (std::size_t o = 0; o < outf; ++o) {
      r[o] = b[o];
      for (std::size_t i = 0; i < in; ++i) r[o] += v[i] * W[o * in + i];
    }
    return r;
  };
  // gate before: out = (x Q) W^T + b
  const std::vector<double> want_before = linear(W0, b0, rowvec_times_blocks(x, Qin));
  std::vector<double> W = W0;
  so8t::fold_right_rowvec(so8t::matrix_view(W.data(), outf, in), so8t::block_rotations(Qin.data(), in / 8));
  const std::vector<double> got_before = linear(W, b0, x);
  for (std::size_t o = 0; o < outf; ++o) EXPECT_NEAR(want_before[o], got_before[o], 1e-12);
  // gate after: out = (x W^T + b) Q
  const std::vector<double> want_after = rowvec_times_blocks(linear(W0, b0, x), Qout);
  std::vector<double> W2 = W0, b2 = b0;
  so8t::fold_left_rowvec(so8t::matrix_view(W2.data(), outf, in), b2.data(), so8t::block_rotations(Qout.data(), outf / 8));
  const std::vector<double> got_after = linear(W2, b2, x);
  for (std::size_t o = 0; o < outf; ++o) EXPECT_NEAR(want_after[o], got_after[o], 1e-12);
}

TEST(Fold, PeftOftMergeIsWTimesBlockdiagTransposeAndUnmerges) {
  std::mt19937_64 rng(20);
  const std::size_t rows = 12, in = 32;
  const std::vector<float> R = random_rotations<float>(rng, in / 8);
  std::vector<float> W = random_weights<float>(rng, rows * in);
  const std::vector<float> W0 = W;
  so8t::peft_oft_merge(so8t::matrix_view(W.data(), rows, in), so8t::block_rotations(R.data(), in / 8));
  std::vector<LD> ref, absref;
  dense_mul(W0.data(), rows, in, in, dense_blockdiag(R, in, RotationOp::transposed), in, ref, absref);
  for (std::size_t k = 0; k < ref.size(); ++k)
    EXPECT_LE(double(std::fabs(LD(W[k]) - ref[k])), 10 * 0x1p-24 * double(absref[k]) + 0x1p-24 * double(std::fabs(ref[k])));
  so8t::peft_oft_unmerge(so8t::matrix_view(W.data(), rows, in), so8t::block_rotations(R.data(), in / 8));
  for (std::size_t k = 0; k < W.size(); ++k) EXPECT_NEAR(W[k], W0[k], 1e-5);
  // A non-orthogonal block (e.g. a truncated Cayley-Neumann one) must not be undone by the transpose.
  std::vector<float> bad = R;
  bad[64 * 2 + 3] += 0.05f;
  try {
    so8t::peft_oft_unmerge(so8t::matrix_view(W.data(), rows, in), so8t::block_rotations(bad.data(), in / 8));
    FAIL() << "expected NotARotation";
  } catch (const so8t::NotARotation& e) {
    EXPECT_NE(std::string(e.what()).find("block 2"), std::string::npos) << e.what();
  }
}

// ---- bad input ----

template <class F>
void expect_invalid(F&& f, const std::string& needle) {
  try {
    f();
    FAIL() << "expected so8t::InvalidArgument containing \"" << needle << "\"";
  } catch (const so8t::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Fold, BadInputThrowsInvalidArgumentNamingTheValue) {
  std::vector<float> W(16 * 64, 1.0f), R(64 * 8, 0.0f), out(16 * 64);
  for (int b = 0; b < 8; ++b)
    for (int i = 0; i < 8; ++i) R[64 * b + 9 * i] = 1.0f;
  auto rot = [&](std::size_t n) { return so8t::block_rotations(R.data(), n); };
  expect_invalid([&] { so8t::fold_right(so8t::matrix_view(W.data(), 4, 60), rot(7)); }, "D = cols of W = 60 is not a multiple of 8");
  expect_invalid([&] { so8t::fold_left(so8t::matrix_view(W.data(), 12, 8), static_cast<float*>(nullptr), rot(1)); },
                 "D = rows of W = 12 is not a multiple of 8");
  expect_invalid([&] { so8t::fold_right(so8t::matrix_view(static_cast<float*>(nullptr), 4, 64), rot(8)); }, "null pointer");
  expect_invalid([&] { so8t::fold_right(so8t::matrix_view(W.data(), 4, 64), so8t::block_rotations(static_cast<const float*>(nullptr), 8)); },
                 "rotations is a null pointer");
  expect_invalid([&] { so8t::fold_right(so8t::matrix_view(W.data(), 4, 64, 32), rot(8)); }, "ld = 32 < cols = 64");
  expect_invalid([&] { so8t::fold_right(so8t::matrix_view(W.data(), 4, 64), rot(7)); }, "7 rotation blocks given but cols of W = 64 needs 8");
  expect_invalid([&] { so8t::fold_left(so8t::matrix_view(W.data(), 16, 8), static_cast<float*>(nullptr), rot(3)); },
                 "3 rotation blocks given but rows of W = 16 needs 2");
  expect_invalid([&] {
    so8t::fold_right(so8t::matrix_view<const float>(W.data(), 4, 64), so8t::matrix_view(out.data(), 5, 64), rot(8));
  }, "output [5, 64] (ld 64) does not match input [4, 64] (ld 64)");
  expect_invalid([&] {
    so8t::fold_right(so8t::matrix_view<const float>(W.data(), 4, 64), so8t::matrix_view(W.data() + 8, 4, 64), rot(8));
  }, "overlaps");
  float bias[16] = {};
  expect_invalid([&] {
    so8t::fold_left(so8t::matrix_view<const float>(W.data(), 16, 8), bias, so8t::matrix_view(out.data(), 16, 8),
                    static_cast<float*>(nullptr), rot(2));
  }, "bias is given but bias_out is null");
  std::vector<float> nanR = R;
  nanR[64 * 5 + 10] = std::nanf("");
  expect_invalid([&] { so8t::fold_right(so8t::matrix_view(W.data(), 4, 64), so8t::block_rotations(nanR.data(), 8)); },
                 "rotation block 5 entry (1, 2) is nan");
  expect_invalid([&] { so8t::fold_right(so8t::matrix_view(W.data(), 4, 64), so8t::GateStack<float>{}); }, "empty gate stack");
  expect_invalid([&] {
    so8t::fold_right(so8t::matrix_view(W.data(), 4, 64), so8t::GateStack<float>{rot(8), rot(4)});
  }, "gate 1 of the stack has 4 blocks, gate 0 has 8");
  // Empty matrices are fine (nothing to do).
  EXPECT_NO_THROW(so8t::fold_right(so8t::matrix_view(static_cast<float*>(nullptr), 0, 64), rot(8)));
}

}  // namespace
