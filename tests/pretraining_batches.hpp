// Small fixed pretraining batches and row slicing, shared by the accumulation tests and the
// two-process MPI test (which does not use doctest).
#pragma once
#include <electra/model/pretraining.hpp>

namespace test {

// Rows [begin, begin + count) of a [B, ...] tensor, as a new tensor.
template <class U>
electra::Tensor<U> rows_of(const electra::Tensor<U>& t, electra::index_t begin, electra::index_t count) {
  electra::Shape s = t.shape();
  const electra::index_t row = t.numel() / s[0];
  s[0] = count;
  electra::Tensor<U> out(s);
  const electra::Tensor<U> src = t.contiguous();
  for (electra::index_t i = 0; i < count * row; ++i) out.data()[i] = src.data()[begin * row + i];
  return out;
}

// Four sequences of 8 tokens, two of them padded.
inline electra::model::Batch four_sequences() {
  using electra::Tensor;
  return {Tensor<std::int32_t>::from({4, 8}, {101, 2023, 2003, 1037, 3231, 1012, 2009, 102,  //
                                              101, 1996, 4937, 2938, 2006, 102, 0, 0,         //
                                              101, 2009, 2001, 1037, 2204, 2154, 1012, 102,   //
                                              101, 2057, 2253, 2188, 102, 0, 0, 0}),
          Tensor<std::int32_t>::from({4, 8}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0,  //
                                              1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}),
          Tensor<std::int32_t>()};
}

// The sequences' masking (Rng 22) and fixed replacements 2000, 2001, ... in every slot.
template <class T>
electra::model::MaskedBatch<T> four_sequences_masked(const electra::model::PretrainingOptions& o) {
  electra::Rng rng(22);
  return electra::model::mask_batch<T>(four_sequences(), rng, o);
}
inline electra::Tensor<std::int32_t> fixed_samples(electra::index_t n) {
  electra::Tensor<std::int32_t> s({n});
  for (electra::index_t i = 0; i < n; ++i) s.at(i) = 2000 + std::int32_t(i);
  return s;
}

// Rows [begin, begin + count) of a masked batch.
template <class T>
electra::model::MaskedBatch<T> masked_rows(const electra::model::MaskedBatch<T>& m, electra::index_t begin,
                                           electra::index_t count) {
  return {rows_of(m.input_ids, begin, count), rows_of(m.positions, begin, count), rows_of(m.target_ids, begin, count),
          rows_of(m.weights, begin, count)};
}

}  // namespace test
