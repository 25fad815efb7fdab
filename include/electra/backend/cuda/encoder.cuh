// The BERT encoder on the GPU, written out forward and backward (no tape), mirroring
// model/encoder.hpp layer for layer and drawing dropout keys from the Rng in the CPU's order,
// so that one seed gives the same masks on both backends:
//   x = embeddings_project(e)                                   when E ≠ H
//   per layer:
//     context = attention(W_q x, W_k x, W_v x, mask)            key 1 (attention dropout)
//     a = LayerNorm(x + dropout(W_o context))                   key 2
//     y = LayerNorm(a + dropout(W_2 gelu(W_1 a)))               key 3
// Each forward keeps what its backward needs in a `Saved` struct; backward accumulates into
// the parameters' gradients (DeviceParameters) and into dx. Activations come from the caching
// allocator, so a repeated step makes no cudaMalloc after warm-up. Matrices are [rows, features]
// with rows = B·T.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../../core/rng.hpp"
#include "../../model/config.hpp"
#include "attention.cuh"
#include "dropout.cuh"
#include "elementwise.cuh"
#include "gelu.cuh"
#include "layer_norm.cuh"
#include "linear.cuh"
#include "parameters.cuh"

namespace electra::cuda {

// What every module call needs: GEMM handle and mode, stream, allocator. Temporaries go back
// to the allocator as soon as a call returns, while its kernels may still be queued: that is
// safe because every user of one allocator queues on one stream (allocator.cuh). Give each
// stream its own allocator before using several.
struct DeviceContext {
  GemmContext* gemm = nullptr;
  ComputeMode mode = ComputeMode::fp32;
  cudaStream_t stream = nullptr;
  CachingAllocator* allocator = &default_allocator();

  DeviceArray<float> floats(index_t n) const { return DeviceArray<float>(n, *allocator); }
  DeviceArray<float> zeros(index_t n) const {
    DeviceArray<float> a(n, *allocator);
    a.zero(stream);
    return a;
  }
  DeviceArray<float> copy_of(const float* src, index_t n) const {
    DeviceArray<float> a(n, *allocator);
    if (n > 0)
      ELECTRA_CUDA_CHECK(
          cudaMemcpyAsync(a.data(), src, std::size_t(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream));
    return a;
  }
};

// The key ops::dropout / ops::attention draw: one only when the dropout is active.
inline std::uint64_t dropout_key(Rng& rng, double p, bool training) { return training && p > 0.0 ? rng.next_key() : 0; }
inline float active_dropout(double p, bool training) { return training ? float(p) : 0.f; }

// dst += src (n floats)
inline void add_into(float* dst, const float* src, index_t n, cudaStream_t stream) {
  map_n(dst, n, expr::fn::Add{}, stream, static_cast<const float*>(dst), src);
}

// A parameter tensor's value and gradient on the device.
struct DeviceTensorRef {
  float* value = nullptr;
  float* grad = nullptr;
};
inline DeviceTensorRef parameter_ref(const DeviceParameters& params, const std::string& name, const Shape& shape) {
  return {params.value(name, shape), params.grad(name)};
}

struct DeviceLinear {
  DeviceTensorRef weight, bias;  // [out, in], [out]
  index_t in = 0, out = 0;

  DeviceLinear() = default;
  DeviceLinear(const DeviceParameters& p, const std::string& prefix, index_t in_features, index_t out_features)
      : weight(parameter_ref(p, prefix + ".weight", {out_features, in_features})),
        bias(parameter_ref(p, prefix + ".bias", {out_features})),
        in(in_features),
        out(out_features) {}

  // y [R, out] = x [R, in] · Wᵀ + b
  DeviceArray<float> forward(const DeviceContext& c, const float* x, index_t R) const {
    DeviceArray<float> y = c.floats(R * out);
    linear_forward(*c.gemm, c.mode, y.data(), x, weight.value, bias.value, R, in, out, c.stream, *c.allocator);
    return y;
  }
  // dx [R, in] (null: not needed) += dy·W; the parameters' gradients accumulate.
  void backward(const DeviceContext& c, float* dx, const float* dy, const float* x, index_t R) const {
    linear_backward(*c.gemm, c.mode, dx, weight.grad, bias.grad, dy, x, weight.value, R, in, out, c.stream,
                    *c.allocator);
  }
};

struct DeviceLayerNorm {
  DeviceTensorRef weight, bias;  // [n]
  index_t n = 0;
  double eps = 1e-12;

  struct Saved {
    DeviceArray<float> mean, rstd;  // [R]
  };

  DeviceLayerNorm() = default;
  DeviceLayerNorm(const DeviceParameters& p, const std::string& prefix, index_t features, double epsilon)
      : weight(parameter_ref(p, prefix + ".weight", {features})),
        bias(parameter_ref(p, prefix + ".bias", {features})),
        n(features),
        eps(epsilon) {}

  DeviceArray<float> forward(const DeviceContext& c, Saved& s, const float* x, index_t R) const {
    DeviceArray<float> y = c.floats(R * n);
    s.mean = c.floats(R);
    s.rstd = c.floats(R);
    layer_norm_forward(y.data(), s.mean.data(), s.rstd.data(), x, weight.value, bias.value, R, n, eps, c.stream);
    return y;
  }
  // dx [R, n] += ...; x is the forward input.
  void backward(const DeviceContext& c, const Saved& s, float* dx, const float* dy, const float* x, index_t R) const {
    layer_norm_backward(dx, weight.grad, bias.grad, dy, x, s.mean.data(), s.rstd.data(), weight.value, R, n, c.stream,
                        *c.allocator);
  }
};

// sum = x + dropout(y): the residual connections. Backward: dx += dsum, dy += mask(dsum).
inline DeviceArray<float> residual_dropout_forward(const DeviceContext& c, const float* x, const float* y, index_t n,
                                                   float p, std::uint64_t key) {
  DeviceArray<float> sum = c.copy_of(x, n);
  apply_dropout_mask<true>(sum.data(), y, n, p, key, c.stream);  // p = 0: y itself, exactly
  return sum;
}

struct DeviceEncoderLayer {
  DeviceLinear query, key, value, attention_output, intermediate, output;
  DeviceLayerNorm attention_norm, output_norm;
  index_t hidden = 0, ffn = 0, heads = 1;
  double dropout = 0.1, attention_dropout = 0.1;

  struct Saved {
    const float* x = nullptr;  // the layer's input, owned by the caller
    AttentionState attention;
    DeviceArray<float> context, attention_sum, a, intermediate_out, gelu_out, output_sum, y;
    DeviceLayerNorm::Saved attention_norm, output_norm;
    float p = 0;  // the residual dropouts' active rate
    std::uint64_t attention_output_key = 0, output_key = 0;
  };

  DeviceEncoderLayer() = default;
  DeviceEncoderLayer(const DeviceParameters& p, const std::string& prefix, const model::EncoderDims& d)
      : query(p, prefix + ".attention.self.query", d.hidden, d.hidden),
        key(p, prefix + ".attention.self.key", d.hidden, d.hidden),
        value(p, prefix + ".attention.self.value", d.hidden, d.hidden),
        attention_output(p, prefix + ".attention.output.dense", d.hidden, d.hidden),
        intermediate(p, prefix + ".intermediate.dense", d.hidden, d.ffn),
        output(p, prefix + ".output.dense", d.ffn, d.hidden),
        attention_norm(p, prefix + ".attention.output.LayerNorm", d.hidden, d.layer_norm_eps),
        output_norm(p, prefix + ".output.LayerNorm", d.hidden, d.layer_norm_eps),
        hidden(d.hidden),
        ffn(d.ffn),
        heads(d.heads),
        dropout(d.hidden_dropout),
        attention_dropout(d.attention_dropout) {}

  // x [B·T, H] -> s.y [B·T, H]; key_mask [B, T] floats.
  void forward(const DeviceContext& c, Saved& s, const float* x, const float* key_mask, index_t B, index_t T, Rng& rng,
               bool training) const {
    const index_t R = B * T;
    s.x = x;
    {
      const DeviceArray<float> q = query.forward(c, x, R), k = key.forward(c, x, R), v = value.forward(c, x, R);
      const std::uint64_t attention_key = dropout_key(rng, attention_dropout, training);
      s.context = c.floats(R * hidden);
      attention_forward(*c.gemm, c.mode, s.attention, s.context.data(), q.data(), k.data(), v.data(), key_mask, B, T,
                        hidden, heads, float(attention_dropout), training, attention_key, c.stream, *c.allocator);
    }
    s.p = active_dropout(dropout, training);
    s.attention_output_key = dropout_key(rng, dropout, training);
    {
      const DeviceArray<float> projected = attention_output.forward(c, s.context.data(), R);
      s.attention_sum = residual_dropout_forward(c, x, projected.data(), R * hidden, s.p, s.attention_output_key);
    }
    s.a = attention_norm.forward(c, s.attention_norm, s.attention_sum.data(), R);
    s.intermediate_out = intermediate.forward(c, s.a.data(), R);
    s.gelu_out = c.floats(R * ffn);
    gelu_forward(s.gelu_out.data(), s.intermediate_out.data(), R * ffn, c.stream);
    s.output_key = dropout_key(rng, dropout, training);
    {
      const DeviceArray<float> f = output.forward(c, s.gelu_out.data(), R);
      s.output_sum = residual_dropout_forward(c, s.a.data(), f.data(), R * hidden, s.p, s.output_key);
    }
    s.y = output_norm.forward(c, s.output_norm, s.output_sum.data(), R);
  }

  // dy [B·T, H] -> dx [B·T, H] (+=); the parameters' gradients accumulate.
  void backward(const DeviceContext& c, const Saved& s, float* dx, const float* dy, index_t B, index_t T) const {
    const index_t R = B * T;
    DeviceArray<float> d_output_sum = c.zeros(R * hidden);
    output_norm.backward(c, s.output_norm, d_output_sum.data(), dy, s.output_sum.data(), R);
    DeviceArray<float> da = c.copy_of(d_output_sum.data(), R * hidden);  // the residual path
    {
      DeviceArray<float> df = c.floats(R * hidden), dg = c.zeros(R * ffn), dh = c.zeros(R * ffn);
      apply_dropout_mask<false>(df.data(), d_output_sum.data(), R * hidden, s.p, s.output_key, c.stream);
      output.backward(c, dg.data(), df.data(), s.gelu_out.data(), R);
      gelu_backward(dh.data(), dg.data(), s.intermediate_out.data(), R * ffn, c.stream);
      intermediate.backward(c, da.data(), dh.data(), s.a.data(), R);
    }
    DeviceArray<float> d_attention_sum = c.zeros(R * hidden);
    attention_norm.backward(c, s.attention_norm, d_attention_sum.data(), da.data(), s.attention_sum.data(), R);
    if (dx) add_into(dx, d_attention_sum.data(), R * hidden, c.stream);
    DeviceArray<float> dprojected = c.floats(R * hidden), dcontext = c.zeros(R * hidden);
    apply_dropout_mask<false>(dprojected.data(), d_attention_sum.data(), R * hidden, s.p, s.attention_output_key,
                              c.stream);
    attention_output.backward(c, dcontext.data(), dprojected.data(), s.context.data(), R);
    DeviceArray<float> dq = c.zeros(R * hidden), dk = c.zeros(R * hidden), dv = c.zeros(R * hidden);
    attention_backward(*c.gemm, c.mode, s.attention, dq.data(), dk.data(), dv.data(), dcontext.data(), c.stream,
                       *c.allocator);
    query.backward(c, dx, dq.data(), s.x, R);
    key.backward(c, dx, dk.data(), s.x, R);
    value.backward(c, dx, dv.data(), s.x, R);
  }
};

struct DeviceEncoder {
  model::EncoderDims dims;
  bool has_projection = false;
  DeviceLinear embeddings_project;
  std::vector<DeviceEncoderLayer> layers;

  struct Saved {
    const float* embedded = nullptr;
    DeviceArray<float> projected;
    std::vector<DeviceEncoderLayer::Saved> layers;
    const float* output() const { return layers.back().y.data(); }
  };

  DeviceEncoder() = default;
  // `model` is "discriminator.electra" or "generator.electra" (ElectraModel::parameters()' names).
  DeviceEncoder(const DeviceParameters& p, const std::string& model, const model::EncoderDims& d)
      : dims(d), has_projection(d.embed != d.hidden) {
    if (has_projection) embeddings_project = DeviceLinear(p, model + ".embeddings_project", d.embed, d.hidden);
    for (index_t i = 0; i < d.layers; ++i) layers.emplace_back(p, model + ".encoder.layer." + std::to_string(i), d);
  }

  // embedded [B·T, E] -> output() [B·T, H]
  void forward(const DeviceContext& c, Saved& s, const float* embedded, const float* key_mask, index_t B, index_t T,
               Rng& rng, bool training) const {
    s.embedded = embedded;
    const float* x = embedded;
    if (has_projection) {
      s.projected = embeddings_project.forward(c, embedded, B * T);
      x = s.projected.data();
    }
    s.layers.resize(layers.size());
    for (std::size_t i = 0; i < layers.size(); ++i) {
      layers[i].forward(c, s.layers[i], x, key_mask, B, T, rng, training);
      x = s.layers[i].y.data();
    }
  }

  // dy [B·T, H] -> dembedded [B·T, E] (+=)
  void backward(const DeviceContext& c, const Saved& s, float* dembedded, const float* dy, index_t B, index_t T) const {
    const index_t R = B * T;
    DeviceArray<float> grad = c.copy_of(dy, R * dims.hidden);
    for (std::size_t i = layers.size(); i-- > 0;) {
      DeviceArray<float> dx = c.zeros(R * dims.hidden);
      layers[i].backward(c, s.layers[i], dx.data(), grad.data(), B, T);
      grad = std::move(dx);
    }
    if (has_projection)
      embeddings_project.backward(c, dembedded, grad.data(), s.embedded, R);
    else
      add_into(dembedded, grad.data(), R * dims.hidden, c.stream);
  }
};

}  // namespace electra::cuda
