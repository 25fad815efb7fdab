// The configs compiled into the electra program, by name, and matching a weights file to one.
#pragma once
#include <electra/model/config.hpp>
#include <string>

#include "args.hpp"

namespace cli {

struct NamedConfig {
  const char* name;
  electra::model::ElectraDims dims;
};

inline std::vector<NamedConfig> compiled_configs() {
  using namespace electra;
  return {{config::Tiny::name, model::electra_dims_of<config::Tiny>()},
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
