// A whole ELECTRA pretraining step on the GPU (backend/cuda/pretraining.cuh) against the CPU
// step on the autograd tape (model::pretraining_forward + loss.backward()), on a small model
// with both encoders projected (E ≠ H), padding, token types and dropout on: the same Rng seed
// must give the same masking, dropout masks and Gumbel samples, the same losses, and every one
// of the model's parameter gradients, compared by name. Also: the MLM-only objective, eval
// mode, TF32 and bf16 GEMMs, the fused AdamW against optim::AdamW, no cudaMalloc once a step
// has warmed the allocator up, held-out evaluation (no gradient written), and the
// replaced-token detector (`electra detect --device cuda`). Exits 1 on failure, 77 (ctest: skipped) without a GPU; CI
// only compiles it.
//
// Tolerances. fp32: each gradient tensor within 2e-4 of its largest element (plus 1e-7), the
// losses within 1e-5 relative: the GPU sums in other orders (GEMM tiles, block reductions,
// atomics in the embedding scatter-adds) through two encoders, a softmax over the vocabulary
// and the RTD loss weight 50, so errors of a few hundred ulps of the largest terms are
// expected; a wrong index, mask or missing accumulation is off by far more (tens of percent).
// TF32 rounds GEMM inputs to 10 mantissa bits (relative 5e-4 per product): 3e-2 of the scale;
// bf16 operands keep 8 bits (relative 4e-3 per product): 6e-2 of the scale, losses 1e-2. Both
// against the fp32 CPU step, with fixed samples; an indexing error is off by O(1) of the scale.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <electra/backend/cuda/detector.cuh>
#include <electra/backend/cuda/optimizer.cuh>
#include <electra/backend/cuda/pretraining.cuh>
#include <electra/optim/clip.hpp>
#include <random>
#include <string>

#include "compare.hpp"

using namespace electra;
namespace cu = electra::cuda;
using cuda_test::Checks;
using cuda_test::compare_gradients;

namespace {

// The discriminator projects its embeddings (E 24 ≠ H 32) unless `equal_embed` (H = E = 24);
// the generator always does (H 16).
model::ElectraDims small_dims(bool equal_embed = false) {
  model::EncoderDims d;
  d.vocab = 5000, d.max_pos = 64, d.type_vocab = 2, d.layers = 2, d.hidden = equal_embed ? 24 : 32, d.embed = 24,
  d.heads = 2, d.ffn = 64;
  model::EncoderDims g = d;
  g.hidden = 16, g.heads = 1, g.ffn = 32;
  return {d, g};
}

// B = 4 sequences of T = 24: [CLS] words [SEP] words [SEP], two of them padded, token types 0/1
// (or none: every token type 0).
model::Batch random_batch(std::mt19937& rng, bool with_types = true) {
  const index_t B = 4, T = 24;
  const index_t lengths[B] = {24, 17, 24, 9};
  std::uniform_int_distribution<int> word(1000, 4999);
  model::Batch b{Tensor<std::int32_t>::zeros({B, T}), Tensor<std::int32_t>::zeros({B, T}),
                 Tensor<std::int32_t>::zeros({B, T})};
  for (index_t s = 0; s < B; ++s) {
    const index_t L = lengths[s], middle = L / 2;
    for (index_t t = 0; t < L; ++t) {
      b.input_ids.at(s, t) = t == 0 ? 101 : (t == middle || t == L - 1) ? 102 : word(rng);
      b.input_mask.at(s, t) = 1;
      b.token_types.at(s, t) = t > middle ? 1 : 0;
    }
  }
  if (!with_types) b.token_types = Tensor<std::int32_t>();
  return b;
}

bool close(double got, double want, double rel) { return std::fabs(got - want) <= rel * std::fabs(want) + 1e-7; }

struct StepCase {
  std::string tag;
  bool electra_objective = true, training = true;
  cu::ComputeMode mode = cu::ComputeMode::fp32;
  double grad_rel = 2e-4, loss_rel = 1e-5;
  bool fixed_samples = false;  // both use given replacements (bf16 logits may draw other samples)
  std::uint64_t seed = 2024;   // the step's Rng (masking, dropout, Gumbel)
  bool equal_embed = false, with_types = true;
  bool expect_repeated_position = false;  // the masking must name some position twice
};

// True when some sequence has two weighted slots at one position (masking draws with replacement).
bool has_repeated_position(const model::MaskedBatch<float>& m) {
  for (index_t b = 0; b < m.positions.size(0); ++b)
    for (index_t i = 0; i < m.positions.size(1); ++i)
      for (index_t j = i + 1; j < m.positions.size(1); ++j)
        if (m.weights.at(b, i) > 0 && m.weights.at(b, j) > 0 && m.positions.at(b, i) == m.positions.at(b, j))
          return true;
  return false;
}

// One step on each backend from the same weights and seed; compares samples, losses, gradients.
void check_step(Checks& c, const StepCase& k) {
  const model::ElectraDims dims = small_dims(k.equal_embed);
  Rng init(11);
  model::ElectraModel<float> cpu_model(dims, init);
  Rng copy_init(11);
  model::ElectraModel<float> gpu_model(dims, copy_init);  // the same weights, for downloading gradients
  std::mt19937 data_rng(5);
  const model::Batch batch = random_batch(data_rng, k.with_types);
  model::PretrainingOptions o;
  o.electra_objective = k.electra_objective;

  Rng cpu_rng(k.seed), gpu_rng(k.seed);
  model::MaskedBatch<float> cpu_masked = model::mask_batch<float>(batch, cpu_rng, o),
                            gpu_masked = model::mask_batch<float>(batch, gpu_rng, o);
  if (k.expect_repeated_position)
    c.expect(k.tag + ": the masking names a position twice", has_repeated_position(cpu_masked),
             "so the scatter-add of repeated rows and the floor-averaged replacement are compared");
  Tensor<std::int32_t> samples;
  if (k.fixed_samples) {
    samples = Tensor<std::int32_t>({cpu_masked.positions.numel()});
    for (index_t i = 0; i < samples.numel(); ++i) samples.at(i) = std::int32_t(1000 + 37 * i % 4000);
  }
  model::PretrainingResult<float> want =
      model::pretraining_forward(cpu_model, batch, std::move(cpu_masked), samples, cpu_rng, k.training, o);
  want.loss.backward();

  cu::GemmContext gemm;
  const cu::DeviceContext ctx{&gemm, k.mode};
  const nn::ParameterList<float> gpu_params = gpu_model.parameters();
  const cu::DeviceParameters dev(gpu_params);
  cu::PretrainingStep step(dims, dev, ctx, o);
  const cu::PretrainingStepResult got = step.run(batch, std::move(gpu_masked), samples, gpu_rng, k.training);
  dev.download_grads(gpu_params);

  c.expect(k.tag + ": the GPU step draws as many random keys as the CPU step", gpu_rng.counter() == cpu_rng.counter(),
           std::to_string(gpu_rng.counter()) + " against " + std::to_string(cpu_rng.counter()));
  if (k.electra_objective) {
    if (!k.fixed_samples)
      c.expect(k.tag + ": same Gumbel samples", got.sampled.to_vector() == want.sampled.to_vector(),
               std::to_string(got.sampled.numel()) + " slots");
    c.expect(k.tag + ": same replaced-token labels", got.labels.to_vector() == want.fake.labels.to_vector(), "labels");
    c.expect(k.tag + ": RTD loss", close(got.rtd_loss, want.rtd_loss.item(), k.loss_rel),
             std::to_string(got.rtd_loss) + " against " + std::to_string(want.rtd_loss.item()));
  }
  c.expect(k.tag + ": MLM loss", close(got.mlm_loss, want.mlm_loss.item(), k.loss_rel),
           std::to_string(got.mlm_loss) + " against " + std::to_string(want.mlm_loss.item()));
  c.expect(k.tag + ": total loss", close(got.loss, want.loss.item(), k.loss_rel),
           std::to_string(got.loss) + " against " + std::to_string(want.loss.item()));
  compare_gradients(c, k.tag, cpu_model.parameters(), gpu_params, k.grad_rel);
}

// The fused clip + AdamW on the CPU step's gradients against optim::clip_grad_global_norm +
// optim::AdamW: weight decay on the decaying names only, layer-wise scales, two clipped steps
// (so the moments matter), and under the MLM-only objective the discriminator's own tensors,
// which get no gradient, left alone (no decay) as the CPU skips them. Identical gradients, the
// same formulas in the same float order: 1e-6 relative.
void check_optimizer(Checks& c, bool electra_objective) {
  const std::string tag = electra_objective ? "AdamW (ELECTRA objective)" : "AdamW (MLM-only objective)";
  const model::ElectraDims dims = small_dims();
  Rng init(11), copy_init(11);
  model::ElectraModel<float> cpu_model(dims, init), gpu_model(dims, copy_init);
  std::mt19937 data_rng(5);
  const model::Batch batch = random_batch(data_rng);
  model::PretrainingOptions po;
  po.electra_objective = electra_objective;
  Rng rng(7);
  model::pretraining_step(cpu_model, batch, rng, true, po).loss.backward();
  const nn::ParameterList<float> cpu_params = cpu_model.parameters(), gpu_params = gpu_model.parameters();
  std::vector<Tensor<float>> unclipped;  // each step starts from these gradients, on both sides
  for (const auto& p : cpu_params) unclipped.push_back(p.var.has_grad() ? p.var.grad().clone() : Tensor<float>());
  optim::AdamWOptions o;
  o.weight_decay = 0.01;
  std::vector<double> scales(cpu_params.size());
  for (std::size_t i = 0; i < scales.size(); ++i) scales[i] = i % 3 == 0 ? 0.5 : 1.0;
  optim::AdamW<float> cpu_opt(cpu_params, o, scales), gpu_side(gpu_params, o, scales);

  cu::GemmContext gemm;
  const cu::DeviceParameters dev(gpu_params);
  cu::PretrainingStep step(dims, dev, cu::DeviceContext{&gemm, cu::ComputeMode::fp32}, po);
  std::vector<bool> has_grad;
  int without = 0, disagree = 0;
  std::string first_disagreement;
  for (const auto& p : cpu_params) {
    has_grad.push_back(step.gives_gradient(p.name));
    without += !has_grad.back();
    if (has_grad.back() != p.var.has_grad() && disagree++ == 0) first_disagreement = p.name;
  }
  c.expect(tag + ": PretrainingStep::gives_gradient names the tensors the CPU step gives a gradient", disagree == 0,
           std::to_string(disagree) + " disagree" + (disagree ? ", first " + first_disagreement : ""));
  cu::DeviceAdamW dev_opt(dev, gpu_side, has_grad);
  const double max_norm = 0.5;
  double cpu_norm = 0;
  for (int s = 0; s < 2; ++s) {
    for (std::size_t i = 0; i < cpu_params.size(); ++i)
      if (unclipped[i].defined()) cpu_params[i].var.grad().copy_from(unclipped[i]);
    dev.upload_grads(cpu_params);  // identical, unclipped gradients: this checks the optimizer alone
    cpu_norm = optim::clip_grad_global_norm(cpu_params, max_norm);
    cpu_opt.step(1e-3);
    dev_opt.step(1e-3, max_norm);
  }
  c.expect(tag + ": the clip is active in both steps", cpu_norm > 1.5 * max_norm, "norm " + std::to_string(cpu_norm));
  c.expect(tag + ": tensors without a gradient", electra_objective ? without == 0 : without > 0,
           std::to_string(without));
  dev.download_values(gpu_params);
  dev_opt.download_state(gpu_side);
  int bad = 0;
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    const std::string& name = cpu_params[i].name;
    bad += !c.close(tag + ": " + name, gpu_params[i].var.value().to_vector(), cpu_params[i].var.value().to_vector(),
                    1e-6, 1e-8);
    bad +=
        !c.close(tag + ": m of " + name, gpu_side.state(i).m.to_vector(), cpu_opt.state(i).m.to_vector(), 1e-6, 1e-10);
    bad +=
        !c.close(tag + ": v of " + name, gpu_side.state(i).v.to_vector(), cpu_opt.state(i).v.to_vector(), 1e-6, 1e-14);
  }
  c.expect(tag + ": every parameter and both moments after two clipped steps", bad == 0,
           std::to_string(bad) + " differ");
}

// Three steps with the default allocator: the third may not call cudaMalloc.
void check_no_malloc_after_warmup(Checks& c) {
  const model::ElectraDims dims = small_dims();
  Rng init(1);
  model::ElectraModel<float> m(dims, init);
  std::mt19937 data_rng(6);
  const model::Batch batch = random_batch(data_rng);
  cu::GemmContext gemm;
  const cu::DeviceParameters dev(m.parameters());
  cu::PretrainingStep step(dims, dev, cu::DeviceContext{&gemm, cu::ComputeMode::fp32});
  Rng rng(3);
  cuda_test::expect_no_malloc_after_warmup(c, "pretraining step", [&] {
    dev.zero_grads();
    step.run(batch, rng, true);
  });
}

// Held-out evaluation (`PretrainingStep::evaluate`): model::pretraining_step in eval mode, the
// same draws and losses, and no gradient written.
void check_evaluate(Checks& c) {
  const model::ElectraDims dims = small_dims();
  Rng init(17);
  const model::ElectraModel<float> m(dims, init);
  std::mt19937 data_rng(12);
  const model::Batch batch = random_batch(data_rng);
  Rng cpu_rng(31), gpu_rng(31);
  model::PretrainingResult<float> want;
  {
    NoGradGuard no_grad;
    want = model::pretraining_step(m, batch, cpu_rng, false);
  }
  cu::GemmContext gemm;
  const nn::ParameterList<float> params = m.parameters();
  const cu::DeviceParameters dev(params);
  cu::PretrainingStep step(dims, dev, cu::DeviceContext{&gemm, cu::ComputeMode::fp32});
  const cu::PretrainingStepResult got = step.evaluate(batch, gpu_rng);
  c.expect("evaluate: as many random keys as the CPU's eval step", gpu_rng.counter() == cpu_rng.counter(),
           std::to_string(gpu_rng.counter()) + " against " + std::to_string(cpu_rng.counter()));
  c.expect("evaluate: same Gumbel samples", got.sampled.to_vector() == want.sampled.to_vector(), "samples");
  c.expect("evaluate: total loss", close(got.loss, want.loss.item(), 1e-5),
           std::to_string(got.loss) + " against " + std::to_string(want.loss.item()));
  std::vector<float> grads(std::size_t(dev.total_floats()));
  ELECTRA_CUDA_CHECK(cudaMemcpy(grads.data(), dev.grads(), grads.size() * sizeof(float), cudaMemcpyDeviceToHost));
  c.expect("evaluate: writes no gradient", std::all_of(grads.begin(), grads.end(), [](float g) { return g == 0.f; }),
           std::to_string(grads.size()) + " gradient floats");
}

// `electra detect --device cuda`: the discriminator's evaluation logits from its HF-named tensors
// (discriminator_parameters()) against ElectraModel::discriminate, with and without token types.
void check_detector(Checks& c) {
  const model::ElectraDims dims = small_dims();
  Rng init(13);
  const model::ElectraModel<float> m(dims, init);
  std::mt19937 data_rng(8);
  const model::Batch batch = random_batch(data_rng);
  cu::GemmContext gemm;
  const cu::DeviceParameters dev(m.discriminator_parameters());
  cu::ReplacedTokenDetector detector(dims.discriminator, dev, cu::DeviceContext{&gemm, cu::ComputeMode::fp32});
  for (const bool with_types : {true, false}) {
    const Tensor<std::int32_t> types = with_types ? batch.token_types : Tensor<std::int32_t>();
    Rng rng(0);
    const Tensor<float> want = m.discriminate(batch.input_ids, types, batch.input_mask, rng, false).value();
    const Tensor<float> got = detector.logits(batch.input_ids, types, batch.input_mask);
    c.close(std::string("detector logits [B,T]") + (with_types ? ", token types" : ", no token types"), got.to_vector(),
            want.contiguous().to_vector(), 1e-4, 1e-5);
  }
}

}  // namespace

int main() {
  Checks c;
  if (!cuda_test::has_device("CUDA pretraining step vs CPU")) return 77;
  auto step = [&](const StepCase& k) { cuda_test::guarded(c, k.tag, [&] { check_step(c, k); }); };
  step({.tag = "ELECTRA step, dropout on, fp32"});
  step({.tag = "ELECTRA step, eval mode, fp32", .training = false});
  step({.tag = "MLM-only step, fp32", .electra_objective = false});
  step({.tag = "ELECTRA step, repeated masked positions, fp32", .seed = 7, .expect_repeated_position = true});
  step({.tag = "ELECTRA step, E = H (no projection), no token types, fp32", .equal_embed = true, .with_types = false});
  step({.tag = "ELECTRA step, fixed samples, fp32", .fixed_samples = true});
  cuda_test::guarded(c, "AdamW (ELECTRA objective)", [&] { check_optimizer(c, true); });
  cuda_test::guarded(c, "AdamW (MLM-only objective)", [&] { check_optimizer(c, false); });
  cuda_test::guarded(c, "no cudaMalloc after warm-up", [&] { check_no_malloc_after_warmup(c); });
  cuda_test::guarded(c, "detector", [&] { check_detector(c); });
  cuda_test::guarded(c, "evaluate", [&] { check_evaluate(c); });
  step({.tag = "ELECTRA step, fixed samples, tf32",
        .mode = cu::ComputeMode::tf32,
        .grad_rel = 3e-2,
        .loss_rel = 3e-3,
        .fixed_samples = true});
  step({.tag = "ELECTRA step, fixed samples, bf16",
        .mode = cu::ComputeMode::bf16,
        .grad_rel = 6e-2,
        .loss_rel = 1e-2,
        .fixed_samples = true});
  return c.finish();
}
