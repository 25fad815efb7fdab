// The tape: order, accumulation across calls, no_grad, freeing, errors, and a training
// step that allocates nothing once warmed up.
#include <electra/electra.hpp>

#include "helpers.hpp"

using namespace electra;
using V = Var<double>;

TEST_CASE("backward accumulates across calls until zero_grad") {
  const auto w = V::parameter(Tensor<double>::from({2}, {1, 2}));
  const V x(Tensor<double>::from({2}, {3, 4}));
  ops::sum(ops::mul(w, x)).backward();
  CHECK(w.grad().to_vector() == std::vector<double>{3, 4});
  ops::sum(ops::mul(w, x)).backward();
  CHECK(w.grad().to_vector() == std::vector<double>{6, 8});
  w.zero_grad();
  CHECK(w.grad().to_vector() == std::vector<double>{0, 0});
  CHECK(!x.has_grad());  // inputs that need no gradient never get one
}

TEST_CASE("a Var used twice receives both gradients") {
  const auto w = V::parameter(Tensor<double>::from({1}, {3}));
  ops::sum(ops::mul(w, w)).backward();  // d(w²)/dw = 2w
  CHECK(w.grad().item() == 6);
}

TEST_CASE("no_grad records nothing and its results need no gradient") {
  const auto w = V::parameter(Tensor<double>::ones({3}));
  const std::size_t before = tape().size();
  {
    NoGradGuard guard;
    const V y = ops::gelu(w);
    CHECK(!y.requires_grad());
    CHECK(tape().size() == before);
  }
  CHECK(grad_enabled());
  const V y = ops::gelu(w);
  CHECK(tape().size() == before + 1);
  tape().clear();
}

TEST_CASE("the tape is freed by backward, a second backward is an error unless retained") {
  const auto w = V::parameter(Tensor<double>::ones({2}));
  const V loss = ops::sum(ops::scale(w, 2.0));
  loss.backward(/*retain_graph=*/true);
  loss.backward();
  CHECK(w.grad().to_vector() == std::vector<double>{4, 4});
  CHECK(tape().size() == 0);
  test::check_throws_with<autograd_error>([&] { loss.backward(); }, {"freed tape"});
}

TEST_CASE("backward on a non-scalar needs a seed of its shape") {
  const auto w = V::parameter(Tensor<double>::ones({2, 2}));
  const V y = ops::scale(w, 3.0);
  test::check_throws_with<autograd_error>([&] { y.backward(true); }, {"non-scalar", "[2,2]", "seed"});
  test::check_throws_with<autograd_error>([&] { y.backward(Tensor<double>::ones({4}), true); }, {"[4]", "[2,2]"});
  y.backward(Tensor<double>::from({2, 2}, {1, 2, 3, 4}));
  CHECK(w.grad().to_vector() == std::vector<double>{3, 6, 9, 12});
}

TEST_CASE("backward on a Var that needs no gradient is an error") {
  const V x(Tensor<double>::ones({1}));
  test::check_throws_with<autograd_error>([&] { ops::scale(x, 2.0).backward(); }, {"does not require grad"});
}

TEST_CASE("a warmed-up training step allocates nothing from the system") {
  // A tiny attention classifier: embedding -> attention -> layer norm -> linear -> cross entropy.
  Rng init(1);
  auto param = [&](const Shape& s) { return Var<float>::parameter(test::random_tensor<float>(s, init.next_u64(), -0.1, 0.1)); };
  const auto table = param({16, 8}), wq = param({8, 8}), gamma = param({8}), beta = param({8}), head = param({3, 8});
  const std::vector<Var<float>> params = {table, wq, gamma, beta, head};
  const auto ids = Tensor<std::int32_t>::from({2, 4}, {1, 5, 7, 0, 3, 3, 2, 0});
  const auto mask = Tensor<float>::from({2, 4}, {1, 1, 1, 0, 1, 1, 1, 0});
  const auto labels = Tensor<std::int32_t>::from({8}, {0, 1, 2, ops::kIgnoreIndex, 2, 1, 0, ops::kIgnoreIndex});
  Rng rng(2);
  auto step = [&] {
    const Var<float> h = ops::embedding(table, ids, 0);
    const Var<float> a = ops::attention(ops::linear(h, wq), h, h, 2, mask, 0.1f, rng, true);
    const Var<float> n = ops::layer_norm(ops::add(h, a), gamma, beta);
    const Var<float> logits = ops::reshape(ops::linear(ops::gelu(n), head), {8, 3});
    const Var<float> loss = ops::cross_entropy(logits, labels);
    loss.backward();
    NoGradGuard guard;
    for (const auto& p : params) {
      assign(p.value(), p.value() - 0.1f * p.grad());
      p.zero_grad();
    }
    return loss.item();
  };
  const float first = step();
  step();
  const std::size_t warmed = pool_stats().system_allocations;
  float last = 0;
  for (int i = 0; i < 5; ++i) last = step();
  CHECK(pool_stats().system_allocations == warmed);
  CHECK(last < first);  // and it learns
}
