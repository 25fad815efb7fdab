// Model weights <-> safetensors files, by parameter name.
//   save_parameters(path, params, metadata)   F32 tensors, names as given (HuggingFace's layout
//                                             for discriminator_parameters()/generator_parameters())
//   load_parameters(file, params, options)    copies every named tensor into the model after
//                                             checking that the file has exactly the expected
//                                             names and shapes; F32, F16, BF16 and F64 are read.
// Errors name the file, the tensor and both shapes.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "../nn/parameter.hpp"
#include "safetensors.hpp"

namespace electra::io {

template <class T>
void save_parameters(const std::filesystem::path& path, const nn::ParameterList<T>& params,
                     const std::map<std::string, std::string>& metadata = {}) {
  SafetensorsWriter w;
  for (const auto& p : params) {
    if constexpr (std::is_same_v<T, float>)
      w.add(p.name, p.var.value());
    else
      w.add(p.name, p.var.value(), StoreAs::F32);
  }
  w.set_metadata("format", "pt");  // what HuggingFace's loaders look for
  for (const auto& [k, v] : metadata) w.set_metadata(k, v);
  w.write(path);
}

struct LoadOptions {
  std::string prefix;                    // prepended to every parameter name when looking it up
  std::vector<std::string> ignore_suffixes = {".position_ids"};  // tensors in the file we skip
  std::vector<std::string> ignore_names;  // exact names in the file we skip (e.g. a tied weight)
  bool allow_unexpected = false;          // tensors in the file that the model does not have
};

template <class T>
void load_parameters(const SafetensorsFile& file, const nn::ParameterList<T>& params, const LoadOptions& o = {}) {
  std::set<std::string> wanted;
  std::vector<std::string> missing;
  for (const auto& p : params) {
    const std::string name = o.prefix + p.name;
    wanted.insert(name);
    if (!file.contains(name)) missing.push_back(name);
  }
  auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < 5; ++i) s += (i ? ", '" : "'") + names[i] + "'";
    if (names.size() > 5) s += electra::detail::concat(" and ", names.size() - 5, " more");
    return s;
  };
  ELECTRA_CHECK(missing.empty(), io_error, file.label(), ": missing ", missing.size(), " tensor(s) the model needs: ",
                list(missing));
  if (!o.allow_unexpected) {
    std::vector<std::string> unexpected;
    for (const std::string& name : file.names()) {
      if (wanted.count(name)) continue;
      bool skip = false;
      for (const auto& s : o.ignore_suffixes)
        skip = skip || (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0);
      for (const auto& n : o.ignore_names) skip = skip || name == n;
      if (!skip) unexpected.push_back(name);
    }
    ELECTRA_CHECK(unexpected.empty(), io_error, file.label(), ": ", unexpected.size(),
                  " unexpected tensor(s) the model does not have: ", list(unexpected));
  }
  for (const auto& p : params) {
    const std::string name = o.prefix + p.name;
    const SafetensorsTensorInfo info = file.info(name);
    ELECTRA_CHECK(info.shape == p.var.shape(), io_error, file.label(), ": tensor '", name, "' has shape ",
                  info.shape.to_string(), ", the model expects ", p.var.shape().to_string());
  }
  for (const auto& p : params) p.var.value().copy_from(file.read<T>(o.prefix + p.name));
}

}  // namespace electra::io
