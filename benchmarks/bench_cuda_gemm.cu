// GPU GEMM throughput for ELECTRA-Small's discriminator at batch 128 × length 128 (16384
// tokens), through backend/cuda/gemm.cuh, in each compute mode: fp32, tf32, and bf16 inputs
// (bf16 output, fp32 accumulation). For every linear layer: the forward x·Wᵀ and the two
// backward products (dX = dY·W, dW = dYᵀ·X); for attention: the per-(sequence, head)
// strided batches. Prints TFLOP/s per shape and mode, the ratio of each mode to fp32
// measured in the same run, and the summed time of one encoder layer's GEMMs (forward +
// backward), which is 12× per step for the discriminator's GEMMs alone.
// What it is not: a training step (the whole step on the GPU is not wired yet, docs/cuda.md).
// Usage: bench_cuda_gemm [iterations per shape, default 50]
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <electra/backend/cuda/convert.cuh>
#include <electra/backend/cuda/gemm.cuh>
#include <electra/core/rng.hpp>
#include <string>
#include <vector>

namespace cu = electra::cuda;
using electra::index_t;

namespace {

// x[i] = uniform(−1, 1) from the project's counter-based RNG (same on host and device).
__global__ void fill_uniform(float* x, index_t n, std::uint64_t key) {
  for (index_t i = cu::global_thread_index(); i < n; i += cu::grid_threads())
    x[i] = 2.f * electra::uniform_at<float>(key, std::uint64_t(i)) - 1.f;
}

struct Shape {
  std::string name;
  bool trans_a, trans_b;
  index_t M, N, K, batch;
  double flops() const { return 2.0 * double(M) * double(N) * double(K) * double(batch); }
};

// Linear layer in → out over T tokens (weights [out, in], as HuggingFace's).
void add_linear(std::vector<Shape>& s, const std::string& name, index_t T, index_t in, index_t out) {
  s.push_back({name + " fwd  x·Wᵀ", false, true, T, out, in, 1});
  s.push_back({name + " bwd  dY·W", false, false, T, in, out, 1});
  s.push_back({name + " bwd  dYᵀ·X", true, false, out, in, T, 1});
}

struct Timing {
  double ms = 0;  // per call
  bool ok = false;
  std::string error;
};

// Runs one shape in one mode: 3 warm-up calls, then `iters` timed with CUDA events.
Timing time_shape(cu::GemmContext& ctx, cu::ComputeMode mode, const Shape& s, int iters, const float* a32,
                  const float* b32, float* c32, const cu::bf16* a16, const cu::bf16* b16, cu::bf16* c16) {
  const index_t lda = s.trans_a ? s.M : s.K, ldb = s.trans_b ? s.K : s.N, ldc = s.N;
  const index_t sa = s.M * s.K, sb = s.K * s.N, sc = s.M * s.N;
  auto call = [&] {
    if (mode == cu::ComputeMode::bf16)
      cu::gemm_strided_batched(ctx, mode, s.trans_a, s.trans_b, s.M, s.N, s.K, 1.f, a16, lda, sa, b16, ldb, sb, 0.f,
                               c16, ldc, sc, s.batch);
    else
      cu::gemm_strided_batched(ctx, mode, s.trans_a, s.trans_b, s.M, s.N, s.K, 1.f, a32, lda, sa, b32, ldb, sb, 0.f,
                               c32, ldc, sc, s.batch);
  };
  Timing t;
  try {
    for (int i = 0; i < 3; ++i) call();
    cudaEvent_t start, stop;
    ELECTRA_CUDA_CHECK(cudaEventCreate(&start));
    ELECTRA_CUDA_CHECK(cudaEventCreate(&stop));
    ELECTRA_CUDA_CHECK(cudaEventRecord(start));
    for (int i = 0; i < iters; ++i) call();
    ELECTRA_CUDA_CHECK(cudaEventRecord(stop));
    ELECTRA_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    ELECTRA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    t.ms = double(ms) / iters;
    t.ok = true;
  } catch (const std::exception& e) {
    t.error = e.what();
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int iters = argc > 1 ? std::atoi(argv[1]) : 50;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: bench_cuda_gemm needs a GPU\n");
    return 77;
  }
  cudaDeviceProp prop{};
  ELECTRA_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d), %d SMs; %d timed calls per shape after 3 warm-ups\n", prop.name, prop.major,
              prop.minor, prop.multiProcessorCount, iters);

  // ELECTRA-Small discriminator (config::Small): H 256, I 1024, E 128, NH 4, D 64; B 128, T 128.
  const index_t B = 128, T = 128, tokens = B * T, H = 256, I = 1024, E = 128, NH = 4, D = H / NH;
  std::vector<Shape> layer;  // one encoder layer, forward + backward
  add_linear(layer, "qkv (fused) 256→768", tokens, H, 3 * H);
  add_linear(layer, "attn out 256→256", tokens, H, H);
  add_linear(layer, "ffn up 256→1024", tokens, H, I);
  add_linear(layer, "ffn down 1024→256", tokens, I, H);
  layer.push_back({"scores Q·Kᵀ (B·NH batches)", false, true, T, T, D, B * NH});
  layer.push_back({"context P·V", false, false, T, D, T, B * NH});
  layer.push_back({"bwd dP = dC·Vᵀ", false, true, T, T, D, B * NH});
  layer.push_back({"bwd dV = Pᵀ·dC", true, false, T, D, T, B * NH});
  layer.push_back({"bwd dQ = dS·K", false, false, T, D, T, B * NH});
  layer.push_back({"bwd dK = dSᵀ·Q", true, false, T, D, T, B * NH});
  std::vector<Shape> once;  // once per step
  add_linear(once, "embeddings project 128→256", tokens, E, H);

  index_t max_a = 0, max_b = 0, max_c = 0;
  for (const auto* list : {&layer, &once})
    for (const Shape& s : *list) {
      max_a = std::max(max_a, s.M * s.K * s.batch);
      max_b = std::max(max_b, s.K * s.N * s.batch);
      max_c = std::max(max_c, s.M * s.N * s.batch);
    }
  cu::DeviceArray<float> a32(max_a), b32(max_b), c32(max_c);
  cu::DeviceArray<cu::bf16> a16(max_a), b16(max_b), c16(max_c);
  fill_uniform<<<cu::grid_for(max_a), cu::kBlockSize>>>(a32.data(), max_a, 1);
  fill_uniform<<<cu::grid_for(max_b), cu::kBlockSize>>>(b32.data(), max_b, 2);
  ELECTRA_CUDA_CHECK_LAUNCH(fill_uniform);
  cu::to_bf16(a16.data(), a32.data(), max_a);
  cu::to_bf16(b16.data(), b32.data(), max_b);
  ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());

  cu::GemmContext ctx;
  const cu::ComputeMode modes[] = {cu::ComputeMode::fp32, cu::ComputeMode::tf32, cu::ComputeMode::bf16};
  int failures = 0;
  std::printf("%-34s %6s %6s %6s %5s | %9s %9s %9s | TFLOP/s fp32 tf32 bf16 | tf32/fp32 bf16/fp32\n", "gemm", "M", "N",
              "K", "batch", "fp32 ms", "tf32 ms", "bf16 ms");
  for (const auto* list : {&layer, &once}) {
    double total_ms[3] = {0, 0, 0}, total_flops = 0;
    for (const Shape& s : *list) {
      Timing t[3];
      for (int m = 0; m < 3; ++m) {
        t[m] =
            time_shape(ctx, modes[m], s, iters, a32.data(), b32.data(), c32.data(), a16.data(), b16.data(), c16.data());
        if (!t[m].ok) {
          ++failures;
          std::printf("FAIL %s in %s: %s\n", s.name.c_str(), cu::to_string(modes[m]), t[m].error.c_str());
        }
        total_ms[m] += t[m].ms;
      }
      total_flops += s.flops();
      auto tflops = [&](int m) { return t[m].ok && t[m].ms > 0 ? s.flops() / (t[m].ms * 1e-3) / 1e12 : 0.0; };
      std::printf("%-34s %6lld %6lld %6lld %5lld | %9.4f %9.4f %9.4f | %12.1f %4.0f %4.0f | %9.2f %9.2f\n",
                  s.name.c_str(), (long long)s.M, (long long)s.N, (long long)s.K, (long long)s.batch, t[0].ms, t[1].ms,
                  t[2].ms, tflops(0), tflops(1), tflops(2), t[0].ms / t[1].ms, t[0].ms / t[2].ms);
    }
    std::printf("%-34s %6s %6s %6s %5s | %9.4f %9.4f %9.4f | %12.1f %4.0f %4.0f | %9.2f %9.2f\n",
                list == &layer ? "SUM one encoder layer (fwd+bwd)" : "SUM once-per-step GEMMs", "", "", "", "",
                total_ms[0], total_ms[1], total_ms[2], total_flops / (total_ms[0] * 1e-3) / 1e12,
                total_flops / (total_ms[1] * 1e-3) / 1e12, total_flops / (total_ms[2] * 1e-3) / 1e12,
                total_ms[0] / total_ms[1], total_ms[0] / total_ms[2]);
    if (list == &layer)
      std::printf("%-34s %6s %6s %6s %5s | %9.3f %9.3f %9.3f |  (12 layers: the discriminator's GEMM time per step)\n",
                  "x12 layers", "", "", "", "", 12 * total_ms[0], 12 * total_ms[1], 12 * total_ms[2]);
  }
  std::printf("%s: %d failed GEMM runs; %zu cuBLASLt plans cached\n", failures ? "FAIL" : "ok", failures,
              ctx.cached_plans());
  return failures ? 1 : 0;
}
