// The host memory pool. Every tensor buffer and every autograd object comes from here.
// Freed blocks are cached by exact (64-byte rounded) size and handed out again, so a
// training loop whose shapes repeat stops calling the system allocator after its first
// step. `stats().system_allocations` counts the calls that did reach the system: a test
// uses it to prove that a warmed-up step allocates nothing.
#pragma once
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "config.hpp"

namespace electra {

struct PoolStats {
  std::size_t system_allocations = 0;  // blocks obtained from the system (cache misses)
  std::size_t pool_hits = 0;           // blocks served from the cache
  std::size_t bytes_in_use = 0;        // handed out and not yet returned
  std::size_t bytes_cached = 0;        // returned and kept for reuse
};

class HostPool {
 public:
  static HostPool& instance() {
    static HostPool pool;  // never destroyed before its users: see the destructor
    return pool;
  }

  void* allocate(std::size_t bytes) {
    const std::size_t size = round_up(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.bytes_in_use += size;
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= size;
      ++stats_.pool_hits;
      return p;
    }
    ++stats_.system_allocations;
    void* p = std::aligned_alloc(kAlignment, size);
    if (!p) throw std::bad_alloc();
    return p;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    const std::size_t size = round_up(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.bytes_in_use -= size;
    try {
      free_[size].push_back(p);
      stats_.bytes_cached += size;
    } catch (...) {
      std::free(p);  // the cache could not grow: give the block back instead
    }
  }

  // Returns every cached block to the system.
  void release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.bytes_cached = 0;
  }

  PoolStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  ~HostPool() { release_cached(); }

 private:
  HostPool() = default;
  static std::size_t round_up(std::size_t bytes) {
    const std::size_t b = bytes ? bytes : 1;
    return (b + kAlignment - 1) / kAlignment * kAlignment;
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  PoolStats stats_;
};

inline PoolStats pool_stats() { return HostPool::instance().stats(); }

// Base for objects whose `new`/`delete` should go through the pool (autograd nodes and vars).
struct PoolAllocated {
  static void* operator new(std::size_t bytes) { return HostPool::instance().allocate(bytes); }
  static void operator delete(void* p, std::size_t bytes) noexcept {
    HostPool::instance().deallocate(p, bytes);
  }
};

}  // namespace electra
