// One fused AdamW step with global-norm clipping on the GPU: optim/clip.hpp followed by
// optim/adamw.hpp (ELECTRA's AdamWeightDecayOptimizer: no bias correction, decoupled
// weight decay on the pre-update p), over every parameter tensor in three launches:
//   1. sum of squares: partial[k] = Σ g² over chunk k (double), one block per chunk
//   2. norm:           norm = sqrt(Σ_k partial[k]) (chunks in order: deterministic);
//                      clip = max_norm / norm if norm > max_norm, else 1
//   3. update:         per element, with ĝ = g · clip:
//                        m ← β1 m + (1−β1) ĝ;  v ← β2 v + (1−β2) ĝ²
//                        u = m / (√v + ε) [+ decay · p];  p ← p − lr · lr_scale · u
// The host decides per tensor what the CPU decides from names: weight_decay is the run's
// rate for tensors that decay and 0 for LayerNorm and biases (AdamWOptions::decays), and
// lr_scale is the layer-wise multiplier. A tensor with grad == nullptr is skipped, as the
// CPU skips parameters without a gradient. The gradients themselves are not modified.
// A NaN or inf norm skips every update (the CPU throws before touching anything): the host
// reads the norm back with last_norm() and raises the error (check_finite_norm).
// Tensors are split into fixed chunks once, at construction, so each step is three launches
// whatever the number of tensors, and allocates nothing.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "block_reduce.cuh"
#include "buffer.cuh"
#include "launch.cuh"

namespace electra::cuda {

// One parameter tensor of n floats and its AdamW state, all in device memory.
struct AdamWTensor {
  float* param = nullptr;
  const float* grad = nullptr;  // nullptr: no gradient this run; skipped
  float* m = nullptr;
  float* v = nullptr;
  index_t n = 0;
  double lr_scale = 1.0;   // layer-wise lr multiplier (1 without layer-wise decay)
  float weight_decay = 0;  // the run's rate where the CPU's decays(name) is true, else 0
};

struct AdamWHyper {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-6;  // AdamWOptions' defaults
};

namespace detail {
struct AdamWChunk {
  std::int32_t tensor;
  index_t begin, end;  // element range within the tensor
};
// Coefficients rounded to float once, as the CPU (and TF) do.
struct AdamWCoefficients {
  float b1, c1, b2, c2, eps;
};

// One block per chunk k: partial[k] = Σ g² over the chunk, in double.
static __global__ void adamw_sum_of_squares_kernel(double* partial, const AdamWTensor* tensors,
                                                   const AdamWChunk* chunks) {
  const AdamWChunk ch = chunks[blockIdx.x];
  const float* g = tensors[ch.tensor].grad;
  double s = 0;
  if (g)
    for (index_t k = ch.begin + threadIdx.x; k < ch.end; k += blockDim.x) s += double(g[k]) * double(g[k]);
  s = block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// One block: norm[0] = sqrt(Σ partial), clip[0] = max_norm / norm when norm > max_norm, else 1.
static __global__ void __launch_bounds__(1024)
    adamw_norm_kernel(double* norm, float* clip, const double* partial, index_t chunks, double max_norm) {
  double s = 0;
  for (index_t k = threadIdx.x; k < chunks; k += blockDim.x) s += partial[k];
  s = block_sum(s);
  if (threadIdx.x == 0) {
    const double nrm = ::sqrt(s);
    norm[0] = nrm;
    clip[0] = isfinite(nrm) && nrm > max_norm ? float(max_norm / nrm) : 1.f;
  }
}

// One block per chunk: the AdamW update of its elements (file comment), unless the norm is not finite.
static __global__ void adamw_update_kernel(const AdamWTensor* tensors, const AdamWChunk* chunks, const double* norm,
                                           const float* clip, double lr, AdamWCoefficients k) {
  if (!isfinite(norm[0])) return;
  const AdamWChunk ch = chunks[blockIdx.x];
  const AdamWTensor t = tensors[ch.tensor];
  if (!t.grad) return;
  const float scale = clip[0], plr = float(lr * t.lr_scale), wd = t.weight_decay;
  for (index_t i = ch.begin + threadIdx.x; i < ch.end; i += blockDim.x) {
    const float gi = t.grad[i] * scale, pi = t.param[i];
    const float mi = k.b1 * t.m[i] + k.c1 * gi;
    const float vi = k.b2 * t.v[i] + k.c2 * (gi * gi);
    float u = mi / (sqrtf(vi) + k.eps);
    if (wd != 0.f) u += wd * pi;
    t.m[i] = mi;
    t.v[i] = vi;
    t.param[i] = pi - plr * u;
  }
}
}  // namespace detail

class FusedAdamW {
 public:
  static constexpr index_t kChunk = 16384;  // elements per block

  FusedAdamW(const std::vector<AdamWTensor>& tensors, AdamWHyper hyper = {},
             CachingAllocator& allocator = default_allocator())
      : coefficients_{float(hyper.beta1), float(1.0 - hyper.beta1), float(hyper.beta2), float(1.0 - hyper.beta2),
                      float(hyper.eps)} {
    ELECTRA_CHECK(hyper.beta1 >= 0 && hyper.beta1 < 1 && hyper.beta2 >= 0 && hyper.beta2 < 1 && hyper.eps > 0,
                  value_error, "cuda::FusedAdamW: invalid hyper-parameters beta1 ", hyper.beta1, ", beta2 ",
                  hyper.beta2, ", eps ", hyper.eps);
    std::vector<detail::AdamWChunk> chunks;
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      const AdamWTensor& x = tensors[t];
      ELECTRA_CHECK(x.n >= 0 && (x.n == 0 || (x.param && x.m && x.v)), value_error, "cuda::FusedAdamW: tensor ", t,
                    " has ", x.n, " elements but a null param, m or v pointer");
      ELECTRA_CHECK(
          std::isfinite(x.lr_scale) && x.lr_scale >= 0 && std::isfinite(x.weight_decay) && x.weight_decay >= 0,
          value_error, "cuda::FusedAdamW: tensor ", t, " has lr_scale ", x.lr_scale, ", weight_decay ", x.weight_decay);
      for (index_t b = 0; b < x.n; b += kChunk) chunks.push_back({std::int32_t(t), b, std::min(x.n, b + kChunk)});
    }
    ELECTRA_CHECK(chunks.size() <= 0x7fffffffu, value_error, "cuda::FusedAdamW: too many chunks");
    tensors_ = DeviceArray<AdamWTensor>(index_t(tensors.size()), allocator);
    chunks_ = DeviceArray<detail::AdamWChunk>(index_t(chunks.size()), allocator);
    partial_ = DeviceArray<double>(std::max<index_t>(1, index_t(chunks.size())), allocator);
    norm_ = DeviceArray<double>(1, allocator);
    clip_ = DeviceArray<float>(1, allocator);
    if (!tensors.empty())
      ELECTRA_CUDA_CHECK(cudaMemcpy(tensors_.data(), tensors.data(), tensors_.bytes(), cudaMemcpyHostToDevice));
    if (!chunks.empty())
      ELECTRA_CUDA_CHECK(cudaMemcpy(chunks_.data(), chunks.data(), chunks_.bytes(), cudaMemcpyHostToDevice));
    partial_.zero();
    ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());  // the memset above ran on the default stream
  }

  // Queues the clip and the update; max_norm > 0 (+inf: no clipping, the norm is still computed).
  void step(double lr, double max_norm, cudaStream_t stream = nullptr) {
    ELECTRA_CHECK(std::isfinite(lr) && lr >= 0, value_error, "cuda::FusedAdamW::step: invalid learning rate: ", lr);
    ELECTRA_CHECK(max_norm > 0, value_error, "cuda::FusedAdamW::step: max_norm must be > 0, got ", max_norm);
    const unsigned blocks = unsigned(chunks_.size());
    if (blocks > 0) {
      detail::adamw_sum_of_squares_kernel<<<blocks, kBlockSize, 0, stream>>>(partial_.data(), tensors_.data(),
                                                                             chunks_.data());
      ELECTRA_CUDA_CHECK_LAUNCH(adamw_sum_of_squares_kernel);
    }
    detail::adamw_norm_kernel<<<1, 1024, 0, stream>>>(norm_.data(), clip_.data(), partial_.data(), chunks_.size(),
                                                      max_norm);
    ELECTRA_CUDA_CHECK_LAUNCH(adamw_norm_kernel);
    if (blocks > 0) {
      detail::adamw_update_kernel<<<blocks, kBlockSize, 0, stream>>>(tensors_.data(), chunks_.data(), norm_.data(),
                                                                     clip_.data(), lr, coefficients_);
      ELECTRA_CUDA_CHECK_LAUNCH(adamw_update_kernel);
    }
  }

  // The pre-clip global norm of the last step() (waits for the stream).
  double last_norm(cudaStream_t stream = nullptr) const {
    double norm = 0;
    ELECTRA_CUDA_CHECK(cudaMemcpyAsync(&norm, norm_.data(), sizeof norm, cudaMemcpyDeviceToHost, stream));
    ELECTRA_CUDA_CHECK(cudaStreamSynchronize(stream));
    return norm;
  }

  index_t chunks() const { return chunks_.size(); }

 private:
  detail::AdamWCoefficients coefficients_;
  DeviceArray<AdamWTensor> tensors_;
  DeviceArray<detail::AdamWChunk> chunks_;
  DeviceArray<double> partial_, norm_;
  DeviceArray<float> clip_;
};

// Throws the CPU's error when a step's norm was NaN or inf (the update was skipped on the device).
inline void check_finite_norm(double norm) {
  ELECTRA_CHECK(std::isfinite(norm), value_error, "the gradient is not finite (global norm ", norm,
                "): the fused AdamW step left every parameter unchanged");
}

}  // namespace electra::cuda
