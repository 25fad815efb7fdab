// Counts the heap allocations of one warmed-up ELECTRA pretraining step: every call that reaches
// the C allocator (malloc, calloc, realloc, aligned_alloc, posix_memalign, memalign; operator new
// goes through malloc), from any thread, plus the misses of electra's tensor pool.
//   count_allocations [tiny|small] [BATCH] [SEQ] [STEPS] [fp32|bf16]   (default: small 8 128 4 fp32)
// It prints one line per measured step; docs/performance.md says where the remaining ones come
// from. With ELECTRA_ALLOC_TRACE=1 it also prints the call stack of every counted allocation
// of the measured steps (function names: the program is linked with -rdynamic; pipe through
// c++filt). A benchmark, not a test: it runs real steps.
#include <execinfo.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <electra/electra.hpp>
#include <string>

// --- the counting allocator: glibc's own entry points behind ours ------------------------------
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<std::uint64_t> g_calls{0}, g_bytes{0};
std::atomic<bool> g_trace{false};
thread_local bool t_in_trace = false;  // backtrace() may allocate: do not trace that

inline void count(std::size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(n, std::memory_order_relaxed);
  if (g_trace.load(std::memory_order_relaxed) && !t_in_trace) {
    t_in_trace = true;
    void* frames[24];
    const int depth = backtrace(frames, 24);
    char line[64];
    const int len = std::snprintf(line, sizeof line, "--- allocation of %zu bytes\n", n);
    if (write(2, line, std::size_t(len)) < 0) t_in_trace = false;
    backtrace_symbols_fd(frames, depth, 2);
    t_in_trace = false;
  }
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  count(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t k, std::size_t n) {
  count(k * n);
  return __libc_calloc(k, n);
}
void* realloc(void* p, std::size_t n) {
  count(n);
  return __libc_realloc(p, n);
}
void* memalign(std::size_t a, std::size_t n) {
  count(n);
  return __libc_memalign(a, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) {
  count(n);
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) {
  count(n);
  *out = __libc_memalign(a, n);
  return *out ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}

int main(int argc, char** argv) {
  using namespace electra;
  const std::string config = argc > 1 ? argv[1] : "small";
  const index_t B = argc > 2 ? std::atoi(argv[2]) : 8, T = argc > 3 ? std::atoi(argv[3]) : 128;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 4;
  cpu::set_matmul_precision(cpu::parse_matmul_precision(argc > 5 ? argv[5] : "fp32", "matmul precision argument"));
  const model::ElectraDims dims =
      config == "tiny" ? model::electra_dims_of<config::Tiny>() : model::electra_dims_of<config::Small>();

  Rng init(1), data(2);
  model::ElectraModel<float> m(dims, init);
  train::PretrainerOptions o;
  o.total_steps = 1000;
  o.warmup_steps = 10;
  train::Pretrainer<float> trainer(m, o);
  auto batch = [&] {
    model::Batch b{Tensor<std::int32_t>({B, T}), Tensor<std::int32_t>({B, T}), Tensor<std::int32_t>({B, T})};
    for (index_t i = 0; i < B; ++i)
      for (index_t t = 0; t < T; ++t) {
        b.input_ids.at(i, t) = t == 0 ? 101 : t == T - 1 ? 102 : std::int32_t(1000 + data.next_u64() % 28000);
        b.input_mask.at(i, t) = 1;
        b.token_types.at(i, t) = t < T / 2 ? 0 : 1;
      }
    return b;
  };
  const std::vector<model::Batch> batches{batch(), batch()};
  for (int w = 0; w < 3; ++w) trainer.step(batches[std::size_t(w % 2)]);  // warm-up: the pool fills
  const char* trace = std::getenv("ELECTRA_ALLOC_TRACE");
  const bool tracing = trace && std::string(trace) == "1";
  if (tracing) {
    void* warm[1];
    backtrace(warm, 1);  // loads the unwinder now, outside the counted steps
  }

  std::printf("%s, batch %lld x %lld, %s, matmuls %s: heap allocations per warmed-up pretraining step\n",
              config.c_str(), static_cast<long long>(B), static_cast<long long>(T), threading_report().c_str(),
              cpu::matmul_precision_report().c_str());
  std::printf("%5s %12s %14s %14s\n", "step", "C allocator", "bytes", "pool misses");
  for (int s = 0; s < steps; ++s) {
    const std::uint64_t calls0 = g_calls.load(), bytes0 = g_bytes.load();
    const std::size_t pool0 = pool_stats().system_allocations;
    g_trace = tracing;
    trainer.step(batches[std::size_t(s % 2)]);
    g_trace = false;
    std::printf("%5d %12llu %14llu %14zu\n", s, static_cast<unsigned long long>(g_calls.load() - calls0),
                static_cast<unsigned long long>(g_bytes.load() - bytes0), pool_stats().system_allocations - pool0);
  }
  return 0;
}
