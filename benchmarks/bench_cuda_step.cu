// One ELECTRA pretraining step on the GPU, end to end, as `electra pretrain` would run it:
// a random batch made on the host, its masking and upload, generator and discriminator forward and backward
// (backend/cuda/pretraining.cuh), then the fused global-norm clip + AdamW
// (backend/cuda/optimizer.cuh). Default: ELECTRA-Small at batch 128 × length 128, the issue's
// yardstick, in each GEMM mode (fp32, tf32, bf16 operands); random token ids as the PyTorch
// reference (benchmarks/torch_reference/electra_step.py --device cuda) uses.
// Prints per mode: the median step time, tokens/s, the model FLOPs per step counted as
// flops_computation.py counts them (what `electra pretrain` reports MFU from), the achieved
// TFLOP/s and the MFU against the device's dense peak for that mode (a table for A100, H100
// and H200; other devices print the TFLOP/s only), cudaMalloc calls during the timed steps
// (expected 0), and the first and last loss as a sanity check. Then where the time goes, as
// medians of separately timed parts: the host's batch and masking, the forward alone (held-out
// evaluation: eval mode, no backward), and the clip + AdamW. Validates nothing: the tests do.
// Usage: bench_cuda_step [timed steps per mode, default 20] [config small|tiny|mini, default small]
//                        [batch, default 128] [sequence length, default 128]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <electra/backend/cuda/device_info.cuh>
#include <electra/backend/cuda/optimizer.cuh>
#include <electra/backend/cuda/pretraining.cuh>
#include <electra/train/flops.hpp>
#include <random>
#include <string>
#include <vector>

using namespace electra;
namespace cu = electra::cuda;

namespace {

// Median seconds of `n` runs of f, each ended by a device synchronisation.
template <class F>
double median_seconds(int n, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < n; ++i) {
    ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

model::ElectraDims dims_named(const std::string& name) {
  if (name == "tiny") return model::electra_dims_of<config::Tiny, config::generator_of<config::Tiny>>();
  if (name == "mini") return model::electra_dims_of<config::Mini, config::generator_of<config::Mini>>();
  if (name == "small") return model::electra_dims_of<config::Small, config::generator_of<config::Small>>();
  std::fprintf(stderr, "unknown config %s (small, mini or tiny)\n", name.c_str());
  std::exit(2);
}

model::Batch random_batch(index_t B, index_t T, index_t vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int> word(1000, int(vocab) - 1);
  model::Batch b{Tensor<std::int32_t>({B, T}), Tensor<std::int32_t>::ones({B, T}), Tensor<std::int32_t>()};
  for (index_t s = 0; s < B; ++s)
    for (index_t t = 0; t < T; ++t) b.input_ids.at(s, t) = t == 0 ? 101 : t == T - 1 ? 102 : word(rng);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  const std::string config = argc > 2 ? argv[2] : "small";
  const index_t B = argc > 3 ? std::atoi(argv[3]) : 128, T = argc > 4 ? std::atoi(argv[4]) : 128;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: bench_cuda_step skipped\n");
    return 77;
  }
  cudaDeviceProp prop{};
  ELECTRA_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const cu::DevicePeaks peak = cu::dense_peaks(prop.name);
  const model::ElectraDims dims = dims_named(config);
  const double flops =
      flops::get_electra_train_flops(dims.discriminator.hidden, dims.discriminator.layers, dims.generator.hidden,
                                     dims.generator.layers, double(B), 1.0, true, dims.discriminator.embed, T);
  std::printf("device: %s (sm_%d%d); %s, batch %lld x length %lld; %d timed steps per mode after 3 warm-ups\n",
              prop.name, prop.major, prop.minor, config.c_str(), (long long)B, (long long)T, steps);
  std::printf("model FLOPs per step (flops_computation.py): %.4g\n", flops);

  try {
    for (const cu::ComputeMode mode : {cu::ComputeMode::fp32, cu::ComputeMode::tf32, cu::ComputeMode::bf16}) {
      Rng init(1);
      model::ElectraModel<float> model(dims, init);
      const nn::ParameterList<float> params = model.parameters();
      optim::AdamWOptions ao;
      ao.weight_decay = 0.01;
      optim::AdamW<float> host_optimizer(params, ao);
      cu::GemmContext gemm;
      const cu::DeviceParameters dev(params);
      cu::DeviceAdamW optimizer(dev, host_optimizer);
      cu::PretrainingStep step(dims, dev, cu::DeviceContext{&gemm, mode});
      std::mt19937 data_rng(7);
      Rng rng(3);
      std::vector<double> seconds;
      float first_loss = 0, last_loss = 0;
      std::size_t mallocs_before = 0;
      for (int s = 0; s < steps + 3; ++s) {
        if (s == 3) mallocs_before = cu::default_allocator().stats().cuda_malloc_calls;
        ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());
        const auto t0 = std::chrono::steady_clock::now();  // the batch is made inside, as PyTorch's script does
        const model::Batch batch = random_batch(B, T, dims.discriminator.vocab, data_rng);
        dev.zero_grads();
        const cu::PretrainingStepResult r = step.run(batch, rng, true);
        optimizer.step(5e-4, 1.0);
        ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s == 0) first_loss = r.loss;
        last_loss = r.loss;
        if (s >= 3) seconds.push_back(dt);
      }
      const std::size_t mallocs = cu::default_allocator().stats().cuda_malloc_calls - mallocs_before;
      std::sort(seconds.begin(), seconds.end());
      const double median = seconds[seconds.size() / 2], tflops = flops / median / 1e12;
      const double p = peak.in(mode);
      char mfu[64] = "peak unknown";
      if (p > 0) std::snprintf(mfu, sizeof mfu, "MFU %.1f%% of %.0f TFLOP/s", 100.0 * tflops / p, p);
      std::printf(
          "step %-4s median %8.2f ms (min %.2f, max %.2f)  %9.0f tokens/s  %7.1f TFLOP/s  %s  cudaMalloc in timed "
          "steps: %zu  loss %.4f -> %.4f\n",
          cu::to_string(mode), median * 1e3, seconds.front() * 1e3, seconds.back() * 1e3, double(B * T) / median,
          tflops, mfu, mallocs, double(first_loss), double(last_loss));
      const model::Batch batch = random_batch(B, T, dims.discriminator.vocab, data_rng);
      const double host = median_seconds(steps, [&] {
        const model::Batch b = random_batch(B, T, dims.discriminator.vocab, data_rng);
        (void)model::mask_batch<float>(b, rng, model::PretrainingOptions{});
      });
      const double forward = median_seconds(steps, [&] { step.evaluate(batch, rng); });
      const double update = median_seconds(steps, [&] { optimizer.step(5e-4, 1.0); });
      std::printf(
          "parts %-4s host batch + masking %.2f ms, forward alone (eval mode) %.2f ms, clip + AdamW %.2f ms; "
          "the rest of the step (backward) %.2f ms\n",
          cu::to_string(mode), host * 1e3, forward * 1e3, update * 1e3, (median - host - forward - update) * 1e3);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
  return 0;
}
