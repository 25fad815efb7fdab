// Run with `mpirun -np 2`: two ranks with two sequences each, their loss shares normalised by
// the global counts and their gradients summed by GradientSync over MPI, give the gradient of
// all four sequences computed by one process (checked on rank 0, to double rounding).
#include <electra/dist/grad_sync.hpp>
#include <electra/dist/mpi.hpp>

#include <cmath>
#include <cstdio>

#include "../pretraining_batches.hpp"

using namespace electra;

int main() {
  dist::MpiCommunicator comm;
  if (comm.size() != 2) {
    std::fprintf(stderr, "run with mpirun -np 2 (got %d ranks)\n", comm.size());
    return 2;
  }
  const model::PretrainingOptions o;
  const model::Batch batch = test::four_sequences();
  const auto masked = test::four_sequences_masked<double>(o);
  const index_t N = masked.positions.shape()[1];
  const Tensor<std::int32_t> sampled = test::fixed_samples(4 * N);
  const model::LossCounts all = model::loss_counts(masked, batch);

  // This rank's two sequences; the global counts come from an all-reduce, as in training.
  Rng init(31), rng(32);
  model::ElectraModel<double> m(model::electra_dims_of<config::Tiny>(), init);
  const index_t begin = 2 * comm.rank();
  const model::Batch part{test::rows_of(batch.input_ids, begin, 2), test::rows_of(batch.input_mask, begin, 2), {}};
  const auto part_masked = test::masked_rows(masked, begin, 2);
  const model::LossCounts local = model::loss_counts(part_masked, part);
  double global[2] = {local.masked, local.real};
  comm.allreduce_sum(global, 2);
  if (global[0] != all.masked || global[1] != all.real) {
    std::fprintf(stderr, "rank %d: all-reduced counts %g, %g differ from %g, %g\n", comm.rank(), global[0], global[1],
                 all.masked, all.real);
    return 1;
  }
  const auto r = model::pretraining_forward(m, part, part_masked, test::rows_of(sampled, begin * N, 2 * N), rng,
                                            false, o);
  model::loss_share(r, local, {global[0], global[1]}, o).backward();
  dist::GradientSync<double> sync(m.parameters(), comm, 64 * 1024);  // small buckets: many all-reduces
  sync.sum();
  if (comm.rank() != 0) return 0;

  Rng init_ref(31), rng_ref(32);
  model::ElectraModel<double> ref(model::electra_dims_of<config::Tiny>(), init_ref);
  model::pretraining_forward(ref, batch, masked, sampled, rng_ref, false, o).loss.backward();
  double worst = 0;
  const auto ps = m.parameters(), qs = ref.parameters();
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const Tensor<double> &a = ps[i].var.grad(), &b = qs[i].var.grad();
    for (index_t k = 0; k < a.numel(); ++k) worst = std::max(worst, std::abs(a.flat(k) - b.flat(k)));
  }
  std::printf("2 ranks x 2 sequences vs 1 process x 4: %zu tensors, max |difference| %.3g\n", ps.size(), worst);
  return worst < 1e-12 ? 0 : 1;
}
