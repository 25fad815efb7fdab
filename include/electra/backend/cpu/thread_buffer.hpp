// Per-thread scratch that grows and is then reused: the GEMMs' packing buffers and the bf16
// paths' scratch, so a warmed-up training step allocates nothing. Each Owner (a tag type) has
// its own slots on each thread, so two users never hand out the same memory.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>

#include "../../core/config.hpp"

namespace electra::cpu::detail {

// At least n elements of T, 64-byte aligned, on the calling thread; slot < kThreadBufferSlots.
// Valid until the same (Owner, T, slot) is asked for more on this thread.
inline constexpr int kThreadBufferSlots = 2;

template <class Owner, class T>
T* thread_buffer(int slot, std::size_t n) {
  struct Buffer {
    T* data = nullptr;
    std::size_t size = 0;
    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffers[kThreadBufferSlots];
  Buffer& b = buffers[slot];
  if (b.size < n) {
    std::free(b.data);
    const std::size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    b.data = static_cast<T*>(std::aligned_alloc(kAlignment, bytes));
    if (!b.data) throw std::bad_alloc();
    b.size = n;
  }
  return b.data;
}

}  // namespace electra::cpu::detail
