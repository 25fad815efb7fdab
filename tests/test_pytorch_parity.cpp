// Reproduces one ELECTRA forward/backward computed by PyTorch in HuggingFace's layout
// (tests/fixtures/pytorch-parity, see its README): discriminator logits, generator
// predictions at the masked positions, both losses, and the gradient of the total loss
// for every parameter. Like llm.c's check against its PyTorch debug state.
#include <electra/io/json.hpp>
#include <electra/io/weights.hpp>
#include <electra/model/electra.hpp>
#include <electra/ops/bce_with_logits.hpp>
#include <electra/ops/cross_entropy.hpp>
#include <electra/ops/arithmetic.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "helpers.hpp"

using namespace electra;

namespace {
const std::string kDir = std::string(ELECTRA_TEST_FIXTURES) + "/pytorch-parity/";

std::vector<std::vector<std::int32_t>> read_rows(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot open " << path);
  std::vector<std::vector<std::int32_t>> rows;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    rows.emplace_back();
    for (std::int32_t v; ls >> v;) rows.back().push_back(v);
  }
  return rows;
}

model::EncoderDims dims_from(const json::Value& c) {
  model::EncoderDims d;
  d.vocab = c.at("vocab_size").as_int();
  d.embed = c.at("embedding_size").as_int();
  d.hidden = c.at("hidden_size").as_int();
  d.layers = c.at("num_hidden_layers").as_int();
  d.heads = c.at("num_attention_heads").as_int();
  d.ffn = c.at("intermediate_size").as_int();
  d.max_pos = c.at("max_position_embeddings").as_int();
  d.type_vocab = c.at("type_vocab_size").as_int();
  d.layer_norm_eps = c.at("layer_norm_eps").as_double();
  return d;
}

// Pads rows with 0 ([PAD]) to the longest; returns ids and the attention mask.
std::pair<Tensor<std::int32_t>, Tensor<std::int32_t>> pad(const std::vector<std::vector<std::int32_t>>& rows) {
  index_t T = 0;
  for (const auto& r : rows) T = std::max<index_t>(T, index_t(r.size()));
  auto ids = Tensor<std::int32_t>::zeros({index_t(rows.size()), T}), mask = ids.clone();
  for (std::size_t b = 0; b < rows.size(); ++b)
    for (std::size_t t = 0; t < rows[b].size(); ++t) {
      ids.at(index_t(b), index_t(t)) = rows[b][t];
      mask.at(index_t(b), index_t(t)) = 1;
    }
  return {ids, mask};
}

std::vector<std::int32_t> ints(const json::Value& a) {
  std::vector<std::int32_t> v;
  for (const auto& x : a.as_array()) v.push_back(std::int32_t(x.as_int()));
  return v;
}

double norm(const Tensor<float>& t) {
  double s = 0;
  for (index_t i = 0; i < t.numel(); ++i) s += double(t.flat(i)) * t.flat(i);
  return std::sqrt(s);
}
}  // namespace

TEST_CASE("electra reproduces PyTorch's ELECTRA forward, losses and every gradient") {
  std::ifstream json_in(kDir + "expected.json");
  REQUIRE(json_in);
  const std::string text((std::istreambuf_iterator<char>(json_in)), std::istreambuf_iterator<char>());
  const json::Value expected = json::parse(text, "expected.json");

  const model::ElectraDims dims{dims_from(expected.at("discriminator_config")),
                                dims_from(expected.at("generator_config"))};
  Rng rng(0);
  model::ElectraModel<float> m(dims, rng);
  const io::SafetensorsFile weights(kDir + "weights.safetensors");
  io::load_parameters(weights, m.parameters());

  const auto [ids, input_mask] = pad(read_rows(kDir + "ids.txt"));
  const auto mask_rows = read_rows(kDir + "mask.txt");
  const auto& sequences = expected.at("sequences").as_array();
  const index_t B = ids.shape()[0], T = ids.shape()[1];
  REQUIRE(index_t(sequences.size()) == B);

  // 1. Discriminator logits on the ids as given.
  const Var<float> disc = m.discriminate(ids, {}, input_mask, rng, false);
  double worst = 0;
  for (index_t b = 0; b < B; ++b) {
    const auto& want = sequences[std::size_t(b)].at("disc_logits").as_array();
    for (std::size_t t = 0; t < want.size(); ++t)
      worst = std::max(worst, std::abs(double(disc.value().at(b, index_t(t))) - want[t].as_double()));
  }
  INFO("max |discriminator logit difference| = " << worst);
  CHECK(worst < 2e-5);

  // 2. Generator on the masked ids, predictions at every [MASK]; MLM loss over the mask pattern.
  auto masked = ids.clone();
  index_t N = 1;
  for (const auto& r : mask_rows) N = std::max<index_t>(N, index_t(r.size()));
  auto positions = Tensor<std::int32_t>::zeros({B, N});
  auto labels = Tensor<std::int32_t>::full({B * N}, ops::kIgnoreIndex);
  for (index_t b = 0; b < B; ++b)
    for (std::size_t k = 0; k < mask_rows[std::size_t(b)].size(); ++k) {
      const std::int32_t p = mask_rows[std::size_t(b)][k];
      positions.at(b, index_t(k)) = p;
      labels.at(b * N + index_t(k)) = ids.at(b, p);
      masked.at(b, p) = 103;
    }
  for (index_t b = 0; b < B; ++b)
    CHECK(std::vector<std::int32_t>(masked.data() + b * T, masked.data() + b * T + index_t(sequences[std::size_t(b)].at("masked_input_ids").as_array().size())) ==
          ints(sequences[std::size_t(b)].at("masked_input_ids")));
  const Var<float> gen_logits = m.generate(masked, {}, input_mask, positions, rng, false);
  const Var<float> mlm = ops::cross_entropy(gen_logits, labels);

  // Every [MASK] position's top-5 logits, logsumexp and top-1, from one generator pass at all
  // [MASK] positions (a literal [MASK] in the input included).
  index_t M = 1;
  for (const auto& seq : sequences) M = std::max<index_t>(M, index_t(seq.at("gen_mask_predictions").as_array().size()));
  auto all_masks = Tensor<std::int32_t>::zeros({B, M});
  for (index_t b = 0; b < B; ++b) {
    const auto& preds = sequences[std::size_t(b)].at("gen_mask_predictions").as_array();
    for (std::size_t j = 0; j < preds.size(); ++j) all_masks.at(b, index_t(j)) = std::int32_t(preds[j].at("pos").as_int());
  }
  Tensor<float> rows;
  {
    NoGradGuard no_grad;
    rows = m.generate(masked, {}, input_mask, all_masks, rng, false).value();
  }
  const index_t V = rows.shape()[1];
  double worst_logit = 0;
  int top1_agree = 0, predictions = 0;
  for (index_t b = 0; b < B; ++b) {
    const auto& preds = sequences[std::size_t(b)].at("gen_mask_predictions").as_array();
    for (std::size_t j = 0; j < preds.size(); ++j) {
      const float* row = rows.data() + (b * M + index_t(j)) * V;
      const auto top_ids = ints(preds[j].at("top5_ids"));
      const auto& top_logits = preds[j].at("top5_logits").as_array();
      for (std::size_t k = 0; k < top_ids.size(); ++k)
        worst_logit = std::max(worst_logit, std::abs(double(row[top_ids[k]]) - top_logits[k].as_double()));
      const index_t best = index_t(std::max_element(row, row + V) - row);
      double lse = 0;
      for (index_t v = 0; v < V; ++v) lse += std::exp(double(row[v]) - row[best]);
      CHECK(row[best] + std::log(lse) == doctest::Approx(preds[j].at("logsumexp").as_double()).epsilon(1e-5));
      top1_agree += best == top_ids[0];
      ++predictions;
    }
  }
  INFO("max |generator logit difference| = " << worst_logit);
  CHECK(worst_logit < 2e-5);
  CHECK(top1_agree == predictions);

  // 3. Discriminator on the corrupted ids; RTD loss over every real token.
  auto corrupted = ids.clone();
  auto rtd_labels = Tensor<float>::zeros({B, T});
  for (index_t b = 0; b < B; ++b) {
    const auto c = ints(sequences[std::size_t(b)].at("corrupted_ids"));
    const auto l = ints(sequences[std::size_t(b)].at("rtd_labels"));
    for (std::size_t t = 0; t < c.size(); ++t) {
      corrupted.at(b, index_t(t)) = c[t];
      rtd_labels.at(b, index_t(t)) = float(l[t]);
    }
  }
  const Var<float> disc_c = m.discriminate(corrupted, {}, input_mask, rng, false);
  const Var<float> rtd = ops::bce_with_logits(disc_c, rtd_labels, model::key_mask_from<float>(input_mask));
  const Var<float> total = ops::add(mlm, ops::scale(rtd, 50.0f));

  const auto& losses = expected.at("losses");
  CHECK(mlm.item() == doctest::Approx(losses.at("mlm").as_double()).epsilon(1e-5));
  CHECK(rtd.item() == doctest::Approx(losses.at("rtd").as_double()).epsilon(1e-5));
  CHECK(total.item() == doctest::Approx(losses.at("total").as_double()).epsilon(1e-5));

  // 4. Every gradient, relative to its tensor's norm.
  total.backward();
  const io::SafetensorsFile grads(kDir + "grads.safetensors");
  double sq = 0;
  int compared = 0;
  for (const auto& p : m.parameters()) {
    REQUIRE_MESSAGE(p.var.has_grad(), p.name << " received no gradient");
    const Tensor<float> want = grads.read<float>(p.name);
    const Tensor<float> diff = eval(p.var.grad() - want);
    const double wn = norm(want), dn = norm(diff);
    CHECK_MESSAGE(dn <= 1e-4 * wn + 1e-6, p.name << ": |ours - torch| = " << dn << ", |torch| = " << wn);
    sq += norm(p.var.grad()) * norm(p.var.grad());
    ++compared;
  }
  CHECK(compared == int(grads.size()));
  CHECK(std::sqrt(sq) == doctest::Approx(expected.at("grad_global_norm").as_double()).epsilon(1e-4));
}
