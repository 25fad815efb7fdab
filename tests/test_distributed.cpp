// Gradient accumulation and data parallelism without MPI: the loss shares of micro-batches add
// up to the loss and gradient of the whole batch, the gradient buckets, and the trainer's
// accumulating step. The two-process versions run under mpirun (tests/mpi/).
#include <electra/dist/grad_sync.hpp>
#include <electra/train/pretrainer.hpp>

#include "helpers.hpp"
#include "pretraining_batches.hpp"

using namespace electra;

namespace {
std::vector<Tensor<double>> gradients(const nn::ParameterList<double>& ps) {
  std::vector<Tensor<double>> g;
  for (const auto& p : ps) g.push_back(p.var.has_grad() ? p.var.grad().clone() : Tensor<double>());
  return g;
}
}  // namespace

TEST_CASE("micro-batch loss shares add up to the whole batch's loss and gradient") {
  for (const bool electra_objective : {true, false}) {
    CAPTURE(electra_objective);
    Rng init(21);
    model::ElectraModel<double> m(model::electra_dims_of<config::Tiny>(), init);
    model::PretrainingOptions o;
    o.electra_objective = electra_objective;
    const model::Batch batch = test::four_sequences();
    const auto masked = test::four_sequences_masked<double>(o);
    const index_t N = masked.positions.shape()[1];
    const Tensor<std::int32_t> sampled = test::fixed_samples(4 * N);

    // Dropout off: its masks depend on an element's index in the batch, which splitting changes.
    Rng rng(23);
    const auto whole = model::pretraining_forward(m, batch, masked, sampled, rng, false, o);
    whole.loss.backward();
    const auto expected = gradients(m.parameters());
    for (const auto& p : m.parameters()) p.var.zero_grad();

    const model::LossCounts all = model::loss_counts(masked, batch);
    double total = 0;
    for (index_t begin : {0, 2}) {  // micro-batches of rows {0, 1} and {2, 3}
      const model::Batch part{test::rows_of(batch.input_ids, begin, 2), test::rows_of(batch.input_mask, begin, 2), {}};
      const model::MaskedBatch<double> part_masked = test::masked_rows(masked, begin, 2);
      const auto r = model::pretraining_forward(m, part, part_masked, test::rows_of(sampled, begin * N, 2 * N), rng,
                                                false, o);
      const Var<double> share = model::loss_share(r, model::loss_counts(part_masked, part), all, o);
      total += share.item();
      share.backward();
    }
    CHECK(total == doctest::Approx(whole.loss.item()).epsilon(1e-13));
    const auto got = gradients(m.parameters());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(m.parameters()[i].name);
      REQUIRE(got[i].defined() == expected[i].defined());
      if (got[i].defined()) CHECK(test::max_abs_diff(got[i], expected[i]) < 1e-12);
    }
  }
}

TEST_CASE("with one micro-batch the share is the official loss itself") {
  Rng init(24), rng(25);
  const model::ElectraModel<float> m(model::electra_dims_of<config::Tiny>(), init);
  const model::Batch batch = test::four_sequences();
  const auto masked = model::mask_batch<float>(batch, rng, {});
  const auto r = model::pretraining_forward(m, batch, masked, {}, rng, false, {});
  const auto counts = model::loss_counts(masked, batch);
  CHECK(counts.real == 27);  // 8 + 6 + 8 + 5 real tokens
  CHECK(model::loss_share(r, counts, counts, {}).item() == r.loss.item());
}

namespace {
// Two "ranks" in one process: each all-reduce adds the other rank's buffer, recorded in advance.
struct RecordedPeer final : dist::Communicator {
  std::vector<std::vector<float>> peer;  // what the other rank contributes, call by call
  std::size_t calls = 0;
  std::vector<std::size_t> sizes;
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void allreduce_sum(float* data, std::size_t n) override {
    sizes.push_back(n);
    const auto& other = peer.at(calls++);
    REQUIRE(other.size() == n);
    for (std::size_t i = 0; i < n; ++i) data[i] += other[i];
  }
  void allreduce_sum(double*, std::size_t) override {}
  void barrier() override {}
  std::string describe() const override { return "recorded peer"; }
};
}  // namespace

TEST_CASE("gradients are summed over ranks in buckets, tensors without a gradient are skipped") {
  nn::ParameterList<float> params = {{"a", Var<float>::parameter(Tensor<float>::zeros({3}))},
                                     {"b", Var<float>::parameter(Tensor<float>::zeros({5}))},
                                     {"frozen", Var<float>::parameter(Tensor<float>::zeros({2}))},
                                     {"c", Var<float>::parameter(Tensor<float>::zeros({2}))}};
  for (std::size_t i : {0, 1, 3})
    for (index_t k = 0; k < params[i].var.value().numel(); ++k)
      params[i].var.impl()->grad_buffer().flat(k) = float(10 * i + std::size_t(k));
  // Buckets of 4 floats: a (3) + b[0] | b[1..4] | c (2).
  RecordedPeer comm;
  comm.peer = {{100, 100, 100, 100}, {200, 200, 200, 200}, {300, 300}};
  dist::GradientSync<float> sync(params, comm, 4 * sizeof(float));
  sync.sum();
  CHECK(comm.sizes == std::vector<std::size_t>{4, 4, 2});
  CHECK(params[0].var.grad().flat(2) == 102);
  CHECK(params[1].var.grad().flat(0) == 110);
  CHECK(params[1].var.grad().flat(1) == 211);
  CHECK(params[1].var.grad().flat(4) == 214);
  CHECK_FALSE(params[2].var.has_grad());
  CHECK(params[3].var.grad().flat(1) == 331);
}

TEST_CASE("the trainer's step takes exactly `accumulate` micro-batches") {
  Rng init(26);
  model::ElectraModel<float> m(model::electra_dims_of<config::Tiny>(), init);
  train::PretrainerOptions o;
  o.accumulate = 2;
  o.total_steps = 10;
  o.warmup_steps = 0;
  train::Pretrainer<float> t(m, o);
  const model::Batch b = test::four_sequences();
  test::check_throws_with<value_error>([&] { t.step(b); }, {"1 micro-batches", "accumulates 2"});
  const auto r = t.step(std::vector<model::Batch>{b, b});
  CHECK(t.steps_done() == 1);
  CHECK(std::isfinite(r.metrics.total_loss));
  CHECK(r.metrics.total_loss == doctest::Approx(r.metrics.mlm_loss + 50 * r.metrics.disc_loss).epsilon(1e-5));
}
