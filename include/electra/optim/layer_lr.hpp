// Layer-wise learning-rate decay, ELECTRA's _get_layer_lrs (model/optimization.py), on
// HuggingFace parameter names:
//   "electra.embeddings." and "electra.embeddings_project."  → depth 0
//   "electra.encoder.layer.{i}."                             → depth i + 1
//   anything else (task heads, generator/discriminator heads) → the head depth
// and lr(param) = lr · decay^(head − depth).
//
// The official head depth is n_layers + 2, so depth n_layers + 1 is never used: the top
// encoder layer gets decay² relative to the head, one level is skipped. That is the default
// (it is what the published fine-tuning numbers used); clean = true puts the head at
// n_layers + 1 so the levels are contiguous.
//
// A name that matches no rule is the head. The official code instead raises "No learning
// rate specified for variable"; treating it as the head keeps new heads at the full rate.
// Rules match at a name-component boundary (start of the name or after a '.'), so a prefixed
// copy such as "generator.electra.encoder.layer.0.x" maps like the official substring test.
#pragma once
#include <cmath>
#include <cstddef>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../nn/parameter.hpp"

namespace electra::optim {

inline int head_depth(int n_layers, bool clean = false) { return clean ? n_layers + 1 : n_layers + 2; }

namespace detail {
// Position just past `key` where it occurs at a component boundary, or npos.
inline std::size_t find_component(std::string_view name, std::string_view key) {
  for (std::size_t pos = name.find(key); pos != std::string_view::npos; pos = name.find(key, pos + 1))
    if (pos == 0 || name[pos - 1] == '.') return pos + key.size();
  return std::string_view::npos;
}
}  // namespace detail

// The depth of a parameter in the layer-wise decay ladder.
inline int layer_depth(std::string_view name, int n_layers, bool clean = false) {
  ELECTRA_CHECK(n_layers >= 0, value_error, "layer_depth: n_layers must be >= 0, got ", n_layers);
  constexpr auto npos = std::string_view::npos;
  if (detail::find_component(name, "electra.embeddings.") != npos ||
      detail::find_component(name, "electra.embeddings_project.") != npos)
    return 0;
  const std::size_t at = detail::find_component(name, "electra.encoder.layer.");
  if (at == npos) return head_depth(n_layers, clean);
  // Parse the layer index: digits, then '.'.
  std::size_t end = at;
  long layer = 0;
  while (end < name.size() && name[end] >= '0' && name[end] <= '9' && end - at < 9)
    layer = layer * 10 + (name[end++] - '0');
  ELECTRA_CHECK(end > at && end < name.size() && name[end] == '.', value_error, "parameter '", name,
                "': expected a layer index after 'encoder.layer.'");
  ELECTRA_CHECK(layer < n_layers, value_error, "parameter '", name, "' is in encoder layer ", layer,
                " but the model has n_layers = ", n_layers);
  return int(layer) + 1;
}

// decay^(head − depth) for each parameter, in list order (for AdamW's lr scales).
template <class T>
std::vector<double> layerwise_lr_scales(const nn::ParameterList<T>& params, double decay, int n_layers,
                                        bool clean = false) {
  ELECTRA_CHECK(std::isfinite(decay) && decay > 0, value_error,
                "layerwise_lr_scales: decay must be a finite value > 0, got ", decay);
  const int top = head_depth(n_layers, clean);
  std::vector<double> scales;
  scales.reserve(params.size());
  for (const auto& p : params) scales.push_back(std::pow(decay, double(top - layer_depth(p.name, n_layers, clean))));
  return scales;
}

}  // namespace electra::optim
