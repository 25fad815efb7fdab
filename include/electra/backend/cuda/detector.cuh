// Replaced-token detection on the GPU (`electra detect --device cuda`): a pretrained
// discriminator's logits in evaluation mode, as ElectraModel::discriminate on the CPU:
//   logits = dense_prediction(gelu(dense(encoder(embeddings(ids, types)))))     [B, T]
// over the tensors of ElectraModel::discriminator_parameters() (HuggingFace's
// ElectraForPreTraining names: "electra.*", "discriminator_predictions.*").
#pragma once
#include "pretraining.cuh"

namespace electra::cuda {

class ReplacedTokenDetector {
 public:
  // Keeps pointers into `params`, which must outlive the detector.
  ReplacedTokenDetector(const model::EncoderDims& d, const DeviceParameters& params, const DeviceContext& context)
      : dims_((d.validate("cuda detector"), d)),
        c_(context),
        embeddings_(params, "electra.embeddings", d),
        encoder_(params, "electra", d),
        head_(params, d, "") {
    ELECTRA_CHECK(c_.gemm && c_.allocator, value_error, "cuda::ReplacedTokenDetector: needs a GemmContext");
  }
  ReplacedTokenDetector(const model::EncoderDims&, const DeviceParameters&&, const DeviceContext&) = delete;

  // ids, input_mask [B, T]; token_types [B, T] or undefined (all 0) -> logits [B, T]
  Tensor<float> logits(const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& token_types,
                       const Tensor<std::int32_t>& input_mask) {
    const char* where = "cuda detector";
    ELECTRA_CHECK(ids.rank() == 2 && input_mask.shape() == ids.shape() &&
                      (!token_types.defined() || token_types.shape() == ids.shape()),
                  shape_error, where, ": ids ", ids.shape().to_string(), ", types ",
                  token_types.defined() ? token_types.shape().to_string() : std::string("none"), " and mask ",
                  input_mask.shape().to_string(), " must all be [B,T]");
    const index_t B = ids.size(0), T = ids.size(1);
    check_ids_below(where, "token id", ids, dims_.vocab);
    const DeviceArray<std::int32_t> d_ids = to_device(ids, c_.stream, *c_.allocator);
    DeviceArray<std::int32_t> d_types;
    if (token_types.defined()) {
      check_ids_below(where, "token type", token_types, dims_.type_vocab);
      d_types = to_device(token_types, c_.stream, *c_.allocator);
    }
    const DeviceArray<float> key_mask = to_device(model::key_mask_from<float>(input_mask), c_.stream, *c_.allocator);
    Rng unused(0);  // evaluation draws no keys
    DeviceEmbeddings::Saved embedded;
    embeddings_.forward(c_, embedded, d_ids.data(), d_types.empty() ? nullptr : d_types.data(), B, T, unused, false);
    DeviceEncoder::Saved encoded;
    encoder_.forward(c_, encoded, embedded.y.data(), key_mask.data(), B, T, unused, false);
    DeviceDiscriminatorHead::Saved head;
    head_.forward(c_, head, encoded.output(), B * T);
    return to_host(head.logits, Shape{B, T}, c_.stream);
  }

 private:
  model::EncoderDims dims_;
  DeviceContext c_;
  DeviceEmbeddings embeddings_;
  DeviceEncoder encoder_;
  DeviceDiscriminatorHead head_;
};

}  // namespace electra::cuda
