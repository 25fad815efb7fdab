// compare_weights A.safetensors B.safetensors TOLERANCE
// Prints the largest absolute difference over every tensor of two weight files with the same
// names and shapes; exits 1 when it exceeds TOLERANCE (or the files differ in layout).
#include <electra/io/safetensors.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: compare_weights A.safetensors B.safetensors TOLERANCE\n");
    return 2;
  }
  try {
    const electra::io::SafetensorsFile a(argv[1]), b(argv[2]);
    const double tol = std::atof(argv[3]);
    if (a.names() != b.names()) {
      std::fprintf(stderr, "the files hold different tensors\n");
      return 1;
    }
    double worst = 0;
    std::string where;
    for (const std::string& name : a.names()) {
      const auto x = a.read<double>(name), y = b.read<double>(name);
      if (x.shape() != y.shape()) {
        std::fprintf(stderr, "%s: shapes %s and %s\n", name.c_str(), x.shape().to_string().c_str(),
                     y.shape().to_string().c_str());
        return 1;
      }
      for (electra::index_t i = 0; i < x.numel(); ++i) {
        const double d = std::abs(x.flat(i) - y.flat(i));
        if (!(d <= worst)) worst = d, where = name;
      }
    }
    std::printf("max |difference| %.3g (%s) over %zu tensors\n", worst, where.c_str(), a.names().size());
    return worst <= tol ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_weights: %s\n", e.what());
    return 2;
  }
}
