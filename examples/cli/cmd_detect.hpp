// `electra detect`: runs a discriminator and prints, for every token, the probability that
// it was replaced (sigmoid of the replaced-token-detection logit).
//   electra detect --model DISC.safetensors --vocab vocab.txt [--json] "some text"
//   electra detect --model DISC.safetensors --vocab vocab.txt --ids-file F   (ids per line)
//   ... --device cuda                                                       (the forward on the GPU)
// Text gets [CLS] ... [SEP] around its WordPiece ids; an ids file is used as given.
#pragma once
#include <cmath>
#include <cstdio>
#include <electra/autograd/grad_mode.hpp>
#include <electra/io/json.hpp>
#include <electra/io/weights.hpp>
#include <electra/model/electra.hpp>
#include <electra/text/wordpiece.hpp>
#include <fstream>
#include <sstream>

#include "args.hpp"
#include "configs.hpp"
#include "runtime.hpp"

namespace cli {

inline const char* kDetectUsage =
    "usage: electra detect --model DISC.safetensors|RUN/discriminator [--vocab vocab.txt] [--json] [--device cpu|cuda]\n"
    "         (\"text\" | --ids-file F)\n";

namespace detail {
inline std::vector<std::vector<std::int32_t>> read_id_lines(const std::string& path, std::size_t vocab_size) {
  std::ifstream in(path);
  if (!in) throw electra::io_error("cannot open ids file '" + path + "'");
  std::vector<std::vector<std::int32_t>> rows;
  std::string line;
  for (std::size_t lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream ls(line);
    std::vector<std::int32_t> ids;
    std::string tok;
    while (ls >> tok) {
      char* end = nullptr;
      const long v = std::strtol(tok.c_str(), &end, 10);
      if (*end || v < 0 || std::size_t(v) >= vocab_size)
        throw electra::io_error(path + ":" + std::to_string(lineno) + ": '" + tok + "' is not a token id in [0, " +
                                std::to_string(vocab_size) + ")");
      ids.push_back(std::int32_t(v));
    }
    if (!ids.empty()) rows.push_back(std::move(ids));
  }
  if (rows.empty()) throw electra::io_error("ids file '" + path + "' holds no sequence");
  return rows;
}
}  // namespace detail

inline int cmd_detect(const Args& args) {
  using namespace electra;
  // --model is a weights file, or an exported directory (model.safetensors + vocab.txt).
  std::filesystem::path model_path = args.required("model"), vocab_path = args.get("vocab", bundled_vocab());
  if (std::filesystem::is_directory(model_path)) {
    if (!args.has("vocab") && std::filesystem::exists(model_path / "vocab.txt")) vocab_path = model_path / "vocab.txt";
    model_path /= "model.safetensors";
  }
  const io::SafetensorsFile file(model_path);
  const text::Vocab vocab = text::Vocab::load(vocab_path);
  const model::ElectraDims dims = config_for_discriminator_file(file);
  if (std::size_t(dims.discriminator.vocab) != vocab.size())
    throw usage_error("the model has " + std::to_string(dims.discriminator.vocab) + " token embeddings but '" +
                      vocab_path.string() + "' has " + std::to_string(vocab.size()) + " tokens");

  std::vector<std::vector<std::int32_t>> sequences;
  if (args.has("ids-file")) {
    if (!args.positional().empty()) throw usage_error("give either text or --ids-file, not both");
    sequences = detail::read_id_lines(args.get("ids-file"), vocab.size());
  } else {
    if (args.positional().size() != 1) throw usage_error(kDetectUsage);
    std::vector<std::int32_t> ids{vocab.id("[CLS]")};
    for (std::int32_t id : text::tokenize_to_ids(args.positional()[0], vocab)) ids.push_back(id);
    ids.push_back(vocab.id("[SEP]"));
    sequences.push_back(std::move(ids));
  }

  Rng rng(0);
  model::ElectraModel<float> m(dims, rng);
  io::load_parameters(file, m.discriminator_parameters());
  NoGradGuard no_grad;
  Detector logits_of = [&](const Tensor<std::int32_t>& ids, const Tensor<std::int32_t>& mask) {
    return m.discriminate(ids, {}, mask, rng, false).value();
  };
  if (device_option(args, 1) == "cuda") logits_of = make_cuda_detector(m.discriminator_parameters(), dims.discriminator);
  json::Array results;
  for (const auto& ids : sequences) {
    const index_t T = index_t(ids.size());
    if (T > dims.discriminator.max_pos)
      throw usage_error("a sequence of " + std::to_string(T) + " tokens exceeds the model's " +
                        std::to_string(dims.discriminator.max_pos) + " positions");
    Tensor<std::int32_t> input({1, T}), mask = Tensor<std::int32_t>::ones({1, T});
    std::copy(ids.begin(), ids.end(), input.data());
    const Tensor<float> logits = logits_of(input, mask);
    json::Array jids, jtokens, jlogits, jprobs;
    if (!args.flag("json")) std::printf("%-20s %8s %12s\n", "token", "id", "P(replaced)");
    for (index_t t = 0; t < T; ++t) {
      const double logit = logits.at(0, t), p = 1.0 / (1.0 + std::exp(-logit));
      if (args.flag("json")) {
        jids.push_back(ids[std::size_t(t)]);
        jtokens.push_back(vocab.token(ids[std::size_t(t)]));
        jlogits.push_back(logit);
        jprobs.push_back(p);
      } else {
        std::printf("%-20s %8d %12.4f\n", vocab.token(ids[std::size_t(t)]).c_str(), ids[std::size_t(t)], p);
      }
    }
    if (args.flag("json"))
      results.push_back(json::Object{{"tokens", jtokens}, {"ids", jids}, {"logits", jlogits}, {"probabilities", jprobs}});
    else
      std::printf("\n");
  }
  if (args.flag("json")) std::printf("%s\n", json::Value(results).dump().c_str());
  return 0;
}

}  // namespace cli
