// The CUDA layer kernels against the CPU ops they mirror, forward and backward, on random
// inputs: GELU, column sums, the linear layer, attention (padding mask, dropout with the
// CPU's key), Gumbel sampling with the CPU's draws, and the discriminator's corrupted input.
// The CPU side runs the real ops on the autograd tape (ops::linear, ops::attention, ...), and
// every backward kernel writes into buffers pre-filled with random values, so a kernel that
// assigns instead of accumulating fails. Exits 1 on any failure, 77 (ctest: skipped) without
// a GPU. CI only compiles it.
//
// Tolerances (fp32, GEMMs in CUBLAS_COMPUTE_32F): elementwise results 1e-5 relative (the
// device's erff/expf against the CPU's, an ulp or two, plus FMA contraction) with an absolute
// floor where a formula cancels (GELU below x ≈ −3.5: 1e-6); column sums against a double
// reference; GEMM-based
// results 1e-4 relative with an absolute floor of 1e-5 × the product's scale (sums of 50–300
// products in a different order); sampled ids and corrupted inputs must be equal.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <electra/backend/cuda/attention.cuh>
#include <electra/backend/cuda/gelu.cuh>
#include <electra/backend/cuda/linear.cuh>
#include <electra/backend/cuda/sampling.cuh>
#include <electra/model/sampling.hpp>
#include <electra/ops/attention.hpp>
#include <electra/ops/gelu.hpp>
#include <electra/ops/linear.hpp>
#include <limits>
#include <string>

#include "compare.hpp"

using namespace electra;
namespace cu = electra::cuda;
using cuda_test::Checks;
using cuda_test::device_copy;
using cuda_test::host_copy;
using cuda_test::random_floats;
using cuda_test::tensor;

namespace {

std::vector<float> plus(std::vector<float> a, const std::vector<float>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

void check_gelu(Checks& c, std::mt19937& rng) {
  const index_t n = 5000;
  const auto x = random_floats(n, rng, -6, 6), dy = random_floats(n, rng), dx0 = random_floats(n, rng);
  auto cx = Var<float>::parameter(tensor(x, {n}));
  Var<float> y = ops::gelu(cx);
  y.backward(tensor(dy, {n}));
  const auto d_x = device_copy(x), d_dy = device_copy(dy), d_dx = device_copy(dx0);
  cu::DeviceArray<float> d_y(n);
  cu::gelu_forward(d_y.data(), d_x.data(), n);
  cu::gelu_backward(d_dx.data(), d_dy.data(), d_x.data(), n);
  // atol: below x ≈ −4, 1 + erf(x/√2) cancels and one ulp of erf is ~1e-7 of GELU's value.
  c.close("gelu forward vs ops::gelu", host_copy(d_y), y.value().to_vector(), 1e-5, 1e-6);
  c.close("gelu backward (accumulated) vs ops::gelu", host_copy(d_dx), plus(cx.grad().to_vector(), dx0), 1e-5, 1e-6);
}

void check_column_sum(Checks& c, std::mt19937& rng) {
  const index_t rows = 600, n = 70;  // three row chunks, a partial column tile
  const auto x = random_floats(rows * n, rng), out0 = random_floats(n, rng);
  std::vector<double> sum(out0.begin(), out0.end());  // in double: a float running sum of 600 terms
  for (index_t r = 0; r < rows; ++r)                  // is itself off by more than the tolerance
    for (index_t j = 0; j < n; ++j) sum[j] += x[r * n + j];
  const std::vector<float> want(sum.begin(), sum.end());
  const auto d_x = device_copy(x), d_out = device_copy(out0);
  cu::column_sum_accumulate(d_out.data(), d_x.data(), rows, n);
  c.close("column sums [600,70] (accumulated)", host_copy(d_out), want, 1e-5, 1e-5);
}

void check_linear(Checks& c, std::mt19937& rng, bool with_bias) {
  const std::string tag = with_bias ? " (bias)" : " (no bias)";
  const index_t R = 300, K = 96, N = 80;
  const auto x = random_floats(R * K, rng), W = random_floats(N * K, rng), b = random_floats(N, rng),
             dy = random_floats(R * N, rng);
  const auto dx0 = random_floats(R * K, rng), dW0 = random_floats(N * K, rng), db0 = random_floats(N, rng);
  auto cx = Var<float>::parameter(tensor(x, {R, K})), cW = Var<float>::parameter(tensor(W, {N, K}));
  auto cb = with_bias ? Var<float>::parameter(tensor(b, {N})) : Var<float>();
  Var<float> y = ops::linear(cx, cW, cb);
  y.backward(tensor(dy, {R, N}));

  cu::GemmContext g;
  const auto d_x = device_copy(x), d_W = device_copy(W), d_b = device_copy(b), d_dy = device_copy(dy);
  const auto d_dx = device_copy(dx0), d_dW = device_copy(dW0), d_db = device_copy(db0);
  cu::DeviceArray<float> d_y(R * N);
  cu::linear_forward(g, cu::ComputeMode::fp32, d_y.data(), d_x.data(), d_W.data(), with_bias ? d_b.data() : nullptr, R,
                     K, N);
  cu::linear_backward(g, cu::ComputeMode::fp32, d_dx.data(), d_dW.data(), with_bias ? d_db.data() : nullptr,
                      d_dy.data(), d_x.data(), d_W.data(), R, K, N);
  c.close("linear forward" + tag, host_copy(d_y), y.value().to_vector(), 1e-4, 1e-4);
  c.close("linear backward dx (accumulated)" + tag, host_copy(d_dx), plus(cx.grad().to_vector(), dx0), 1e-4, 1e-4);
  c.close("linear backward dW (accumulated)" + tag, host_copy(d_dW), plus(cW.grad().to_vector(), dW0), 1e-4, 2e-4);
  if (with_bias)
    c.close("linear backward db (accumulated)" + tag, host_copy(d_db), plus(cb.grad().to_vector(), db0), 1e-5, 1e-4);
  else
    c.close("linear backward leaves db alone" + tag, host_copy(d_db), db0, 0, 0);
}

// B = 3 sequences of T tokens, H = 48 in 4 heads; the second and third sequences end in
// padding (or no mask at all). T = 37: no tile fits exactly; T = 300: the softmax rows take
// more than one pass of a 256-thread block.
void check_attention(Checks& c, std::mt19937& rng, bool training, index_t T = 37, bool with_mask = true) {
  const std::string tag = std::string(training ? " (dropout 0.1" : " (no dropout") + ", T " + std::to_string(T) +
                          (with_mask ? ")" : ", no mask)");
  const index_t B = 3, H = 48, heads = 4;
  const float p = 0.1f;
  const auto q = random_floats(B * T * H, rng, -2, 2), k = random_floats(B * T * H, rng, -2, 2),
             v = random_floats(B * T * H, rng), dctx = random_floats(B * T * H, rng);
  std::vector<float> mask(B * T, 1.0f);
  for (index_t t = T - 7; t < T; ++t) mask[1 * T + t] = 0.0f;
  for (index_t t = 5; t < T; ++t) mask[2 * T + t] = 0.0f;
  const auto dq0 = random_floats(B * T * H, rng), dk0 = random_floats(B * T * H, rng),
             dv0 = random_floats(B * T * H, rng);

  Rng cpu_rng(77), gpu_rng = cpu_rng;
  auto cq = Var<float>::parameter(tensor(q, {B, T, H})), ck = Var<float>::parameter(tensor(k, {B, T, H})),
       cv = Var<float>::parameter(tensor(v, {B, T, H}));
  Var<float> ctx =
      ops::attention(cq, ck, cv, heads, with_mask ? tensor(mask, {B, T}) : Tensor<float>(), p, cpu_rng, training);
  ctx.backward(tensor(dctx, {B, T, H}));
  const std::uint64_t key = training ? gpu_rng.next_key() : 0;  // the key the CPU op drew
  c.expect("attention" + tag + ": CPU and GPU use the same number of random keys",
           cpu_rng.counter() == gpu_rng.counter(), std::to_string(cpu_rng.counter()) + " keys");

  cu::GemmContext g;
  const auto d_q = device_copy(q), d_k = device_copy(k), d_v = device_copy(v), d_mask = device_copy(mask),
             d_dctx = device_copy(dctx);
  const auto d_dq = device_copy(dq0), d_dk = device_copy(dk0), d_dv = device_copy(dv0);
  cu::DeviceArray<float> d_ctx(B * T * H);
  cu::AttentionState st;
  cu::attention_forward(g, cu::ComputeMode::fp32, st, d_ctx.data(), d_q.data(), d_k.data(), d_v.data(),
                        with_mask ? d_mask.data() : nullptr, B, T, H, heads, p, training, key);
  cu::attention_backward(g, cu::ComputeMode::fp32, st, d_dq.data(), d_dk.data(), d_dv.data(), d_dctx.data());
  c.close("attention forward" + tag, host_copy(d_ctx), ctx.value().to_vector(), 1e-4, 1e-5);
  c.close("attention backward dq (accumulated)" + tag, host_copy(d_dq), plus(cq.grad().to_vector(), dq0), 1e-4, 1e-5);
  c.close("attention backward dk (accumulated)" + tag, host_copy(d_dk), plus(ck.grad().to_vector(), dk0), 1e-4, 1e-5);
  c.close("attention backward dv (accumulated)" + tag, host_copy(d_dv), plus(cv.grad().to_vector(), dv0), 1e-4, 1e-5);
}

// The CPU's score for (row, j), recomputed on the host in the CPU expression's order.
float gumbel_score(const std::vector<float>& logits, index_t V, index_t r, index_t j, std::uint64_t key, float temp) {
  const float u = uniform_at<float>(key, std::uint64_t(r * V + j)), eps = 1e-9f;
  return logits[r * V + j] / temp + -std::log(-std::log(u + eps) + eps);
}

void check_gumbel(Checks& c, std::mt19937& rng, double temperature, index_t V = 30522) {
  const std::string tag =
      " (temperature " + std::to_string(temperature).substr(0, 3) + ", V " + std::to_string(V) + ")";
  const index_t M = 40;
  auto logits = random_floats(M * V, rng, -4, 4);
  for (index_t j = 0; j < V; ++j) logits[5 * V + j] = -std::numeric_limits<float>::infinity();  // no candidate: id 0
  Rng cpu_rng(3), gpu_rng = cpu_rng;
  const std::vector<std::int32_t> want = model::gumbel_sample(tensor(logits, {M, V}), cpu_rng, temperature).to_vector();
  const std::uint64_t key = gpu_rng.next_key();
  const auto d_logits = device_copy(logits);
  cu::DeviceArray<std::int32_t> d_ids(M);
  cu::gumbel_sample(d_ids.data(), d_logits.data(), M, V, key, temperature);
  const auto got = host_copy(d_ids);
  // Equal ids, except where the two best scores are within float rounding of each other (a
  // different ulp in log may then pick the other one; for random logits, about 1 row in 10⁵).
  int differ = 0, near_ties = 0;
  for (index_t r = 0; r < M; ++r) {
    if (got[r] == want[r]) continue;
    ++differ;
    const float a = gumbel_score(logits, V, r, got[r], key, float(temperature)),
                b = gumbel_score(logits, V, r, want[r], key, float(temperature));
    if (std::fabs(a - b) <= 2e-6f * std::max(1.0f, std::fabs(b))) ++near_ties;  // a few ulps
  }
  c.expect("gumbel_sample ids equal the CPU's draws" + tag, differ == near_ties,
           std::to_string(M - differ) + " of " + std::to_string(M) + " rows equal, " + std::to_string(near_ties) +
               " near-ties");
  c.expect("gumbel_sample: a row of −inf logits gives id 0" + tag, got[5] == 0 && want[5] == 0,
           "id " + std::to_string(got[5]));
}

void check_replace(Checks& c) {
  const index_t B = 3, L = 12, N = 5;
  std::vector<std::int32_t> original(B * L);
  for (index_t i = 0; i < B * L; ++i) original[i] = std::int32_t(100 + i);
  // Row 0: distinct positions, one sample equal to the original (label 0). Row 1: position 0
  // (never written) and a position named three times (floor of the mean). Row 2: all slots on
  // one position.
  const std::vector<std::int32_t> positions = {1, 3, 4, 7, 11, 0, 2, 2, 2, 9, 6, 6, 6, 6, 6};
  const std::vector<std::int32_t> sampled = {7, 103, 9, 8, 5, 55, 10, 11, 13, 1, 4, 4, 4, 4, 5};
  const auto want = model::replace_with_samples<float>(Tensor<std::int32_t>::from({B, L}, original),
                                                       Tensor<std::int32_t>::from({B, N}, positions),
                                                       Tensor<std::int32_t>::from({B * N}, sampled));
  const auto d_orig = device_copy(original), d_pos = device_copy(positions), d_smp = device_copy(sampled);
  cu::DeviceArray<std::int32_t> d_ids(B * L);
  cu::DeviceArray<float> d_labels(B * L);
  cu::replace_with_samples(d_ids.data(), d_labels.data(), d_orig.data(), d_pos.data(), d_smp.data(), B, L, N);
  c.expect("replace_with_samples: ids equal the CPU's", host_copy(d_ids) == want.input_ids.to_vector(),
           "position 0 kept, duplicates floor-averaged");
  c.close("replace_with_samples: labels equal the CPU's", host_copy(d_labels), want.labels.to_vector(), 0, 0);
}

}  // namespace

int main() {
  Checks c;
  if (!cuda_test::has_device("CUDA layers vs CPU")) return 77;
  std::mt19937 rng(20261127);
  try {
    check_gelu(c, rng);
    check_column_sum(c, rng);
    check_linear(c, rng, true);
    check_linear(c, rng, false);
    check_attention(c, rng, false);
    check_attention(c, rng, true);
    check_attention(c, rng, true, 300);
    check_attention(c, rng, false, 37, false);
    check_gumbel(c, rng, 1.0);
    check_gumbel(c, rng, 0.5);
    check_gumbel(c, rng, 1.0, 100);  // fewer classes than threads: idle lanes in the reduction
    check_replace(c);
  } catch (const std::exception& e) {
    c.expect("no exception", false, e.what());
  }
  return c.finish();
}
