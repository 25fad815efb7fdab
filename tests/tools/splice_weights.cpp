// splice_weights BASE.safetensors DONOR.safetensors OUT.safetensors SUBSTRING
// Writes BASE's tensors, except that every tensor whose name contains SUBSTRING comes from
// DONOR (same name, same shape). For ablations such as "pretrained embeddings, random layers"
// (docs/results.md): BASE from `electra init`, DONOR a pretrained discriminator, SUBSTRING
// "embeddings" or "encoder.layer". Prints how many tensors came from the donor.
#include <electra/io/safetensors.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: splice_weights BASE DONOR OUT SUBSTRING\n");
    return 2;
  }
  try {
    const electra::io::SafetensorsFile base(argv[1]), donor(argv[2]);
    electra::io::SafetensorsWriter out;
    for (const auto& [key, value] : base.metadata()) out.set_metadata(key, value);
    int spliced = 0;
    for (const std::string& name : base.names()) {
      const bool from_donor = name.find(argv[4]) != std::string::npos;
      electra::Tensor<float> t = (from_donor ? donor : base).read<float>(name);
      if (from_donor && t.shape() != base.info(name).shape) {
        std::fprintf(stderr, "splice_weights: '%s' has shape %s in %s but %s in %s\n", name.c_str(),
                     t.shape().to_string().c_str(), argv[2], base.info(name).shape.to_string().c_str(), argv[1]);
        return 1;
      }
      out.add(name, t);
      spliced += from_donor;
    }
    out.write(argv[3]);
    std::printf("%d of %zu tensors from %s\n", spliced, base.size(), argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "splice_weights: %s\n", e.what());
    return 1;
  }
  return 0;
}
