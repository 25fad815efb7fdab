// The configs compiled into the electra program, by name, and matching a weights file to one.
#pragma once
#include <electra/io/safetensors.hpp>
#include <electra/model/config.hpp>
#include <string>
#include <vector>

#include "args.hpp"

#ifndef ELECTRA_BUNDLED_DATA
#define ELECTRA_BUNDLED_DATA "data"
#endif

namespace cli {

// The vocabulary shipped in the repository (BERT uncased), the default of every --vocab.
inline std::string bundled_vocab() { return std::string(ELECTRA_BUNDLED_DATA) + "/vocab/bert-uncased-vocab.txt"; }

struct NamedConfig {
  const char* name;
  electra::model::ElectraDims dims;
};

inline std::vector<NamedConfig> compiled_configs() {
  using namespace electra;
  return {{config::Tiny::name, model::electra_dims_of<config::Tiny>()},
          {config::Mini::name, model::electra_dims_of<config::Mini>()},
          {config::Small::name, model::electra_dims_of<config::Small>()},
          {config::Base::name, model::electra_dims_of<config::Base>()},
          {config::Large::name, model::electra_dims_of<config::Large>()}};
}

inline electra::model::ElectraDims electra_dims_by_name(const std::string& name) {
  std::string known;
  for (const auto& c : compiled_configs()) {
    if (name == c.name) return c.dims;
    known += std::string(" ") + c.name;
  }
  throw usage_error("unknown config '" + name + "'; compiled configs:" + known);
}

}  // namespace cli

namespace cli {

// The compiled config whose discriminator matches the tensor shapes of a weights file in
// HuggingFace's ElectraForPreTraining layout (names after `prefix`, e.g. "discriminator." in a
// training checkpoint); an error naming the file's shapes otherwise.
inline electra::model::ElectraDims config_for_discriminator_file(const electra::io::SafetensorsFile& f,
                                                                 const std::string& prefix = "") {
  using electra::index_t;
  auto shape = [&](std::string name) {
    name = prefix + name;
    if (!f.contains(name))
      throw electra::io_error(f.label() + ": no tensor '" + name +
                              "': not an ELECTRA discriminator in HuggingFace's layout");
    return f.info(name).shape;
  };
  const electra::Shape word = shape("electra.embeddings.word_embeddings.weight");
  const electra::Shape query = shape("electra.encoder.layer.0.attention.self.query.weight");
  const electra::Shape ffn = shape("electra.encoder.layer.0.intermediate.dense.weight");
  index_t layers = 0;
  while (f.contains(prefix + "electra.encoder.layer." + std::to_string(layers) + ".attention.self.query.weight"))
    ++layers;
  const std::string found = "vocab " + std::to_string(word[0]) + ", embedding " + std::to_string(word[1]) +
                            ", hidden " + std::to_string(query[0]) + ", ffn " + std::to_string(ffn[0]) + ", layers " +
                            std::to_string(layers);
  std::string known;
  for (const auto& c : compiled_configs()) {
    const auto& d = c.dims.discriminator;
    if (d.vocab == word[0] && d.embed == word[1] && d.hidden == query[0] && d.ffn == ffn[0] && d.layers == layers) {
      // The shapes do not show the number of heads; files we write record it.
      const auto heads = f.metadata().find("num_attention_heads");
      if (heads != f.metadata().end() && heads->second != std::to_string(d.heads))
        throw electra::io_error(f.label() + ": its shapes match config " + c.name + ", but it was trained with " +
                                heads->second + " attention heads and " + c.name + " has " + std::to_string(d.heads));
      return c.dims;
    }
    known += std::string("\n  ") + c.name + ": " + d.to_string();
  }
  throw electra::io_error(f.label() + ": its shapes (" + found + ") match no compiled config; compiled:" + known);
}

}  // namespace cli
