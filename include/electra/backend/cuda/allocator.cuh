// Caching device allocator: device memory is taken from cudaMalloc once and then recycled.
// Sizes are rounded up (512 B steps below 1 MiB, 2 MiB steps above) and freed blocks wait in
// a free list per rounded size, so a training step that repeats the same allocations calls
// cudaMalloc only during its first (warm-up) step. stats() counts cudaMalloc calls and bytes
// held, which is how tests assert "no new cudaMalloc after warm-up".
//
// Stream semantics (as PyTorch's caching allocator, single-stream case): a block freed while
// kernels on stream S still use it may be handed out again at once; this is safe as long as
// the new owner's work is also queued on S (stream order). Work on another stream must
// synchronise with S first. No managed memory: every block is plain cudaMalloc memory.
#pragma once
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "error.cuh"

namespace electra::cuda {

struct AllocatorStats {
  std::size_t cuda_malloc_calls = 0;  // since construction (or reset_counters)
  std::size_t cuda_free_calls = 0;
  std::size_t bytes_held = 0;     // obtained from cudaMalloc and not yet returned to CUDA
  std::size_t bytes_in_use = 0;   // handed out and not yet deallocated
  std::size_t cached_blocks = 0;  // free blocks waiting for reuse
};

class CachingAllocator {
 public:
  static constexpr std::size_t kSmallQuantum = 512;
  static constexpr std::size_t kLargeThreshold = std::size_t(1) << 20;
  static constexpr std::size_t kLargeQuantum = std::size_t(2) << 20;

  CachingAllocator() = default;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;
  // Returns cached blocks to CUDA. Errors are ignored: at program exit the CUDA runtime may
  // already be unloading. Blocks still in use are left to the driver's process teardown.
  ~CachingAllocator() {
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) (void)cudaFree(p);
  }

  static std::size_t rounded_size(std::size_t bytes) {
    const std::size_t q = bytes < kLargeThreshold ? kSmallQuantum : kLargeQuantum;
    return (bytes + q - 1) / q * q;
  }

  // A device block of at least `bytes` bytes (256-byte aligned, from cudaMalloc); nullptr for 0.
  void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    const std::size_t size = rounded_size(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      --stats_.cached_blocks;
    } else {
      p = malloc_from_cuda(size);
    }
    in_use_.emplace(p, size);
    stats_.bytes_in_use += size;
    return p;
  }

  // Puts a block from allocate() back on its free list; nullptr is ignored.
  void deallocate(void* p) {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = in_use_.find(p);
    ELECTRA_CHECK(it != in_use_.end(), value_error, "CachingAllocator::deallocate: ", p,
                  " was not allocated here (or was freed twice)");
    const std::size_t size = it->second;
    in_use_.erase(it);
    stats_.bytes_in_use -= size;
    free_[size].push_back(p);
    ++stats_.cached_blocks;
  }

  // Returns every cached (free) block to CUDA. Blocks in use stay valid. Synchronises the
  // device first, so no queued kernel can still be reading a block that goes away.
  void release_all() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached_locked();
  }

  AllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_counters() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.cuda_malloc_calls = 0;
    stats_.cuda_free_calls = 0;
  }

 private:
  void* malloc_from_cuda(std::size_t size) {
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, size);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it, free the cache and try once more
      release_cached_locked();
      status = cudaMalloc(&p, size);
    }
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      throw cuda_error(::electra::detail::concat("cudaMalloc of ", size, " bytes failed: ", cudaGetErrorName(status),
                                                 " (", cudaGetErrorString(status), "); this allocator holds ",
                                                 stats_.bytes_held, " bytes, ", stats_.bytes_in_use, " in use"));
    }
    ++stats_.cuda_malloc_calls;
    stats_.bytes_held += size;
    return p;
  }

  void release_cached_locked() {
    ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) {
        ELECTRA_CUDA_CHECK(cudaFree(p));
        ++stats_.cuda_free_calls;
        stats_.bytes_held -= size;
      }
      blocks.clear();
    }
    stats_.cached_blocks = 0;
  }

  mutable std::mutex mu_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // rounded size -> free blocks
  std::unordered_map<void*, std::size_t> in_use_;             // block -> rounded size
  AllocatorStats stats_;
};

// The process-wide allocator used when none is named.
inline CachingAllocator& default_allocator() {
  static CachingAllocator allocator;
  return allocator;
}

}  // namespace electra::cuda
