// DeviceAdamW: the CPU's optim::AdamW (its options, decay rule per name, layer-wise lr scales
// and moments) for the parameters a DeviceParameters mirrors, stepping with the fused clip +
// AdamW of adamw.cuh. The moments live in two arrays laid out like the parameters' values.
//   DeviceAdamW opt(dev, cpu_adamw);     copies the CPU moments up (zeros for a fresh optimizer)
//   opt.step(lr, max_norm);              clip to max_norm, then update every parameter
//   opt.update(lr, max_norm);            the same, then the norm checked and the gradients zeroed
//   opt.download_state(cpu_adamw);       the moments back, e.g. for a checkpoint
// The CPU optimizer's parameter list must be DeviceParameters' list, in the same order, and
// `params` must outlive the optimizer. `has_grad[i] = false` marks a tensor that no step gives a
// gradient (the discriminator's own tensors under the MLM-only objective): like the CPU
// optimizer, which skips parameters without a gradient, the update leaves it and its moments
// alone (no weight decay either). Empty: every tensor has one.
#pragma once
#include <vector>

#include "../../optim/adamw.hpp"
#include "adamw.cuh"
#include "parameters.cuh"

namespace electra::cuda {

class DeviceAdamW {
 public:
  DeviceAdamW(const DeviceParameters& params, const optim::AdamW<float>& cpu, const std::vector<bool>& has_grad = {},
              cudaStream_t stream = nullptr, CachingAllocator& allocator = default_allocator())
      : params_(&params),
        m_(params.total_floats(), allocator),
        v_(params.total_floats(), allocator),
        fused_(tensors(params, cpu, m_, v_, has_grad), hyper(cpu.options()), allocator) {
    m_.zero(stream);
    v_.zero(stream);
    upload_state(cpu, stream);
  }

  DeviceAdamW(const DeviceParameters&&, const optim::AdamW<float>&, const std::vector<bool>& = {}) = delete;

  // Clip the global gradient norm to max_norm (+inf: no clipping), then one AdamW update.
  void step(double lr, double max_norm, cudaStream_t stream = nullptr) { fused_.step(lr, max_norm, stream); }
  // The last step's pre-clip norm (waits for the stream); NaN/inf means the step was skipped.
  double last_norm(cudaStream_t stream = nullptr) const { return fused_.last_norm(stream); }

  // A training update as the engines run it: step, wait for the norm, throw if it was not
  // finite (the device then updated nothing), zero the gradients. Returns the pre-clip norm.
  double update(double lr, double max_norm, cudaStream_t stream = nullptr) {
    step(lr, max_norm, stream);
    const double norm = last_norm(stream);
    check_finite_norm(norm);
    params_->zero_grads(stream);
    return norm;
  }

  void upload_state(const optim::AdamW<float>& cpu, cudaStream_t stream = nullptr) const {
    check_same_parameters(cpu);
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      copy(m_.data() + offset(i), cpu.state(i).m, cudaMemcpyHostToDevice, stream);
      copy(v_.data() + offset(i), cpu.state(i).v, cudaMemcpyHostToDevice, stream);
    }
  }
  void download_state(const optim::AdamW<float>& cpu, cudaStream_t stream = nullptr) const {
    check_same_parameters(cpu);
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      copy(m_.data() + offset(i), cpu.state(i).m, cudaMemcpyDeviceToHost, stream);
      copy(v_.data() + offset(i), cpu.state(i).v, cudaMemcpyDeviceToHost, stream);
    }
  }

 private:
  static AdamWHyper hyper(const optim::AdamWOptions& o) { return {o.beta1, o.beta2, o.eps}; }

  static std::vector<AdamWTensor> tensors(const DeviceParameters& p, const optim::AdamW<float>& cpu,
                                          const DeviceArray<float>& m, const DeviceArray<float>& v,
                                          const std::vector<bool>& has_grad) {
    ELECTRA_CHECK(cpu.size() == p.entries().size(), value_error, "DeviceAdamW: the CPU optimizer has ", cpu.size(),
                  " parameters, the device ", p.entries().size());
    ELECTRA_CHECK(has_grad.empty() || has_grad.size() == cpu.size(), value_error, "DeviceAdamW: ", has_grad.size(),
                  " has-gradient flags for ", cpu.size(), " parameters");
    std::vector<AdamWTensor> out;
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      const auto& e = p.entries()[i];
      ELECTRA_CHECK(cpu.params()[i].name == e.name, value_error, "DeviceAdamW: parameter ", i, " is ",
                    cpu.params()[i].name, " in the CPU optimizer and ", e.name, " on the device");
      const bool gets_grad = has_grad.empty() || has_grad[i];
      out.push_back({p.values() + e.offset, gets_grad ? p.grads() + e.offset : nullptr, m.data() + e.offset,
                     v.data() + e.offset, e.numel, cpu.lr_scale(i),
                     cpu.decays(i) ? float(cpu.options().weight_decay) : 0.f});
    }
    return out;
  }

  void check_same_parameters(const optim::AdamW<float>& cpu) const {
    ELECTRA_CHECK(cpu.size() == params_->entries().size(), value_error, "DeviceAdamW: the CPU optimizer has ",
                  cpu.size(), " parameters, the device ", params_->entries().size());
    for (std::size_t i = 0; i < cpu.size(); ++i)
      ELECTRA_CHECK(cpu.params()[i].name == params_->entries()[i].name, value_error, "DeviceAdamW: parameter ", i,
                    " is ", cpu.params()[i].name, " in the CPU optimizer and ", params_->entries()[i].name,
                    " on the device");
  }
  index_t offset(std::size_t i) const { return params_->entries()[i].offset; }

  // One moment tensor between host and device; waits for the stream.
  static void copy(float* device, const Tensor<float>& host, cudaMemcpyKind kind, cudaStream_t stream) {
    ELECTRA_CHECK(host.is_contiguous(), shape_error, "DeviceAdamW: moments must be contiguous");
    const std::size_t bytes = std::size_t(host.numel()) * sizeof(float);
    if (kind == cudaMemcpyHostToDevice)
      ELECTRA_CUDA_CHECK(cudaMemcpyAsync(device, host.data(), bytes, kind, stream));
    else
      ELECTRA_CUDA_CHECK(cudaMemcpyAsync(host.data(), device, bytes, kind, stream));
    ELECTRA_CUDA_CHECK(cudaStreamSynchronize(stream));
  }

  const DeviceParameters* params_;
  DeviceArray<float> m_, v_;
  FusedAdamW fused_;
};

}  // namespace electra::cuda
