// Optimizer module: AdamW, global-norm clipping, the lr schedule and layer-wise lr decay,
// checked against hand-computed values and a double-precision reference of the official
// google-research/electra model/optimization.py.
#include <cmath>
#include <electra/optim/adamw.hpp>
#include <electra/optim/clip.hpp>
#include <electra/optim/layer_lr.hpp>
#include <electra/optim/schedule.hpp>
#include <limits>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace electra;
using optim::AdamW;
using optim::AdamWOptions;

namespace {

template <class T>
nn::NamedParameter<T> param(std::string name, Tensor<T> value) {
  return {std::move(name), nn::make_parameter(std::move(value))};
}
template <class T>
void set_grad(const Var<T>& v, const Tensor<T>& g) {
  v.impl()->grad_buffer().copy_from(g);
}
template <class T>
Tensor<T> scalar1(T x) {
  return Tensor<T>::from({1}, {x});
}

}  // namespace

// ---- AdamW -----------------------------------------------------------------------------------

TEST_CASE("one AdamW step matches the hand-computed official update, with no bias correction") {
  // m = 0.1·0.5 = 0.05; v = 0.001·0.25 = 0.00025; √v = 0.015811388300841896;
  // u = 0.05 / (0.015811388300841896 + 1e-6) = 3.1620776728166904  (bias-corrected Adam would
  // give ≈ 1: m̂ = 0.5, v̂ = 0.25).
  // decayed weight p = 1:     p ← 1 − 0.1·(u + 0.01·1)   = 0.6827922327183309
  // excluded bias p = 1:      p ← 1 − 0.1·u              = 0.683792232718331
  // excluded LayerNorm p = −2: p ← −2 − 0.1·u            = −2.316207767281669
  nn::ParameterList<double> ps = {param("electra.encoder.layer.0.intermediate.dense.weight", scalar1(1.0)),
                                  param("electra.encoder.layer.0.intermediate.dense.bias", scalar1(1.0)),
                                  param("electra.embeddings.LayerNorm.weight", scalar1(-2.0))};
  for (auto& p : ps) set_grad(p.var, scalar1(0.5));
  AdamWOptions o;
  o.weight_decay = 0.01;
  AdamW<double> opt(ps, o);
  opt.step(0.1);
  CHECK(opt.state(0).m.item() == doctest::Approx(0.05).epsilon(1e-15));
  CHECK(opt.state(0).v.item() == doctest::Approx(0.00025).epsilon(1e-15));
  CHECK(ps[0].var.item() == doctest::Approx(0.6827922327183309).epsilon(1e-14));
  CHECK(ps[1].var.item() == doctest::Approx(0.683792232718331).epsilon(1e-14));
  CHECK(ps[2].var.item() == doctest::Approx(-2.316207767281669).epsilon(1e-14));

  // The same step in float32 (the official dtype) agrees to float rounding.
  nn::ParameterList<float> pf = {param("dense.weight", scalar1(1.0f)), param("dense.bias", scalar1(1.0f))};
  for (auto& p : pf) set_grad(p.var, scalar1(0.5f));
  AdamW<float> optf(pf, o);
  optf.step(0.1);
  CHECK(pf[0].var.item() == doctest::Approx(0.6827922327183309).epsilon(1e-6));
  CHECK(pf[1].var.item() == doctest::Approx(0.683792232718331).epsilon(1e-6));
}

// The official update in double, element by element, for the reference.
struct RefAdam {
  std::vector<double> p, m, v;
  void step(const std::vector<double>& g, double lr, double wd, bool decay) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      double u = m[i] / (std::sqrt(v[i]) + 1e-6);
      if (decay) u += wd * p[i];
      p[i] -= lr * u;
    }
  }
};

TEST_CASE("two consecutive AdamW steps match a double-precision reference loop, with lr scales") {
  // 70000 elements: several chunks, above the parallel threshold.
  const Shape big{70, 1000}, small{7};
  nn::ParameterList<float> ps = {param("electra.encoder.layer.0.output.dense.weight", test::random_tensor<float>(big, 1)),
                                 param("electra.encoder.layer.0.output.dense.bias", test::random_tensor<float>(small, 2))};
  AdamWOptions o;
  o.weight_decay = 0.01;
  const std::vector<double> scales = {0.5, 2.0};
  AdamW<float> opt(ps, o, scales);
  std::vector<RefAdam> ref(2);
  for (std::size_t k = 0; k < 2; ++k) {
    const auto init = ps[k].var.value().to_vector();
    ref[k].p.assign(init.begin(), init.end());
    ref[k].m.assign(init.size(), 0.0);
    ref[k].v.assign(init.size(), 0.0);
  }
  const double lrs[2] = {1e-3, 7e-4};
  for (int s = 0; s < 2; ++s) {
    for (std::size_t k = 0; k < 2; ++k) {
      const Tensor<float> g = test::random_tensor<float>(ps[k].var.shape(), 100 + 10 * std::uint64_t(s) + k, -0.1, 0.1);
      set_grad(ps[k].var, g);
      const auto gv = g.to_vector();
      ref[k].step(std::vector<double>(gv.begin(), gv.end()), lrs[s] * scales[k], 0.01, k == 0);
    }
    opt.step(lrs[s]);
  }
  for (std::size_t k = 0; k < 2; ++k) {
    double max_p = 0, max_m = 0, max_v = 0;
    for (index_t i = 0; i < ps[k].var.value().numel(); ++i) {
      const auto j = std::size_t(i);
      max_p = std::max(max_p, std::abs(double(ps[k].var.value().data()[i]) - ref[k].p[j]));
      max_m = std::max(max_m, std::abs(double(opt.state(k).m.data()[i]) - ref[k].m[j]));
      max_v = std::max(max_v, std::abs(double(opt.state(k).v.data()[i]) - ref[k].v[j]));
    }
    CHECK(max_p < 2e-7);  // |p| ≤ 1: float rounding of p, not of the update
    CHECK(max_m < 1e-8);
    CHECK(max_v < 1e-10);
  }
}

TEST_CASE("parameters without a gradient are not updated and their state is untouched") {
  nn::ParameterList<double> ps = {param("classifier.dense.weight", scalar1(1.0)),
                                  param("generator_lm_head.bias", scalar1(3.0))};
  set_grad(ps[0].var, scalar1(0.5));  // ps[1] never received a gradient
  AdamWOptions o;
  o.weight_decay = 0.01;
  AdamW<double> opt(ps, o);
  opt.step(0.1);
  opt.step(0.1);
  CHECK(ps[0].var.item() != 1.0);
  CHECK(ps[1].var.item() == 3.0);
  CHECK(opt.state(1).m.item() == 0.0);
  CHECK(opt.state(1).v.item() == 0.0);
  CHECK_FALSE(ps[1].var.has_grad());
}

TEST_CASE("a zero learning rate moves no weight but still advances the moments, as the official step 0 does") {
  nn::ParameterList<double> ps = {param("qa_outputs.weight", scalar1(2.0))};
  set_grad(ps[0].var, scalar1(0.5));
  AdamW<double> opt(ps);
  opt.step(optim::linear_warmup_decay(0, 1e-4, 100, 10));
  CHECK(ps[0].var.item() == 2.0);
  CHECK(opt.state(0).m.item() == doctest::Approx(0.05));
  opt.zero_grad();
  CHECK(ps[0].var.grad().item() == 0.0);
}

TEST_CASE("weight decay is excluded by name: LayerNorm, layer_norm and bias are never decayed") {
  const std::vector<std::pair<std::string, bool>> names = {
      {"electra.embeddings.word_embeddings.weight", true},
      {"electra.embeddings.LayerNorm.weight", false},
      {"electra.embeddings_project.weight", true},
      {"electra.encoder.layer.3.attention.self.query.bias", false},
      {"electra.encoder.layer.3.attention.output.LayerNorm.weight", false},
      {"discriminator_predictions.dense.weight", true},
      {"generator_predictions.LayerNorm.bias", false},
      {"generator_lm_head.bias", false},
      {"classifier.dense.weight", true},
      {"custom.layer_norm.weight", false},
  };
  nn::ParameterList<double> ps;
  for (const auto& [n, _] : names) ps.push_back(param(n, scalar1(1.0)));
  AdamWOptions o;
  o.weight_decay = 0.01;
  AdamW<double> opt(ps, o);
  for (std::size_t i = 0; i < names.size(); ++i) CHECK_MESSAGE(opt.decays(i) == names[i].second, names[i].first);

  // The flag changes the update by exactly lr · wd · p.
  for (auto& p : ps) set_grad(p.var, scalar1(0.5));
  opt.step(0.1);
  CHECK(ps[1].var.item() - ps[0].var.item() == doctest::Approx(0.1 * 0.01 * 1.0));

  // With a zero rate nothing decays, as in the official _do_use_weight_decay.
  AdamW<double> none(ps);
  for (std::size_t i = 0; i < names.size(); ++i) CHECK_FALSE(none.decays(i));
}

TEST_CASE("AdamW options and arguments are validated with messages naming the bad value") {
  nn::ParameterList<double> ps = {param("w", scalar1(1.0))};
  auto with = [&](auto edit) {
    AdamWOptions o;
    edit(o);
    return [ps, o] { AdamW<double> opt(ps, o); };
  };
  test::check_throws_with<value_error>(with([](AdamWOptions& o) { o.lr = -1; }), {"learning rate", "-1"});
  test::check_throws_with<value_error>(with([](AdamWOptions& o) { o.beta1 = 1.0; }), {"beta1", "1"});
  test::check_throws_with<value_error>(with([](AdamWOptions& o) { o.beta2 = -0.5; }), {"beta2", "-0.5"});
  test::check_throws_with<value_error>(with([](AdamWOptions& o) { o.eps = 0; }), {"epsilon", "0"});
  test::check_throws_with<value_error>(with([](AdamWOptions& o) { o.weight_decay = -0.01; }),
                                       {"weight_decay", "-0.01"});
  AdamW<double> opt(ps);
  test::check_throws_with<value_error>([&] { opt.step(-0.5); }, {"learning rate", "-0.5"});
  test::check_throws_with<value_error>([&] { AdamW<double>(ps, {}, {1.0, 1.0}); }, {"2 lr scales", "1 parameters"});
  nn::ParameterList<double> twice = {ps[0], {"tied", ps[0].var}};
  test::check_throws_with<value_error>([&] { AdamW<double> o2(twice); }, {"'w'", "'tied'", "same Var"});
}

// ---- clipping ----------------------------------------------------------------------------------

TEST_CASE("global-norm clipping scales all gradients together above the clip and returns the pre-clip norm") {
  nn::ParameterList<double> ps = {param("electra.encoder.layer.0.output.dense.weight", Tensor<double>::zeros({2})),
                                  param("generator_lm_head.bias", Tensor<double>::zeros({1})),
                                  param("classifier.dense.weight", Tensor<double>::zeros({3}))};
  set_grad(ps[0].var, Tensor<double>::from({2}, {3.0, 0.0}));
  set_grad(ps[1].var, scalar1(4.0));  // ps[2] has no gradient: skipped
  CHECK(optim::global_grad_norm(ps) == doctest::Approx(5.0));
  CHECK(optim::clip_grad_global_norm(ps, 1.0) == doctest::Approx(5.0));
  CHECK(ps[0].var.grad().flat(0) == doctest::Approx(0.6));
  CHECK(ps[0].var.grad().flat(1) == 0.0);
  CHECK(ps[1].var.grad().item() == doctest::Approx(0.8));
  CHECK_FALSE(ps[2].var.has_grad());
  CHECK(optim::global_grad_norm(ps) == doctest::Approx(1.0));
}

TEST_CASE("global-norm clipping leaves gradients bit-for-bit unchanged at or below the clip") {
  nn::ParameterList<float> ps = {param("a.weight", Tensor<float>::zeros({2}))};
  set_grad(ps[0].var, Tensor<float>::from({2}, {0.3f, 0.4f}));
  CHECK(optim::clip_grad_global_norm(ps, 1.0) == doctest::Approx(0.5));
  CHECK(ps[0].var.grad().flat(0) == 0.3f);
  CHECK(ps[0].var.grad().flat(1) == 0.4f);
}

TEST_CASE("the global norm of a large gradient is accumulated in double over parallel chunks") {
  nn::ParameterList<float> ps = {param("big.weight", Tensor<float>::zeros({300, 1000}))};
  set_grad(ps[0].var, test::random_tensor<float>({300, 1000}, 7));
  double ref = 0;
  for (index_t i = 0; i < 300000; ++i) ref += double(ps[0].var.grad().data()[i]) * ps[0].var.grad().data()[i];
  ref = std::sqrt(ref);
  const double n = optim::clip_grad_global_norm(ps, 2.0);
  CHECK(n == doctest::Approx(ref).epsilon(1e-12));
  CHECK(optim::global_grad_norm(ps) == doctest::Approx(2.0).epsilon(1e-6));
}

TEST_CASE("a NaN or inf gradient stops training with an error naming the parameter") {
  nn::ParameterList<float> ps = {param("electra.embeddings.word_embeddings.weight", Tensor<float>::zeros({3})),
                                 param("electra.encoder.layer.1.attention.self.key.weight", Tensor<float>::zeros({3}))};
  set_grad(ps[0].var, Tensor<float>::from({3}, {1, 2, 3}));
  set_grad(ps[1].var, Tensor<float>::from({3}, {1, std::numeric_limits<float>::quiet_NaN(), 3}));
  test::check_throws_with<value_error>([&] { optim::clip_grad_global_norm(ps, 1.0); },
                                       {"not finite", "electra.encoder.layer.1.attention.self.key.weight"});
  CHECK(ps[0].var.grad().flat(0) == 1.0f);  // nothing was scaled
  ps[1].var.grad().flat(1) = std::numeric_limits<float>::infinity();
  test::check_throws_with<value_error>([&] { optim::clip_grad_global_norm(ps, 1.0); },
                                       {"not finite", "layer.1.attention.self.key.weight"});
  test::check_throws_with<value_error>([&] { optim::clip_grad_global_norm(ps, 0.0); }, {"max_norm", "0"});

  // Finite elements whose squares overflow are reported too, not scaled to zero.
  nn::ParameterList<double> huge = {param("w", Tensor<double>::zeros({2}))};
  set_grad(huge[0].var, Tensor<double>::from({2}, {1e200, 1e200}));
  test::check_throws_with<value_error>([&] { optim::clip_grad_global_norm(huge, 1.0); }, {"not finite", "overflowed"});
}

// ---- schedule ----------------------------------------------------------------------------------

TEST_CASE("the lr schedule multiplies linear warmup by polynomial decay to zero") {
  using optim::linear_warmup_decay;
  // base 1, T = 100, warmup 10.
  CHECK(linear_warmup_decay(0, 1.0, 100, 10) == 0.0);                            // t = 0
  CHECK(linear_warmup_decay(5, 1.0, 100, 10) == doctest::Approx(0.95 * 0.5));    // mid-warmup
  CHECK(linear_warmup_decay(10, 1.0, 100, 10) == doctest::Approx(0.9));          // end of warmup: already decayed
  CHECK(linear_warmup_decay(55, 1.0, 100, 10) == doctest::Approx(0.45));         // mid-decay
  CHECK(linear_warmup_decay(100, 1.0, 100, 10) == 0.0);                          // t = T
  CHECK(linear_warmup_decay(150, 1.0, 100, 10) == 0.0);                          // beyond T: stays 0
  CHECK(linear_warmup_decay(20, 2e-4, 100, 10) == doctest::Approx(2e-4 * 0.8));  // scales with base
}

TEST_CASE("without warmup the schedule starts at the base rate instead of dividing by zero") {
  using optim::linear_warmup_decay;
  CHECK(linear_warmup_decay(0, 1.0, 100, 0) == 1.0);
  CHECK(linear_warmup_decay(25, 1.0, 100, 0) == doctest::Approx(0.75));
  CHECK(linear_warmup_decay(100, 1.0, 100, 0) == 0.0);
}

TEST_CASE("power 2 squares the decay factor but not the warmup factor") {
  using optim::linear_warmup_decay;
  CHECK(linear_warmup_decay(50, 1.0, 100, 0, 2.0) == doctest::Approx(0.25));
  CHECK(linear_warmup_decay(5, 1.0, 100, 10, 2.0) == doctest::Approx(0.95 * 0.95 * 0.5));
  CHECK(linear_warmup_decay(100, 1.0, 100, 10, 2.0) == 0.0);
}

TEST_CASE("the schedule struct takes warmup as max(T x proportion, steps), fractional like the official one") {
  optim::LrSchedule s;
  s.base_lr = 1.0;
  s.total_steps = 100;
  s.warmup_steps = 5;
  s.warmup_proportion = 0.1;
  CHECK(s.warmup() == doctest::Approx(10.0));
  CHECK(s.at(5) == doctest::Approx(0.95 * 0.5));
  s.total_steps = 25;
  s.warmup_steps = 0;
  CHECK(s.warmup() == doctest::Approx(2.5));
  CHECK(s.at(1) == doctest::Approx((1 - 1.0 / 25) * (1 / 2.5)));
  CHECK(s.at(3) == doctest::Approx(1 - 3.0 / 25));
}

TEST_CASE("schedule arguments are validated with messages naming the bad value") {
  using optim::linear_warmup_decay;
  test::check_throws_with<value_error>([] { linear_warmup_decay(0, -1e-4, 100, 10); }, {"learning rate", "-0.0001"});
  test::check_throws_with<value_error>([] { linear_warmup_decay(0, 1e-4, 0, 10); }, {"total_steps", "0"});
  test::check_throws_with<value_error>([] { linear_warmup_decay(0, 1e-4, -5, 10); }, {"total_steps", "-5"});
  test::check_throws_with<value_error>([] { linear_warmup_decay(0, 1e-4, 100, -3); }, {"warmup", "-3"});
  test::check_throws_with<value_error>([] { linear_warmup_decay(-1, 1e-4, 100, 3); }, {"step", "-1"});
}

// ---- layer-wise lr decay ------------------------------------------------------------------------

TEST_CASE("layer-wise lr scales follow the official ladder, skipping depth n_layers + 1") {
  const double d = 0.8;
  nn::ParameterList<float> ps;
  for (const char* n : {"electra.embeddings.word_embeddings.weight", "electra.embeddings.LayerNorm.bias",
                        "electra.embeddings_project.weight", "electra.encoder.layer.0.attention.self.query.weight",
                        "electra.encoder.layer.1.output.LayerNorm.weight", "electra.encoder.layer.10.output.dense.bias",
                        "electra.encoder.layer.11.attention.output.LayerNorm.weight", "classifier.dense.weight",
                        "qa_outputs.weight", "discriminator_predictions.dense.weight"})
    ps.push_back(param(n, Tensor<float>::zeros({1})));
  const auto s = optim::layerwise_lr_scales(ps, d, 12);
  const double expect[] = {std::pow(d, 14), std::pow(d, 14), std::pow(d, 14), std::pow(d, 13), std::pow(d, 12),
                           std::pow(d, 3),  std::pow(d, 2),  1.0,             1.0,             1.0};
  REQUIRE(s.size() == ps.size());
  for (std::size_t i = 0; i < s.size(); ++i) CHECK_MESSAGE(s[i] == doctest::Approx(expect[i]), ps[i].name);

  // clean = true: the head sits right above the top layer.
  const auto c = optim::layerwise_lr_scales(ps, d, 12, true);
  CHECK(c[0] == doctest::Approx(std::pow(d, 13)));
  CHECK(c[3] == doctest::Approx(std::pow(d, 12)));
  CHECK(c[6] == doctest::Approx(d));
  CHECK(c[7] == 1.0);

  // The scales feed AdamW directly.
  AdamW<float> opt(ps, {}, s);
  CHECK(opt.lr_scale(6) == doctest::Approx(d * d));
}

TEST_CASE("layer depth maps HuggingFace names, unknown names are the head, bad layer indices are errors") {
  using optim::layer_depth;
  CHECK(layer_depth("electra.embeddings.position_embeddings.weight", 12) == 0);
  CHECK(layer_depth("electra.embeddings_project.bias", 12) == 0);
  CHECK(layer_depth("electra.encoder.layer.0.intermediate.dense.weight", 12) == 1);
  CHECK(layer_depth("electra.encoder.layer.11.output.dense.weight", 12) == 12);
  CHECK(layer_depth("generator_lm_head.bias", 12) == 14);
  CHECK(layer_depth("something.new", 12) == 14);
  CHECK(layer_depth("something.new", 12, true) == 13);
  CHECK(layer_depth("generator.electra.encoder.layer.2.output.dense.weight", 4) == 3);  // component boundary
  CHECK(layer_depth("myelectra.encoder.layer.2.x", 4) == 6);                             // not a boundary: head
  test::check_throws_with<value_error>([] { layer_depth("electra.encoder.layer.12.output.dense.weight", 12); },
                                       {"encoder layer 12", "n_layers = 12"});
  test::check_throws_with<value_error>([] { layer_depth("electra.encoder.layer.x.output", 12); }, {"layer index"});
  nn::ParameterList<float> ps = {param("a", Tensor<float>::zeros({1}))};
  test::check_throws_with<value_error>([&] { optim::layerwise_lr_scales(ps, 0.0, 12); }, {"decay", "0"});
}
