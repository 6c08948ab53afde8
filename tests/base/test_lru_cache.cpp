// so8t::LruCache: bounded size, least-recently-used eviction, values destroyed when evicted (the cuBLASLt plan
// cache relies on all three).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>

#include "so8t/base/lru_cache.hpp"

namespace {

struct Counted {
  std::shared_ptr<int> alive;  // use_count() - 1 = live copies
};

TEST(LruCache, EvictsLeastRecentlyUsed) {
  so8t::LruCache<int, std::string> c(3);
  c.insert(1, "one");
  c.insert(2, "two");
  c.insert(3, "three");
  ASSERT_NE(c.find(1), nullptr);  // 1 is now the most recent; 2 the least
  c.insert(4, "four");
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.find(2), nullptr);
  ASSERT_NE(c.find(1), nullptr);
  EXPECT_EQ(*c.find(1), "one");
  EXPECT_EQ(*c.find(3), "three");
  EXPECT_EQ(*c.find(4), "four");
  EXPECT_EQ(c.evictions(), 1u);
}

TEST(LruCache, StaysBoundedOverManyKeysAndFreesEvictedValues) {
  auto token = std::make_shared<int>(0);
  so8t::LruCache<std::tuple<int, int, int>, Counted> c(16);
  for (int m = 1; m <= 4096; ++m) c.insert({m, 4096, 4096}, Counted{token});
  EXPECT_EQ(c.size(), 16u);
  EXPECT_EQ(token.use_count(), 1 + 16);  // the 4080 evicted values were destroyed
  EXPECT_NE(c.find({4096, 4096, 4096}), nullptr);
  EXPECT_EQ(c.find({1, 4096, 4096}), nullptr);
}

TEST(LruCache, ReplacesAnExistingKey) {
  so8t::LruCache<int, int> c(2);
  c.insert(1, 10);
  c.insert(1, 11);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(*c.find(1), 11);
  EXPECT_THROW((so8t::LruCache<int, int>(0)), so8t::InvalidArgument);
}

}  // namespace
