// Trains a one-layer attention classifier with electra's autograd on a built-in task and
// prints the loss falling. The task needs attention: a sequence of 8 tokens (vocabulary 12)
// is labelled 1 when its first token appears again later in the sequence.
//
//   ./tiny_classifier [steps=300] [seed=1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <electra/electra.hpp>
#include <vector>

using namespace electra;
using Param = Var<float>;

namespace {
constexpr index_t kVocab = 12, kLen = 8, kHidden = 32, kHeads = 2, kFfn = 64, kBatch = 64;

struct Batch {
  Tensor<std::int32_t> ids, labels;
};

Batch make_batch(Rng& rng) {
  Batch b{Tensor<std::int32_t>({kBatch, kLen}), Tensor<std::int32_t>({kBatch})};
  for (index_t i = 0; i < kBatch; ++i) {
    int repeated = 0;
    for (index_t t = 0; t < kLen; ++t) {
      b.ids.at(i, t) = std::int32_t(rng.below(kVocab));
      repeated |= t > 0 && b.ids.at(i, t) == b.ids.at(i, 0);
    }
    b.labels.at(i) = repeated;
  }
  return b;
}

Param normal_param(const Shape& s, Rng& rng, double std = 0.1) {
  Tensor<float> t(s);
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = float(std * rng.normal());
  return Param::parameter(t);
}

struct Model {
  Param tok, pos, ln1_g, ln1_b, wq, wk, wv, wo, ln2_g, ln2_b, w1, b1, w2, b2, head, head_b;
  std::vector<Param> params() const {
    return {tok, pos, ln1_g, ln1_b, wq, wk, wv, wo, ln2_g, ln2_b, w1, b1, w2, b2, head, head_b};
  }

  explicit Model(Rng& rng)
      : tok(normal_param({kVocab, kHidden}, rng)),
        pos(normal_param({kLen, kHidden}, rng)),
        ln1_g(Param::parameter(Tensor<float>::ones({kHidden}))),
        ln1_b(Param::parameter(Tensor<float>::zeros({kHidden}))),
        wq(normal_param({kHidden, kHidden}, rng)),
        wk(normal_param({kHidden, kHidden}, rng)),
        wv(normal_param({kHidden, kHidden}, rng)),
        wo(normal_param({kHidden, kHidden}, rng)),
        ln2_g(Param::parameter(Tensor<float>::ones({kHidden}))),
        ln2_b(Param::parameter(Tensor<float>::zeros({kHidden}))),
        w1(normal_param({kFfn, kHidden}, rng)),
        b1(Param::parameter(Tensor<float>::zeros({kFfn}))),
        w2(normal_param({kHidden, kFfn}, rng)),
        b2(Param::parameter(Tensor<float>::zeros({kHidden}))),
        head(normal_param({2, kHidden}, rng)),
        head_b(Param::parameter(Tensor<float>::zeros({2}))) {}

  // ids [B,T] -> class logits [B,2], read from the first position.
  Var<float> forward(const Tensor<std::int32_t>& ids, Rng& rng, bool training) const {
    const float p = 0.1f;
    Var<float> h = ops::layer_norm(ops::add(ops::embedding(tok, ids), pos), ln1_g, ln1_b);
    Var<float> a = ops::attention(ops::linear(h, wq), ops::linear(h, wk), ops::linear(h, wv), kHeads, Tensor<float>(),
                                  p, rng, training);
    h = ops::add(h, ops::dropout(ops::linear(a, wo), p, rng, training));
    h = ops::layer_norm(h, ln2_g, ln2_b);
    h = ops::add(h, ops::dropout(ops::linear(ops::gelu(ops::linear(h, w1, b1)), w2, b2), p, rng, training));
    const Var<float> first = ops::reshape(ops::slice(h, 1, 0, 1), {ids.shape()[0], kHidden});
    return ops::linear(first, head, head_b);
  }
};

// Adam (with bias correction) over every parameter; the library's AdamW arrives with the model.
struct Adam {
  float lr = 3e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  int t = 0;
  std::vector<Tensor<float>> m, v;
  void step(const std::vector<Param>& params) {
    NoGradGuard no_grad;
    if (m.empty())
      for (const auto& p : params) {
        m.push_back(Tensor<float>::zeros(p.shape()));
        v.push_back(Tensor<float>::zeros(p.shape()));
      }
    ++t;
    const float c1 = 1 - std::pow(b1, float(t)), c2 = 1 - std::pow(b2, float(t));
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Tensor<float>& g = params[i].grad();
      assign(m[i], b1 * m[i] + (1 - b1) * g);
      assign(v[i], b2 * v[i] + (1 - b2) * g * g);
      assign(params[i].value(), params[i].value() - lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps));
      params[i].zero_grad();
    }
  }
};

float accuracy(const Var<float>& logits, const Tensor<std::int32_t>& labels) {
  int right = 0;
  for (index_t i = 0; i < labels.numel(); ++i)
    right += (logits.value().at(i, 1) > logits.value().at(i, 0)) == (labels.at(i) == 1);
  return float(right) / float(labels.numel());
}
}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  const std::uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  if (steps <= 0) {
    std::fprintf(stderr, "usage: %s [steps > 0] [seed]\n", argv[0]);
    return 2;
  }
  Rng rng(seed), data(seed + 1), held_out_rng(seed + 1000);
  Model model(rng);
  Adam adam;
  const Batch held_out = make_batch(held_out_rng);
  std::printf("tiny attention classifier: does the first token appear again? (%s, GEMM: %s)\n",
              threading_report().c_str(), cpu::gemm_engine_report().c_str());
  std::printf("%6s %10s %12s %10s\n", "step", "loss", "held-out acc", "steps/s");
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0;
  int loss_count = 0;
  for (int step = 1; step <= steps; ++step) {
    const Batch b = make_batch(data);
    const Var<float> loss = ops::cross_entropy(model.forward(b.ids, rng, true), b.labels);
    loss_sum += loss.item();
    ++loss_count;
    loss.backward();
    adam.step(model.params());
    if (step % 25 == 0 || step == steps) {
      NoGradGuard no_grad;
      const float acc = accuracy(model.forward(held_out.ids, rng, false), held_out.labels);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%6d %10.4f %12.3f %10.1f\n", step, loss_sum / loss_count, acc, step / secs);
      std::fflush(stdout);
      loss_sum = 0;
      loss_count = 0;
    }
  }
  return 0;
}
