// so8t/base/lru_cache.hpp: so8t::LruCache<Key, Value>, a map with at most `capacity` entries that evicts the
// least recently used one (host code).
//
// Why: per-shape plans (cuBLASLt matmul descriptors and algorithms, so8t/gemm/int8_cublaslt.cuh) are keyed by
// the row count m, which varies with every prompt length; an unbounded map grows for the life of the process.
// Values own their resources (their destructors release them), so eviction frees what it drops.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <string>
#include <utility>

#include "so8t/base/errors.hpp"

namespace so8t {

template <class Key, class Value>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw InvalidArgument("so8t::LruCache: capacity must be at least 1");
  }
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  /// The value for `key` (marked most recently used), or nullptr.
  Value* find(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  /// Inserts (or replaces) key's value as the most recently used, evicting the least recently used entry when
  /// full. Returns the stored value.
  Value& insert(const Key& key, Value value) {
    if (const auto it = index_.find(key); it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
    if (order_.size() == capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      ++evictions_;
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    return order_.front().second;
  }
  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::size_t evictions() const { return evictions_; }

 private:
  using Entry = std::pair<Key, Value>;
  std::size_t capacity_;
  std::size_t evictions_ = 0;
  std::list<Entry> order_;  ///< most recently used first
  std::map<Key, typename std::list<Entry>::iterator> index_;
};

}  // namespace so8t
