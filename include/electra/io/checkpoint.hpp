// Training checkpoints: one safetensors file with the model's parameters (names from
// ElectraModel::parameters()), AdamW's moments ("optimizer.m.<name>", "optimizer.v.<name>")
// and, in the metadata, the step count, the RNG state and the model's sizes. Written
// atomically (temp file, fsync, rename), so a run killed mid-write keeps its last checkpoint.
#pragma once
#include <string>

#include "../train/pretrainer.hpp"
#include "weights.hpp"

namespace electra::io {

inline constexpr const char* kCheckpointFormat = "electra-checkpoint-1";

namespace detail {
inline std::string dims_text(const model::ElectraDims& d) {
  return "discriminator: " + d.discriminator.to_string() + "; generator: " + d.generator.to_string();
}
inline std::uint64_t metadata_u64(const SafetensorsFile& f, const std::string& key) {
  const auto it = f.metadata().find(key);
  ELECTRA_CHECK(it != f.metadata().end(), io_error, f.label(), ": checkpoint metadata lacks '", key, "'");
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(it->second, &used);
    ELECTRA_CHECK(used == it->second.size(), io_error, "trailing characters");
    return v;
  } catch (const std::exception&) {
    throw io_error(
        electra::detail::concat(f.label(), ": checkpoint metadata '", key, "' is not an integer: '", it->second, "'"));
  }
}
}  // namespace detail

// `extra` metadata (e.g. the data reader's cursor) is stored alongside and returned by load.
template <class T>
void save_checkpoint(const std::filesystem::path& path, const train::Pretrainer<T>& trainer,
                     const std::map<std::string, std::string>& extra = {}) {
  SafetensorsWriter w;
  const auto& params = trainer.parameters();
  auto add = [&](const std::string& name, const Tensor<T>& t) {
    if constexpr (std::is_same_v<T, float>)
      w.add(name, t);
    else
      w.add(name, t, StoreAs::F64);
  };
  for (std::size_t i = 0; i < params.size(); ++i) {
    add(params[i].name, params[i].var.value());
    add("optimizer.m." + params[i].name, trainer.optimizer().state(i).m);
    add("optimizer.v." + params[i].name, trainer.optimizer().state(i).v);
  }
  w.set_metadata("format", kCheckpointFormat);
  w.set_metadata("step", std::to_string(trainer.steps_done()));
  w.set_metadata("rng_state", std::to_string(trainer.rng().state()));
  w.set_metadata("rng_counter", std::to_string(trainer.rng().counter()));
  w.set_metadata("dims", detail::dims_text(trainer.model().dims));
  for (const auto& [k, v] : extra) w.set_metadata("extra." + k, v);
  w.write(path);
}

namespace detail {
// A training checkpoint written for a model of exactly these sizes, or an error naming both.
inline void check_checkpoint_for(const SafetensorsFile& f, const model::ElectraDims& model_dims) {
  const auto& meta = f.metadata();
  const auto fmt = meta.find("format");
  ELECTRA_CHECK(fmt != meta.end() && fmt->second == kCheckpointFormat, io_error, f.label(),
                ": not an electra training checkpoint (metadata 'format' is '",
                fmt == meta.end() ? std::string("absent") : fmt->second, "', expected '", kCheckpointFormat, "')");
  const auto dims = meta.find("dims");
  const std::string want = dims_text(model_dims);
  ELECTRA_CHECK(dims != meta.end() && dims->second == want, io_error, f.label(), ": checkpoint is for a model with ",
                dims == meta.end() ? std::string("unknown sizes") : dims->second, ", but this model has ", want);
}
}  // namespace detail

// Only the model's weights from a training checkpoint, into `m` (same sizes): no optimizer
// state, step or RNG. The start of a new run that continues pretraining, for example on a
// domain's own text (electra pretrain --init).
template <class T>
void load_checkpoint_weights(const std::filesystem::path& path, const model::ElectraModel<T>& m) {
  const SafetensorsFile f(path);
  detail::check_checkpoint_for(f, m.dims);
  LoadOptions o;
  o.allow_unexpected = true;  // the optimizer's tensors
  load_parameters(f, m.parameters(), o);
}

// Restores parameters, optimizer moments, step and RNG into `trainer`, whose model must have
// the checkpoint's sizes. Returns the `extra` metadata saved with it.
template <class T>
std::map<std::string, std::string> load_checkpoint(const std::filesystem::path& path, train::Pretrainer<T>& trainer) {
  const SafetensorsFile f(path);
  const auto& meta = f.metadata();
  detail::check_checkpoint_for(f, trainer.model().dims);
  const std::int64_t step = std::int64_t(detail::metadata_u64(f, "step"));
  const std::uint64_t rng_state = detail::metadata_u64(f, "rng_state"),
                      rng_counter = detail::metadata_u64(f, "rng_counter");

  LoadOptions o;
  o.allow_unexpected = true;  // the optimizer's tensors
  load_parameters(f, trainer.parameters(), o);
  const auto& params = trainer.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    for (const char* which : {"m", "v"}) {
      const std::string name = std::string("optimizer.") + which + "." + params[i].name;
      ELECTRA_CHECK(f.contains(name), io_error, f.label(), ": checkpoint lacks optimizer state '", name, "'");
      const Tensor<T> saved = f.read<T>(name);
      ELECTRA_CHECK(saved.shape() == params[i].var.shape(), io_error, f.label(), ": optimizer state '", name,
                    "' has shape ", saved.shape().to_string(), ", the model expects ",
                    params[i].var.shape().to_string());
      (which[0] == 'm' ? trainer.optimizer().state(i).m : trainer.optimizer().state(i).v).copy_from(saved);
    }
  }
  trainer.set_steps_done(step);
  trainer.rng().restore(rng_state, rng_counter);
  std::map<std::string, std::string> extra;
  for (const auto& [k, v] : meta)
    if (k.rfind("extra.", 0) == 0) extra[k.substr(6)] = v;
  return extra;
}

}  // namespace electra::io
