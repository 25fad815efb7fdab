// `electra init`: writes a freshly initialised model (the official initialisers) in
// HuggingFace's layout: DIR/discriminator.safetensors and DIR/generator.safetensors.
// Useful as the random-init baseline of fine-tuning, and to try the other commands.
//   electra init --config tiny|mini|small|base|large --out DIR [--seed S]
#pragma once
#include <cstdio>
#include <electra/io/weights.hpp>
#include <electra/model/electra.hpp>
#include <filesystem>

#include "args.hpp"
#include "configs.hpp"

namespace cli {

inline const char* kInitUsage = "usage: electra init --config tiny|mini|small|base|large --out DIR [--seed S]\n";

// Metadata that records what the shapes cannot show (the number of heads).
inline std::map<std::string, std::string> model_metadata(const std::string& config, const electra::model::EncoderDims& d) {
  return {{"electra_config", config}, {"num_attention_heads", std::to_string(d.heads)}};
}

inline int cmd_init(const Args& args) {
  using namespace electra;
  const std::string name = args.required("config");
  const model::ElectraDims dims = electra_dims_by_name(name);
  const std::filesystem::path out = args.required("out");
  std::filesystem::create_directories(out);
  Rng rng(std::uint64_t(args.integer("seed", 0)));
  const model::ElectraModel<float> m(dims, rng);
  io::save_parameters(out / "discriminator.safetensors", m.discriminator_parameters(),
                      model_metadata(name, dims.discriminator));
  io::save_parameters(out / "generator.safetensors", m.generator_parameters(), model_metadata(name, dims.generator));
  std::printf("wrote %s and %s (%s, %lld + %lld parameters)\n", (out / "discriminator.safetensors").c_str(),
              (out / "generator.safetensors").c_str(), name.c_str(),
              static_cast<long long>(nn::count_parameters(m.discriminator_parameters())),
              static_cast<long long>(nn::count_parameters(m.generator_parameters())));
  return 0;
}

}  // namespace cli
