// DeviceArray<T>: an owning, move-only array of n elements in device memory, taken from a
// CachingAllocator (returned to it on destruction). Plus the explicit host<->device copies
// between a DeviceArray and a contiguous CPU Tensor<T>, queued on a stream:
//   upload(dst, src, stream)      host Tensor -> DeviceArray (same element count)
//   download(dst, src, stream)    DeviceArray -> host Tensor; waits for the stream
//   to_device(src, stream)        a new DeviceArray holding src
//   to_host(src, shape, stream)   a new Tensor of `shape` holding src
//   check_ids_below(...)          the host-side id check before an upload
// Host tensors are pageable memory: an upload may return before the DMA finishes, but the
// source may be reused at once (CUDA stages it); a download returns once the data is there.
#pragma once
#include <cstddef>
#include <utility>

#include "../../core/tensor.hpp"
#include "allocator.cuh"

namespace electra::cuda {

template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(index_t n, CachingAllocator& allocator = default_allocator())
      : allocator_(&allocator), size_(n) {
    ELECTRA_CHECK(n >= 0, value_error, "DeviceArray: negative size ", n);
    data_ = static_cast<T*>(allocator.allocate(std::size_t(n) * sizeof(T)));
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept
      : allocator_(o.allocator_), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) {
      reset();
      allocator_ = o.allocator_;
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~DeviceArray() { reset(); }

  T* data() const { return data_; }
  index_t size() const { return size_; }
  std::size_t bytes() const { return std::size_t(size_) * sizeof(T); }
  bool empty() const { return size_ == 0; }

  // Queues a zero fill (all bytes 0, which is 0.0 for float and bf16).
  void zero(cudaStream_t stream = nullptr) const {
    if (size_ > 0) ELECTRA_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes(), stream));
  }

 private:
  void reset() noexcept {
    if (data_ && allocator_) {
      try {
        allocator_->deallocate(data_);
      } catch (...) {  // cannot happen for a block from allocate(); never throw from a destructor
      }
    }
    data_ = nullptr;
    size_ = 0;
  }

  CachingAllocator* allocator_ = nullptr;
  T* data_ = nullptr;
  index_t size_ = 0;
};

namespace detail {
template <class T>
void check_copy(const char* what, const Tensor<T>& host, index_t device_size) {
  ELECTRA_CHECK(host.defined(), value_error, what, ": the host tensor is empty (undefined)");
  ELECTRA_CHECK(host.is_contiguous(), shape_error, what, ": host tensor of shape ", host.shape().to_string(),
                " must be contiguous (call contiguous() first)");
  ELECTRA_CHECK(host.numel() == device_size, shape_error, what, ": host tensor of shape ", host.shape().to_string(),
                " has ", host.numel(), " elements, the device array ", device_size);
}
}  // namespace detail

template <class T>
void upload(const DeviceArray<T>& dst, const Tensor<T>& src, cudaStream_t stream = nullptr) {
  detail::check_copy("upload", src, dst.size());
  if (dst.size() > 0)
    ELECTRA_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), dst.bytes(), cudaMemcpyHostToDevice, stream));
}

template <class T>
void download(const Tensor<T>& dst, const DeviceArray<T>& src, cudaStream_t stream = nullptr) {
  detail::check_copy("download", dst, src.size());
  if (src.size() > 0)
    ELECTRA_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), src.bytes(), cudaMemcpyDeviceToHost, stream));
  ELECTRA_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// Host-side check before an upload: every id in [0, limit), or an index_error naming `where`,
// `what`, the value and its flat index (the kernels index tables with these ids).
inline void check_ids_below(const char* where, const char* what, const Tensor<std::int32_t>& ids, index_t limit) {
  const Tensor<std::int32_t> c = ids.contiguous();
  for (index_t i = 0; i < c.numel(); ++i)
    ELECTRA_CHECK(c.data()[i] >= 0 && c.data()[i] < limit, index_error, where, ": ", what, " ", c.data()[i],
                  " at flat index ", i, " is outside [0, ", limit, ")");
}

template <class T>
DeviceArray<T> to_device(const Tensor<T>& src, cudaStream_t stream = nullptr,
                         CachingAllocator& allocator = default_allocator()) {
  DeviceArray<T> dst(src.numel(), allocator);
  upload(dst, src.contiguous(), stream);
  return dst;
}

template <class T>
Tensor<T> to_host(const DeviceArray<T>& src, const Shape& shape, cudaStream_t stream = nullptr) {
  Tensor<T> dst(shape);
  download(dst, src, stream);
  return dst;
}

}  // namespace electra::cuda
