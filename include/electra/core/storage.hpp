// Storage<T>: a 64-byte aligned, reference-counted buffer from the host pool.
// Tensors are views over a storage; copying a Tensor never copies its elements.
#pragma once
#include <cstring>

#include "allocator.hpp"
#include "refcount.hpp"

namespace electra {

template <class T>
class Storage : public RefCounted, public PoolAllocated {
 public:
  explicit Storage(index_t size) : size_(size) {
    data_ = static_cast<T*>(HostPool::instance().allocate(bytes()));
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() { HostPool::instance().deallocate(data_, bytes()); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  index_t size() const noexcept { return size_; }

 private:
  std::size_t bytes() const { return std::size_t(size_) * sizeof(T); }
  T* data_ = nullptr;
  index_t size_ = 0;
};

}  // namespace electra
