// Memory-bound kernels and attention at ELECTRA-Small shapes (B=32, T=128, H=256, 4 heads).
// Rates: GB/s counts bytes read + written once; attention reports GFLOP/s of its two GEMMs.
//   elementwise/N/threads   gelu's expression at N floats, 1 or 2 threads: the data behind
//                           kParallelThreshold (core/threading.hpp)
#include <benchmark/benchmark.h>

#include <electra/electra.hpp>

namespace {
using namespace electra;

Tensor<float> random_tensor(const Shape& s, std::uint64_t seed) {
  Tensor<float> t(s);
  const std::uint64_t key = mix64(seed);
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = 2 * uniform_at<float>(key, std::uint64_t(i)) - 1;
  return t;
}

void set_bytes(benchmark::State& state, double bytes_per_iter) {
  state.counters["GB/s"] = benchmark::Counter(bytes_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(threading_report());
}

void BM_Elementwise(benchmark::State& state) {
  const index_t n = state.range(0);
  const int saved = num_threads();
  set_num_threads(int(state.range(1)));
  const auto x = random_tensor({n}, 1);
  Tensor<float> y({n});
  for (auto _ : state) {
    assign(y, 0.5f * x * (1.0f + erf(x * 0.70710678f)));
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state, 8.0 * double(n));
  set_num_threads(saved);
}
BENCHMARK(BM_Elementwise)
    ->ArgNames({"n", "threads"})
    ->ArgsProduct({{1 << 12, 1 << 14, 1 << 15, 1 << 16, 1 << 18, 1 << 20}, {1, 2}});

// Dropout's forward mask at p = 0.1 over one Small FFN activation (4096 × 1024 floats), 1 thread.
void BM_DropoutForward(benchmark::State& state) {
  const index_t n = 4096 * 1024;
  const int saved = num_threads();
  set_num_threads(1);
  const auto x = random_tensor({n}, 1);
  Tensor<float> y({n});
  std::uint64_t key = 7;
  for (auto _ : state) {
    ops::detail::apply_dropout_mask<false>(y.data(), x.data(), n, 0.1f, key++);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["ns/element"] =
      benchmark::Counter(double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  set_bytes(state, 8.0 * double(n));
  set_num_threads(saved);
}
BENCHMARK(BM_DropoutForward)->Unit(benchmark::kMillisecond);

void BM_LayerNormForward(benchmark::State& state) {
  const index_t rows = 4096, n = state.range(0);
  const auto x = random_tensor({rows, n}, 1), g = random_tensor({n}, 2), b = random_tensor({n}, 3);
  Tensor<float> y({rows, n}), mean({rows}), rstd({rows});
  for (auto _ : state) {
    cpu::layer_norm_forward(y.data(), mean.data(), rstd.data(), x.data(), g.data(), b.data(), rows, n, 1e-12);
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state, 8.0 * double(rows * n));
}
BENCHMARK(BM_LayerNormForward)->ArgName("H")->Arg(128)->Arg(256);

void BM_LayerNormBackward(benchmark::State& state) {
  const index_t rows = 4096, n = state.range(0);
  const auto x = random_tensor({rows, n}, 1), g = random_tensor({n}, 2), b = random_tensor({n}, 3),
             dy = random_tensor({rows, n}, 4);
  Tensor<float> y({rows, n}), mean({rows}), rstd({rows});
  cpu::layer_norm_forward(y.data(), mean.data(), rstd.data(), x.data(), g.data(), b.data(), rows, n, 1e-12);
  auto dx = Tensor<float>::zeros({rows, n}), dg = Tensor<float>::zeros({n}), db = Tensor<float>::zeros({n});
  for (auto _ : state) {
    cpu::layer_norm_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), mean.data(), rstd.data(),
                             g.data(), rows, n);
    benchmark::DoNotOptimize(dx.data());
  }
  set_bytes(state, 12.0 * double(rows * n));
}
BENCHMARK(BM_LayerNormBackward)->ArgName("H")->Arg(128)->Arg(256);

void BM_Softmax(benchmark::State& state) {
  const index_t rows = 32 * 4 * 128, n = 128;  // attention probabilities [B,NH,T,T]
  const auto x = random_tensor({rows, n}, 1);
  Tensor<float> y({rows, n});
  for (auto _ : state) {
    cpu::softmax_forward(y.data(), x.data(), rows, n);
    benchmark::DoNotOptimize(y.data());
  }
  set_bytes(state, 8.0 * double(rows * n));
}
BENCHMARK(BM_Softmax);

void BM_AttentionForwardBackward(benchmark::State& state) {
  const index_t B = 32, T = 128, H = state.range(0), NH = state.range(1);
  const auto q = Var<float>::parameter(random_tensor({B, T, H}, 1)), k = Var<float>::parameter(random_tensor({B, T, H}, 2)),
             v = Var<float>::parameter(random_tensor({B, T, H}, 3));
  const auto mask = Tensor<float>::ones({B, T});
  Rng rng(1);
  const auto seed = random_tensor({B, T, H}, 4);
  for (auto _ : state) {
    ops::attention(q, k, v, NH, mask, 0.1f, rng, true).backward(seed);
    q.zero_grad();
    k.zero_grad();
    v.zero_grad();
  }
  // forward 2 GEMMs of 2·B·T·T·H flops each, backward 4 more.
  state.counters["GFLOP/s"] =
      benchmark::Counter(6 * 2.0 * double(B * T * T * H) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(threading_report());
}
BENCHMARK(BM_AttentionForwardBackward)->ArgNames({"H", "heads"})->Args({256, 4})->Args({64, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
