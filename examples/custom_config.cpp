// Your own ELECTRA size: a config is a struct of static constexpr sizes (checked at compile
// time by config::EncoderConfig); generator_of derives the generator like the official code.
// This one has its own 8000-token vocabulary (train one with `electra vocab --size 8000`),
// trains a few steps on random token ids, and prints the losses and the FLOPs of a step.
#include <cstdio>
#include <electra/electra.hpp>

struct MyDomainConfig {
  static constexpr const char* name = "my-domain";
  static constexpr electra::index_t vocab = 8000, max_pos = 256, type_vocab = 2;
  static constexpr electra::index_t layers = 4, hidden = 128, embed = 64, heads = 2, ffn = 512;
  static constexpr int generator_num = 1, generator_den = 2;  // a generator half as wide
};
static_assert(electra::config::EncoderConfig<MyDomainConfig>);
using MyGenerator = electra::config::generator_of<MyDomainConfig>;
static_assert(MyGenerator::hidden == 64 && MyGenerator::heads == 1 && MyGenerator::ffn == 256);

int main() {
  using namespace electra;
  Rng rng(1);
  model::Electra<MyDomainConfig> m(rng);
  std::printf("%s: %lld discriminator + %lld generator parameters\n", MyDomainConfig::name,
              static_cast<long long>(nn::count_parameters(m.discriminator_parameters())),
              static_cast<long long>(nn::count_parameters(m.generator_parameters())));

  // A batch of random ids: [CLS] = 2, [SEP] = 3, as `electra vocab` lays vocabularies out.
  const index_t B = 4, T = 64;
  model::Batch batch{Tensor<std::int32_t>({B, T}), Tensor<std::int32_t>::ones({B, T}), {}};
  for (index_t i = 0; i < batch.input_ids.numel(); ++i) batch.input_ids.flat(i) = std::int32_t(5 + rng.below(7995));
  for (index_t b = 0; b < B; ++b) batch.input_ids.at(b, 0) = 2, batch.input_ids.at(b, T - 1) = 3;

  train::PretrainerOptions o;
  o.objective.special = {0, 2, 3, 4};  // [PAD] [CLS] [SEP] [MASK] of an `electra vocab` vocabulary
  o.total_steps = 20;
  o.warmup_steps = 2;
  train::Pretrainer<float> trainer(m, o);
  for (int step = 0; step < 20; ++step) {
    const train::StepReport r = trainer.step(batch);
    if (step % 5 == 4)
      std::printf("step %2d  loss %.3f  mlm %.3f  rtd %.3f\n", step + 1, r.metrics.total_loss, r.metrics.mlm_loss,
                  r.metrics.disc_loss);
  }
  std::printf("one step of batch %lld x %lld: %s training FLOPs (official count)\n", static_cast<long long>(B),
              static_cast<long long>(T),
              flops::format_python_float(train::electra_step_flops(m.dims, int(B), T, true)).c_str());
  return 0;
}
