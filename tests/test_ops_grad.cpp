// Every differentiable op: a double-precision finite-difference gradient check (random
// shapes, odd sizes, broadcasting) and a check that backward accumulates into gradients
// that already hold values.
#include <electra/autograd/gradcheck.hpp>
#include <electra/electra.hpp>

#include "helpers.hpp"

using namespace electra;
using V = Var<double>;
using Vs = std::vector<V>;

namespace {
// Both checks for one op on one set of inputs.
template <class F>
void check_op(const std::string& what, F f, const std::vector<Tensor<double>>& inputs, GradcheckOptions o = {}) {
  INFO(what);
  const GradcheckResult g = gradcheck(f, inputs, o);
  CHECK_MESSAGE(g.ok, "gradient check failed:\n" << g.message);
  const GradcheckResult a = check_accumulates(f, inputs);
  CHECK_MESSAGE(a.ok, "backward does not accumulate:\n" << a.message);
}

// A few random shapes with extents in [1, max_extent], fixed by the seed.
std::vector<Shape> random_shapes(std::uint64_t seed, int rank, int count, index_t max_extent = 6) {
  Rng rng(seed);
  std::vector<Shape> shapes;
  for (int c = 0; c < count; ++c) {
    Shape s;
    for (int r = 0; r < rank; ++r) s.push_back(1 + index_t(rng.below(std::uint64_t(max_extent))));
    shapes.push_back(s);
  }
  return shapes;
}

Tensor<double> rnd(const Shape& s, std::uint64_t seed, double lo = -1, double hi = 1) {
  return test::random_tensor<double>(s, seed, lo, hi);
}
}  // namespace

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting") {
  const std::pair<Shape, Shape> cases[] = {
      {{3, 5}, {3, 5}}, {{3, 5}, {5}}, {{3, 5}, {3, 1}}, {{4, 1, 3}, {2, 1}}, {{1}, {2, 3}}, {{7}, {7}}};
  int seed = 0;
  for (const auto& [sa, sb] : cases) {
    const auto a = rnd(sa, ++seed), b = rnd(sb, ++seed, 0.5, 1.5);  // b away from 0 for div
    const std::string shapes = sa.to_string() + " " + sb.to_string();
    check_op("add " + shapes, [](const Vs& v) { return ops::add(v[0], v[1]); }, {a, b});
    check_op("sub " + shapes, [](const Vs& v) { return ops::sub(v[0], v[1]); }, {a, b});
    check_op("mul " + shapes, [](const Vs& v) { return ops::mul(v[0], v[1]); }, {a, b});
    check_op("div " + shapes, [](const Vs& v) { return ops::div(v[0], v[1]); }, {a, b});
  }
}

TEST_CASE("gradcheck: scale") {
  for (const Shape& s : random_shapes(1, 2, 3))
    check_op("scale " + s.to_string(), [](const Vs& v) { return ops::scale(v[0], -2.5); }, {rnd(s, 1)});
}

TEST_CASE("gradcheck: matmul, plain and batched") {
  check_op("matmul [3,4]x[4,5]", [](const Vs& v) { return ops::matmul(v[0], v[1]); }, {rnd({3, 4}, 1), rnd({4, 5}, 2)});
  check_op("matmul [1,7]x[7,1]", [](const Vs& v) { return ops::matmul(v[0], v[1]); }, {rnd({1, 7}, 3), rnd({7, 1}, 4)});
  check_op("matmul [2,3,4]x[2,4,5]", [](const Vs& v) { return ops::matmul(v[0], v[1]); },
           {rnd({2, 3, 4}, 5), rnd({2, 4, 5}, 6)});
}

TEST_CASE("gradcheck: linear with and without bias, any leading shape") {
  check_op("linear [2,3,4]->5", [](const Vs& v) { return ops::linear(v[0], v[1], v[2]); },
           {rnd({2, 3, 4}, 1), rnd({5, 4}, 2), rnd({5}, 3)});
  check_op("linear [7,3]->1 no bias", [](const Vs& v) { return ops::linear(v[0], v[1]); },
           {rnd({7, 3}, 4), rnd({1, 3}, 5)});
}

TEST_CASE("gradcheck: embedding with repeated ids") {
  // No padding_idx here: the padding row's gradient is zero by convention, not by calculus
  // (test_ops_values.cpp checks that rule).
  const auto ids = Tensor<std::int32_t>::from({2, 3}, {1, 4, 1, 0, 6, 0});
  check_op("embedding [7,3]", [&](const Vs& v) { return ops::embedding(v[0], ids); }, {rnd({7, 3}, 1)});
  check_op("embedding [7,5], padding id unused", [&](const Vs& v) { return ops::embedding(v[0], ids, 5); },
           {rnd({7, 5}, 2)});
}

TEST_CASE("gradcheck: layer_norm (eps 1e-12 and 1e-5)") {
  for (const Shape& s : random_shapes(3, 2, 3, 7)) {
    const Shape p{s.back()};
    if (s.back() < 2) continue;  // one element normalises to a constant
    check_op("layer_norm " + s.to_string(), [](const Vs& v) { return ops::layer_norm(v[0], v[1], v[2]); },
             {rnd(s, 1, -2, 2), rnd(p, 2, 0.5, 1.5), rnd(p, 3)});
  }
  check_op("layer_norm eps 1e-5", [](const Vs& v) { return ops::layer_norm(v[0], v[1], v[2], 1e-5); },
           {rnd({2, 3, 5}, 4), rnd({5}, 5), rnd({5}, 6)});
}

TEST_CASE("gradcheck: gelu and tanh") {
  for (const Shape& s : random_shapes(4, 2, 3)) {
    check_op("gelu " + s.to_string(), [](const Vs& v) { return ops::gelu(v[0]); }, {rnd(s, 1, -3, 3)});
    check_op("tanh " + s.to_string(), [](const Vs& v) { return ops::tanh(v[0]); }, {rnd(s, 2, -2, 2)});
  }
}

TEST_CASE("gradcheck: softmax and log_softmax over the last axis") {
  for (const Shape& s : {Shape{4, 6}, Shape{2, 3, 5}, Shape{1, 1}}) {
    check_op("softmax " + s.to_string(), [](const Vs& v) { return ops::softmax(v[0]); }, {rnd(s, 1, -3, 3)});
    check_op("log_softmax " + s.to_string(), [](const Vs& v) { return ops::log_softmax(v[0]); }, {rnd(s, 2, -3, 3)});
  }
}

TEST_CASE("gradcheck: cross_entropy with ignored rows and row weights") {
  const auto targets = Tensor<std::int32_t>::from({5}, {2, ops::kIgnoreIndex, 0, 3, 3});
  const auto weights = Tensor<double>::from({5}, {1.0, 1.0, 0.5, 2.0, 0.0});
  check_op("cross_entropy", [&](const Vs& v) { return ops::cross_entropy(v[0], targets); }, {rnd({5, 4}, 1, -2, 2)});
  check_op("cross_entropy weighted", [&](const Vs& v) { return ops::cross_entropy(v[0], targets, weights); },
           {rnd({5, 4}, 2, -2, 2)});
}

TEST_CASE("gradcheck: bce_with_logits with a mask") {
  const auto labels = Tensor<double>::from({2, 5}, {1, 0, 0, 1, 1, 0, 1, 0, 0, 1});
  const auto mask = Tensor<double>::from({2, 5}, {1, 1, 1, 0, 1, 1, 1, 0, 0, 1});
  check_op("bce", [&](const Vs& v) { return ops::bce_with_logits(v[0], labels); }, {rnd({2, 5}, 1, -3, 3)});
  check_op("bce masked", [&](const Vs& v) { return ops::bce_with_logits(v[0], labels, mask); }, {rnd({2, 5}, 2, -3, 3)});
}

TEST_CASE("gradcheck: dropout with a fixed key") {
  check_op("dropout", [](const Vs& v) {
    Rng rng(17);  // the same mask on every evaluation
    return ops::dropout(v[0], 0.3, rng, true);
  }, {rnd({4, 9}, 1)});
}

TEST_CASE("gradcheck: multi-head attention with padding mask and dropout") {
  const auto mask = Tensor<double>::from({2, 4}, {1, 1, 1, 1, 1, 1, 0, 0});
  check_op("attention 2 heads", [&](const Vs& v) {
    Rng rng(3);
    return ops::attention(v[0], v[1], v[2], 2, mask, 0.0, rng, false);
  }, {rnd({2, 4, 6}, 1), rnd({2, 4, 6}, 2), rnd({2, 4, 6}, 3)});
  check_op("attention 3 heads, dropout", [&](const Vs& v) {
    Rng rng(4);
    return ops::attention(v[0], v[1], v[2], 3, Tensor<double>(), 0.2, rng, true);
  }, {rnd({1, 5, 6}, 4), rnd({1, 5, 6}, 5), rnd({1, 5, 6}, 6)});
  // q = k = v: one input used three times, so its gradient sums three paths.
  check_op("self-attention on one tensor", [&](const Vs& v) {
    Rng rng(5);
    return ops::attention(v[0], v[0], v[0], 1, mask, 0.0, rng, false);
  }, {rnd({2, 4, 3}, 7)});
}

TEST_CASE("gradcheck: reshape, permute, transpose, slice, concat, gather_rows") {
  check_op("reshape", [](const Vs& v) { return ops::reshape(v[0], {3, 2, 2}); }, {rnd({4, 3}, 1)});
  check_op("permute", [](const Vs& v) { return ops::permute(v[0], {2, 0, 1}); }, {rnd({2, 3, 4}, 2)});
  check_op("transpose", [](const Vs& v) { return ops::transpose(v[0]); }, {rnd({3, 5}, 3)});
  check_op("slice", [](const Vs& v) { return ops::slice(v[0], 1, 1, 2); }, {rnd({3, 4}, 4)});
  check_op("concat axis 1", [](const Vs& v) { return ops::concat({v[0], v[1], v[0]}, 1); },
           {rnd({2, 3}, 5), rnd({2, 1}, 6)});
  check_op("concat axis 0", [](const Vs& v) { return ops::concat({v[0], v[1]}, 0); }, {rnd({2, 3}, 7), rnd({1, 3}, 8)});
  const auto idx = Tensor<std::int32_t>::from({4}, {2, 0, 2, 1});
  check_op("gather_rows", [&](const Vs& v) { return ops::gather_rows(v[0], idx); }, {rnd({3, 5}, 9)});
  // A view op feeding a matmul: gradients must land in the right elements of the view.
  check_op("permute then matmul", [](const Vs& v) { return ops::matmul(ops::transpose(v[0]), v[1]); },
           {rnd({4, 3}, 10), rnd({4, 2}, 11)});
}

TEST_CASE("gradcheck: sum and mean") {
  check_op("sum", [](const Vs& v) { return ops::sum(v[0]); }, {rnd({3, 4}, 1)});
  check_op("mean", [](const Vs& v) { return ops::mean(v[0]); }, {rnd({5}, 2)});
}

TEST_CASE("gradcheck: a small transformer block end to end") {
  // embeddings -> layer norm -> attention -> residual -> gelu MLP -> tanh -> loss
  const auto ids = Tensor<std::int32_t>::from({2, 3}, {1, 2, 0, 3, 1, 0});
  const auto mask = Tensor<double>::from({2, 3}, {1, 1, 0, 1, 1, 0});
  check_op("block", [&](const Vs& v) {
    Rng rng(1);
    V h = ops::layer_norm(ops::embedding(v[0], ids), v[1], v[2]);
    V a = ops::attention(ops::linear(h, v[3]), h, h, 2, mask, 0.1, rng, true);
    V r = ops::add(h, a);
    return ops::mean(ops::tanh(ops::linear(ops::gelu(ops::linear(r, v[4])), v[5])));
  }, {rnd({4, 4}, 1), rnd({4}, 2, 0.5, 1.5), rnd({4}, 3), rnd({4, 4}, 4), rnd({6, 4}, 5), rnd({2, 6}, 6)});
}
