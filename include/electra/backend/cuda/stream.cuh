// An owning CUDA stream. Every function of the CUDA backend takes the cudaStream_t to queue
// its work on (nullptr = the legacy default stream); this class only owns one.
#pragma once
#include <utility>

#include "error.cuh"

namespace electra::cuda {

class Stream {
 public:
  Stream() { ELECTRA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  Stream(Stream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  Stream& operator=(Stream&& o) noexcept {
    std::swap(stream_, o.stream_);
    return *this;
  }
  ~Stream() {
    if (stream_) (void)cudaStreamDestroy(stream_);
  }

  cudaStream_t get() const { return stream_; }
  operator cudaStream_t() const { return stream_; }  // NOLINT: passes where a cudaStream_t is expected
  void synchronize() const { ELECTRA_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace electra::cuda
