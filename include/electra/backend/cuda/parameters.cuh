// DeviceParameters: a CPU model's named parameters (nn::ParameterList, in its order) mirrored
// in device memory, values and gradients each in one contiguous array (one memset zeroes every
// gradient; the fused AdamW walks the same tensors). Looked up by HuggingFace name.
//   DeviceParameters dev(model.parameters());   uploads the values
//   dev.value("discriminator.electra.embeddings.word_embeddings.weight")   float* on the device
//   dev.download_values(list)  /  dev.download_grads(list)   back into the CPU Vars (upload_grads: up)
// Tensors start at multiples of 64 floats (256 bytes), as cuBLASLt prefers.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "../../nn/parameter.hpp"
#include "buffer.cuh"

namespace electra::cuda {

class DeviceParameters {
 public:
  struct Entry {
    std::string name;
    Shape shape;
    index_t offset = 0, numel = 0;
  };

  DeviceParameters() = default;
  explicit DeviceParameters(const nn::ParameterList<float>& params, cudaStream_t stream = nullptr,
                            CachingAllocator& allocator = default_allocator()) {
    index_t total = 0;
    for (const auto& p : params) {
      ELECTRA_CHECK(!index_.count(p.name), value_error, "DeviceParameters: parameter ", p.name, " appears twice");
      index_.emplace(p.name, entries_.size());
      entries_.push_back({p.name, p.var.shape(), total, p.var.shape().numel()});
      total += (p.var.shape().numel() + kAlign - 1) / kAlign * kAlign;
    }
    values_ = DeviceArray<float>(total, allocator);
    grads_ = DeviceArray<float>(total, allocator);
    values_.zero(stream);
    grads_.zero(stream);
    upload_values(params, stream);
  }

  const std::vector<Entry>& entries() const { return entries_; }
  index_t total_floats() const { return values_.size(); }
  float* values() const { return values_.data(); }
  float* grads() const { return grads_.data(); }

  const Entry& entry(const std::string& name) const {
    const auto it = index_.find(name);
    ELECTRA_CHECK(it != index_.end(), value_error, "DeviceParameters: no parameter named ", name);
    return entries_[it->second];
  }
  float* value(const std::string& name) const { return values_.data() + entry(name).offset; }
  float* grad(const std::string& name) const { return grads_.data() + entry(name).offset; }
  // The value, checked against the shape the caller expects.
  float* value(const std::string& name, const Shape& expect) const {
    const Entry& e = entry(name);
    ELECTRA_CHECK(e.shape == expect, shape_error, "DeviceParameters: ", name, " has shape ", e.shape.to_string(),
                  ", expected ", expect.to_string());
    return values_.data() + e.offset;
  }

  void zero_grads(cudaStream_t stream = nullptr) const { grads_.zero(stream); }

  void upload_values(const nn::ParameterList<float>& params, cudaStream_t stream = nullptr) const {
    for_each_match(params, [&](const Entry& e, const Var<float>& v) { copy_in(values_, e, v.value(), stream); });
  }
  void download_values(const nn::ParameterList<float>& params, cudaStream_t stream = nullptr) const {
    for_each_match(params, [&](const Entry& e, const Var<float>& v) { copy_out(v.value(), values_, e, stream); });
  }
  // Each Var's gradient (zeros where it has none) into the device gradients, overwriting them.
  void upload_grads(const nn::ParameterList<float>& params, cudaStream_t stream = nullptr) const {
    for_each_match(params, [&](const Entry& e, const Var<float>& v) {
      copy_in(grads_, e, v.has_grad() ? v.grad() : Tensor<float>::zeros(e.shape), stream);
    });
  }
  // Into each Var's gradient buffer (allocated if needed), overwriting it.
  void download_grads(const nn::ParameterList<float>& params, cudaStream_t stream = nullptr) const {
    for_each_match(params,
                   [&](const Entry& e, const Var<float>& v) { copy_out(v.impl()->grad_buffer(), grads_, e, stream); });
  }

 private:
  static constexpr index_t kAlign = 64;

  template <class F>
  void for_each_match(const nn::ParameterList<float>& params, F&& f) const {
    ELECTRA_CHECK(params.size() == entries_.size(), shape_error, "DeviceParameters: ", params.size(),
                  " parameters given, ", entries_.size(), " on the device");
    for (const auto& p : params) {
      const Entry& e = entry(p.name);
      ELECTRA_CHECK(p.var.shape() == e.shape, shape_error, "DeviceParameters: ", p.name, " has shape ",
                    p.var.shape().to_string(), " on the host and ", e.shape.to_string(), " on the device");
      f(e, p.var);
    }
  }
  static void copy_in(const DeviceArray<float>& dst, const Entry& e, const Tensor<float>& host, cudaStream_t stream) {
    const Tensor<float> src = host.contiguous();
    ELECTRA_CUDA_CHECK(cudaMemcpyAsync(dst.data() + e.offset, src.data(), std::size_t(e.numel) * sizeof(float),
                                       cudaMemcpyHostToDevice, stream));
    ELECTRA_CUDA_CHECK(cudaStreamSynchronize(stream));  // `src` may be a temporary copy
  }
  static void copy_out(const Tensor<float>& host, const DeviceArray<float>& src, const Entry& e, cudaStream_t stream) {
    ELECTRA_CHECK(host.is_contiguous(), shape_error, "DeviceParameters: host tensor for ", e.name,
                  " is not contiguous");
    ELECTRA_CUDA_CHECK(cudaMemcpyAsync(host.data(), src.data() + e.offset, std::size_t(e.numel) * sizeof(float),
                                       cudaMemcpyDeviceToHost, stream));
    ELECTRA_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
  DeviceArray<float> values_, grads_;
};

}  // namespace electra::cuda
