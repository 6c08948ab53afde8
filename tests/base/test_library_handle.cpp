// so8t::cuda::LibraryHandle (kernels/so8t/base/library_handle.cuh) with fake create / destroy functions: a class
// that creates its handle and then fails to allocate must still release the handle (the cuBLASLt backend and
// the CUDA trainer leaked theirs that way), moves transfer ownership, reset releases once.
#include <gtest/gtest.h>

#include <stdexcept>

#include "so8t/base/library_handle.cuh"

namespace {

struct FakeContext {
  int id;
};
int created = 0, destroyed = 0;
FakeContext pool[4];
int fake_create(FakeContext** h) {
  *h = &pool[created % 4];
  ++created;
  return 0;
}
int fake_destroy(FakeContext*) {
  ++destroyed;
  return 0;
}
using Handle = so8t::cuda::LibraryHandle<FakeContext*, int, &fake_create, &fake_destroy>;

/// Creates a handle, then an allocation fails: the shape of CublasLtInt8's and LlamaCuda's constructors.
struct CreatesThenThrows {
  Handle h;
  explicit CreatesThenThrows(bool fail) {
    EXPECT_EQ(h.create(), 0);
    if (fail) throw std::runtime_error("out of device memory");
  }
};

TEST(LibraryHandle, ReleasedWhenTheOwnerConstructorThrows) {
  created = destroyed = 0;
  EXPECT_THROW(CreatesThenThrows(true), std::runtime_error);
  EXPECT_EQ(created, 1);
  EXPECT_EQ(destroyed, 1);
  { CreatesThenThrows ok(false); }
  EXPECT_EQ(created, 2);
  EXPECT_EQ(destroyed, 2);
}

TEST(LibraryHandle, MoveTransfersOwnershipAndResetReleasesOnce) {
  created = destroyed = 0;
  Handle a;
  EXPECT_FALSE(a);
  a.create();
  Handle b(std::move(a));
  EXPECT_FALSE(a);
  EXPECT_TRUE(b);
  b.reset();
  b.reset();
  EXPECT_EQ(destroyed, 1);
  Handle c;
  c.create();
  c.create();  // re-create releases the first
  EXPECT_EQ(created, 3);
  EXPECT_EQ(destroyed, 2);
  c = Handle();
  EXPECT_EQ(destroyed, 3);
}

}  // namespace
