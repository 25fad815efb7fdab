// Trains one weight with the installed library and checks that it learned.
#include <electra/electra.hpp>
#include <iostream>

int main() {
  using namespace electra;
  const auto w = Var<float>::parameter(Tensor<float>::zeros({1, 1}));
  const Var<float> x(Tensor<float>::from({4, 1}, {1, 2, 3, 4}));
  const auto target = Tensor<float>::from({4, 1}, {2, 4, 6, 8});
  for (int step = 0; step < 200; ++step) {
    const Var<float> err = ops::sub(ops::linear(x, w), Var<float>(target));
    ops::mean(ops::mul(err, err)).backward();
    NoGradGuard no_grad;
    assign(w.value(), w.value() - 0.02f * w.grad());
    w.zero_grad();
  }
  std::cout << "consumer: learned w = " << w.value().item() << " (" << threading_report() << ")\n";
  return std::abs(w.value().item() - 2.0f) < 1e-3f ? 0 : 1;
}
