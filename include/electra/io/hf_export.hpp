// Export in HuggingFace's layout: a directory per network that `ElectraForPreTraining.
// from_pretrained(dir)` / `ElectraForMaskedLM.from_pretrained(dir)` (and electra) can load:
//   config.json         ElectraConfig fields
//   model.safetensors   parameters under HF names (generator_lm_head.weight omitted: tied)
//   vocab.txt           the WordPiece vocabulary
//   tokenizer_config.json  {"do_lower_case": true, "tokenizer_class": "ElectraTokenizer"}
#pragma once
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "json.hpp"
#include "../model/electra.hpp"
#include "atomic_file.hpp"
#include "weights.hpp"

namespace electra::io {

inline json::Value hf_electra_config(const model::EncoderDims& d, const char* architecture) {
  return json::Object{{"architectures", json::Array{architecture}},
                      {"model_type", "electra"},
                      {"vocab_size", d.vocab},
                      {"embedding_size", d.embed},
                      {"hidden_size", d.hidden},
                      {"num_hidden_layers", d.layers},
                      {"num_attention_heads", d.heads},
                      {"intermediate_size", d.ffn},
                      {"hidden_act", "gelu"},
                      {"hidden_dropout_prob", d.hidden_dropout},
                      {"attention_probs_dropout_prob", d.attention_dropout},
                      {"max_position_embeddings", d.max_pos},
                      {"type_vocab_size", d.type_vocab},
                      {"initializer_range", 0.02},
                      {"layer_norm_eps", d.layer_norm_eps},
                      {"pad_token_id", 0},
                      {"position_embedding_type", "absolute"}};
}

// Which parts of a model are worth exporting: both after ELECTRA pretraining; the generator
// alone after the MLM-only objective, which never trains the discriminator.
enum class ExportedParts { both, generator_only };

// Writes dir/discriminator and dir/generator. Every file is written atomically.
template <class T>
void export_huggingface(const std::filesystem::path& dir, const model::ElectraModel<T>& m,
                        const std::filesystem::path& vocab_file, const std::map<std::string, std::string>& metadata = {},
                        ExportedParts which = ExportedParts::both) {
  const std::string vocab_text = [&] {
    std::ifstream in(vocab_file, std::ios::binary);
    ELECTRA_CHECK(in, io_error, "cannot read vocabulary file '", vocab_file.string(), "'");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  const json::Value tokenizer =
      json::Object{{"do_lower_case", true}, {"tokenizer_class", "ElectraTokenizer"}, {"model_max_length", 512}};
  struct Part {
    const char* name;
    const char* architecture;
    const model::EncoderDims& dims;
    nn::ParameterList<T> params;
  };
  const Part parts[] = {{"discriminator", "ElectraForPreTraining", m.dims.discriminator, m.discriminator_parameters()},
                        {"generator", "ElectraForMaskedLM", m.dims.generator, m.generator_parameters()}};
  for (const Part& p : parts) {
    if (which == ExportedParts::generator_only && std::string_view(p.name) == "discriminator") continue;
    const std::filesystem::path out = dir / p.name;
    std::filesystem::create_directories(out);
    auto meta = metadata;
    meta["num_attention_heads"] = std::to_string(p.dims.heads);
    save_parameters(out / "model.safetensors", p.params, meta);
    write_file_atomically(out / "config.json", hf_electra_config(p.dims, p.architecture).dump(2) + "\n");
    write_file_atomically(out / "tokenizer_config.json", tokenizer.dump(2) + "\n");
    write_file_atomically(out / "vocab.txt", vocab_text);
  }
}

}  // namespace electra::io
