// Starting a TaskModel from a weights file. Accepted layouts, by the name of the word
// embedding table:
//   "electra.embeddings.word_embeddings.weight"                HuggingFace ElectraForPreTraining
//        (our RUN/discriminator/model.safetensors, google/electra-*-discriminator), or a
//        fine-tuned ElectraForSequenceClassification / ElectraForQuestionAnswering
//   "discriminator.electra.embeddings.word_embeddings.weight"  an `electra pretrain` checkpoint
//   "generator.electra.embeddings.word_embeddings.weight"      a checkpoint of the MLM baseline
//        (metadata objective = mlm), whose trained encoder is the generator
// The encoder's tensors must all be there with the model's shapes; the file's other tensors
// (pretraining heads, the generator, optimizer state) are ignored. A task head is loaded too
// when the file holds every tensor of the model's head (a fine-tuned checkpoint).
#pragma once
#include <string>

#include "../io/weights.hpp"
#include "task_model.hpp"

namespace electra::finetune {

inline constexpr const char* kWordEmbeddingName = "electra.embeddings.word_embeddings.weight";

// "" or "discriminator.": what precedes the HF names in this file.
inline std::string encoder_prefix_of(const io::SafetensorsFile& f) {
  if (f.contains(kWordEmbeddingName)) return "";
  const auto objective = f.metadata().find("objective");
  if (objective != f.metadata().end() && objective->second == "mlm" &&
      f.contains(std::string("generator.") + kWordEmbeddingName))
    return "generator.";
  if (f.contains(std::string("discriminator.") + kWordEmbeddingName)) return "discriminator.";
  ELECTRA_CHECK(false, io_error, f.label(), ": no tensor '", kWordEmbeddingName,
                "' (nor under 'discriminator.'): not an ELECTRA discriminator in HuggingFace's layout "
                "or an electra checkpoint");
  return "";
}

struct LoadedWeights {
  std::size_t encoder_tensors = 0;
  bool head_loaded = false;
};

template <class T>
LoadedWeights load_task_model(const io::SafetensorsFile& f, TaskModel<T>& m) {
  io::LoadOptions o;
  o.prefix = encoder_prefix_of(f);
  o.allow_unexpected = true;
  const nn::ParameterList<T> encoder = m.encoder_parameters();
  io::load_parameters(f, encoder, o);
  LoadedWeights r{encoder.size(), false};
  const nn::ParameterList<T> head = m.head_parameters();
  bool all = true;
  for (const auto& p : head) all = all && f.contains(o.prefix + p.name);
  if (all) {
    io::load_parameters(f, head, o);
    r.head_loaded = true;
  }
  return r;
}

}  // namespace electra::finetune
