// Embedding lookup: y[S..., E] = table[ids[S...], :]
//   dtable[ids[i]] += dy[i]   (scatter-add; rows equal to padding_idx receive no gradient,
//                              as torch.nn.Embedding(padding_idx) and HuggingFace's ELECTRA)
#pragma once
#include <cstdint>

#include "../autograd/var.hpp"

namespace electra::ops {

namespace detail {
template <class T>
struct EmbeddingNode : OpNode<T> {
  Var<T> table;
  Tensor<std::int32_t> ids;
  std::int64_t padding_idx;
  const char* name() const override { return "embedding"; }
  void backward(const Tensor<T>& dy_in) override {
    const Tensor<T> dy = dy_in.contiguous();
    const index_t E = table.shape()[1], n = ids.numel();
    T* g = table.impl()->grad_buffer().data();
    for (index_t i = 0; i < n; ++i) {  // serial: two positions may share a row
      const std::int64_t id = ids.flat(i);
      if (id == padding_idx) continue;
      const T* src = dy.data() + i * E;
      T* dst = g + id * E;
      for (index_t e = 0; e < E; ++e) dst[e] += src[e];
    }
  }
};
}  // namespace detail

// padding_idx < 0: every row gets gradients.
template <class T>
Var<T> embedding(const Var<T>& table, const Tensor<std::int32_t>& ids, std::int64_t padding_idx = -1) {
  ELECTRA_CHECK(table.shape().rank() == 2, shape_error, "embedding: table must be [V,E], got ",
                table.shape().to_string());
  const index_t V = table.shape()[0], E = table.shape()[1], n = ids.numel();
  const Tensor<T> tv = table.value().contiguous();
  Shape ys = ids.shape();
  ys.push_back(E);
  Tensor<T> y(ys);
  for (index_t i = 0; i < n; ++i) {
    const std::int64_t id = ids.flat(i);
    ELECTRA_CHECK(id >= 0 && id < V, index_error, "embedding: id ", id, " at position ", i,
                  " is outside the table's ", V, " rows");
    std::copy(tv.data() + id * E, tv.data() + (id + 1) * E, y.data() + i * E);
  }
  return record_op(
      std::move(y),
      [&] {
        auto* node = new detail::EmbeddingNode<T>();
        node->table = table;
        node->ids = ids;
        node->padding_idx = padding_idx;
        return node;
      },
      table);
}

}  // namespace electra::ops
