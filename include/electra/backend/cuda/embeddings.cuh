// The shared embedding block on the GPU, as model/embeddings.hpp:
//   e = (word[ids] + position[t]) + token_type[types]         [B·T, E]   (the CPU's order of adds)
//   y = dropout(LayerNorm(e))                                  one dropout key, drawn as the CPU does
// backward: dword[ids] += de (row 0, the padding row, gets nothing), dposition[t] += Σ_b de[b, t],
//           dtoken_type[types] += de. The scatter-adds use atomics (embedding.cuh).
// Ids and types are checked on the host before upload (PretrainingBatch in pretraining.cuh).
#pragma once
#include <cstdint>

#include "embedding.cuh"
#include "encoder.cuh"

namespace electra::cuda {

namespace detail {
// One thread per element (r, j) of e [B·T, E]; types may be null (all type 0).
static __global__ void embeddings_sum_kernel(float* e, const float* word, const float* position,
                                             const float* token_type, const std::int32_t* ids,
                                             const std::int32_t* types, index_t B, index_t T, index_t E) {
  const index_t total = B * T * E;
  for (index_t k = global_thread_index(); k < total; k += grid_threads()) {
    const index_t j = k % E, r = k / E, t = r % T;
    const index_t type = types ? types[r] : 0;
    e[k] = (word[index_t(ids[r]) * E + j] + position[t * E + j]) + token_type[type * E + j];
  }
}
}  // namespace detail

struct DeviceEmbeddings {
  DeviceTensorRef word, position, token_type;  // [V, E], [max_pos, E], [type_vocab, E]
  DeviceLayerNorm norm;
  index_t vocab = 0, embed = 0, max_pos = 0, type_vocab = 0;
  double dropout = 0.1;

  struct Saved {
    const std::int32_t *ids = nullptr, *types = nullptr;
    DeviceArray<float> sum, y;  // LayerNorm input and the block's output [B·T, E]
    DeviceLayerNorm::Saved norm;
    float p = 0;
    std::uint64_t key = 0;
  };

  DeviceEmbeddings() = default;
  // prefix: "discriminator.electra.embeddings"
  DeviceEmbeddings(const DeviceParameters& p, const std::string& prefix, const model::EncoderDims& d)
      : word(parameter_ref(p, prefix + ".word_embeddings.weight", {d.vocab, d.embed})),
        position(parameter_ref(p, prefix + ".position_embeddings.weight", {d.max_pos, d.embed})),
        token_type(parameter_ref(p, prefix + ".token_type_embeddings.weight", {d.type_vocab, d.embed})),
        norm(p, prefix + ".LayerNorm", d.embed, d.layer_norm_eps),
        vocab(d.vocab),
        embed(d.embed),
        max_pos(d.max_pos),
        type_vocab(d.type_vocab),
        dropout(d.hidden_dropout) {}

  // ids, types: [B, T] on the device (types may be null) -> s.y [B·T, E]
  void forward(const DeviceContext& c, Saved& s, const std::int32_t* ids, const std::int32_t* types, index_t B,
               index_t T, Rng& rng, bool training) const {
    ELECTRA_CHECK(T <= max_pos, shape_error, "cuda embeddings: sequence length ", T, " exceeds the model's ", max_pos,
                  " positions");
    const index_t R = B * T;
    s.ids = ids;
    s.types = types;
    s.sum = c.floats(R * embed);
    detail::embeddings_sum_kernel<<<grid_for(R * embed), kBlockSize, 0, c.stream>>>(
        s.sum.data(), word.value, position.value, token_type.value, ids, types, B, T, embed);
    ELECTRA_CUDA_CHECK_LAUNCH(embeddings_sum_kernel);
    DeviceArray<float> normed = norm.forward(c, s.norm, s.sum.data(), R);
    s.p = active_dropout(dropout, training);
    s.key = dropout_key(rng, dropout, training);
    if (s.p > 0.f) {
      s.y = c.floats(R * embed);
      apply_dropout_mask<false>(s.y.data(), normed.data(), R * embed, s.p, s.key, c.stream);
    } else {
      s.y = std::move(normed);
    }
  }

  // dy [B·T, E]; the tables' gradients accumulate.
  void backward(const DeviceContext& c, const Saved& s, const float* dy, index_t B, index_t T) const {
    const index_t R = B * T;
    DeviceArray<float> dnormed = c.floats(R * embed), dsum = c.zeros(R * embed);
    apply_dropout_mask<false>(dnormed.data(), dy, R * embed, s.p, s.key, c.stream);
    norm.backward(c, s.norm, dsum.data(), dnormed.data(), s.sum.data(), R);
    embedding_backward(word.grad, dsum.data(), s.ids, R, vocab, embed, /*padding_idx=*/0, c.stream);
    column_sum_accumulate(position.grad, dsum.data(), B, T * embed, c.stream, *c.allocator);  // Σ over the batch
    if (s.types) {
      embedding_backward(token_type.grad, dsum.data(), s.types, R, type_vocab, embed, -1, c.stream);
    } else {  // every token is type 0: dtoken_type[0] += Σ_rows dsum
      column_sum_accumulate(token_type.grad, dsum.data(), R, embed, c.stream, *c.allocator);
    }
  }
};

}  // namespace electra::cuda
