// GPU fold vs the CPU path: the same tile math, so the results must be bitwise equal. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "so8t/bake/fold.hpp"
#include "so8t/bake/fold.cuh"
#include "support/cuda_test.hpp"
#include "bake/fold_fixtures.hpp"
#include "support/typed_suite.hpp"

namespace {

using namespace fold_test;  // weights, rotation scalars, so8t::half_t / bfloat16_t / RotationOp

/// Not orthogonal: the fold is linear whatever the matrix, and random entries test the arithmetic harder.
template <class S>
std::vector<S> random_blocks(std::mt19937_64& rng, std::size_t n) {
  std::normal_distribution<double> n01;
  std::vector<S> r(64 * n);
  for (auto& v : r) v = S(0.35 * n01(rng));
  return r;
}

using so8t::cuda::DeviceBuffer;

SO8T_TYPED_TEST_SUITE(FoldCuda, so8t_test::StorageTypes);

TYPED_TEST(FoldCuda, RightAndLeftFoldEqualCpuBitwise) {
  SO8T_SKIP_WITHOUT_GPU();
  using T = TypeParam;
  using R = typename RotationFor<T>::type;
  std::mt19937_64 rng(41);
  const std::size_t rows = 67, D = 96, ld = 101;
  for (RotationOp op : {RotationOp::as_is, RotationOp::transposed}) {
    const std::vector<R> rot = random_blocks<R>(rng, D / 8);
    DeviceBuffer<R> drot(rot);
    // right fold, in place on a padded matrix
    std::vector<T> W = random_weights<T>(rng, rows * ld);
    DeviceBuffer<T> dW(W);
    so8t::fold_right(so8t::matrix_view(W.data(), rows, D, ld), so8t::block_rotations(rot.data(), D / 8), op);
    so8t::cuda::bake::fold_right(so8t::matrix_view(dW.get(), rows, D, ld), so8t::block_rotations(drot.get(), D / 8), op);
    SO8T_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<T> gW = dW.download();
    ASSERT_EQ(std::memcmp(gW.data(), W.data(), W.size() * sizeof(T)), 0);
    // left fold with bias, out of place
    std::vector<T> L = random_weights<T>(rng, D * rows), bias = random_weights<T>(rng, D);
    DeviceBuffer<T> dL(L), dB(bias), dOut{std::vector<T>(D * rows)}, dBout{std::vector<T>(D)};
    so8t::fold_left(so8t::matrix_view(L.data(), D, rows), bias.data(), so8t::block_rotations(rot.data(), D / 8), op);
    so8t::cuda::bake::fold_left(so8t::matrix_view<const T>(dL.get(), D, rows), dB.get(),
                                so8t::matrix_view(dOut.get(), D, rows), dBout.get(),
                                so8t::block_rotations(drot.get(), D / 8), op);
    SO8T_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<T> gL = dOut.download(), gb = dBout.download();
    ASSERT_EQ(std::memcmp(gL.data(), L.data(), L.size() * sizeof(T)), 0);
    ASSERT_EQ(std::memcmp(gb.data(), bias.data(), bias.size() * sizeof(T)), 0);
  }
}

TEST(FoldCuda, BadInputThrowsBeforeLaunch) {
  // Shape checks happen on the host, so they run (and must throw) with or without a GPU.
  float* none = nullptr;
  EXPECT_THROW(so8t::cuda::bake::fold_right(so8t::matrix_view(none, 4, 60), so8t::block_rotations(static_cast<const float*>(nullptr), 7)),
               so8t::InvalidArgument);
  EXPECT_THROW(so8t::cuda::bake::fold_left(so8t::matrix_view(none, 16, 4), none, so8t::block_rotations(static_cast<const float*>(nullptr), 2)),
               so8t::InvalidArgument);
}

}  // namespace
