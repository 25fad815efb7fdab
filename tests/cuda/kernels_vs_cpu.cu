// Every CUDA kernel of the backend against the CPU function it mirrors, on random inputs:
// device buffers, elementwise maps over the shared functors, bf16 conversion, layer norm,
// softmax, embedding, cross entropy, BCE, dropout, the fused AdamW + clip, and the caching
// allocator's "no cudaMalloc after warm-up". Prints one line per check; exits 1 on any
// failure and 77 (ctest: skipped) when no GPU is present. CI only compiles it.
//
// Tolerances (fp32 throughout). GPU and CPU evaluate the same formulas in float, but sum in
// different orders (block trees vs serial loops), may contract a·b + c into an FMA
// differently, and their exp/log/erf differ by an ulp or two. Hence 1e-5 relative (a few
// hundred ulps) for per-element results and 1e-4 for sums over hundreds of rows or atomics;
// a wrong formula, index or missing accumulation is off by orders of magnitude more.
// Conversions and copies must be exact.
#include <cstdint>
#include <cstring>
#include <electra/backend/cpu/layer_norm.hpp>
#include <electra/backend/cpu/softmax.hpp>
#include <electra/backend/cuda/convert.cuh>
#include <electra/backend/cuda/elementwise.cuh>
#include <electra/backend/cuda/kernels.cuh>
#include <electra/ops/arithmetic.hpp>
#include <electra/ops/bce_with_logits.hpp>
#include <electra/ops/cross_entropy.hpp>
#include <electra/ops/dropout.hpp>
#include <electra/ops/embedding.hpp>
#include <electra/ops/gelu.hpp>
#include <electra/optim/adamw.hpp>
#include <electra/optim/clip.hpp>
#include <string>

#include "compare.hpp"

using namespace electra;
namespace cu = electra::cuda;
namespace fn = electra::expr::fn;
using cuda_test::Checks;
using cuda_test::device_copy;
using cuda_test::host_copy;
using cuda_test::random_floats;
using cuda_test::tensor;

namespace {

// Round-to-nearest-even fp32 -> bf16 bits, written independently of CUDA's intrinsic.
std::uint16_t bf16_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return std::uint16_t(u >> 16);
}

void check_error_messages(Checks& c) {
  std::string msg;
  try {
    ELECTRA_CUDA_CHECK(cudaMemcpy(nullptr, nullptr, 4, cudaMemcpyHostToDevice));
  } catch (const cu::cuda_error& e) {
    msg = e.what();
  }
  (void)cudaGetLastError();
  c.expect("error: a failing CUDA call names file:line, the call and CUDA's error",
           msg.find("kernels_vs_cpu.cu:") != std::string::npos && msg.find("cudaMemcpy(nullptr") != std::string::npos &&
               msg.find("failed: cuda") != std::string::npos,
           msg);
  msg.clear();
  try {
    ELECTRA_CUBLAS_CHECK(CUBLAS_STATUS_NOT_SUPPORTED);
  } catch (const electra::error& e) {  // cuda_error is an electra::error
    msg = e.what();
  }
  c.expect("error: a failing cuBLAS status names itself", msg.find("CUBLAS_STATUS_NOT_SUPPORTED") != std::string::npos,
           msg);
}

void check_buffers(Checks& c, std::mt19937& rng) {
  const std::vector<float> x = random_floats(1001, rng);
  const std::vector<float> back = host_copy(device_copy(x));
  c.expect("buffer: float round trip host -> device -> host is exact", back == x, "1001 floats");
  const std::vector<std::int32_t> ids = {3, -1, 7, 2147483647, 0};
  c.expect("buffer: int32 round trip is exact", host_copy(device_copy(ids)) == ids, "5 ids");
  cu::DeviceArray<float> a(10), b(std::move(a));
  c.expect("buffer: a moved-from array is empty", a.data() == nullptr && a.size() == 0 && b.size() == 10, "move");
  bool threw = false;
  try {
    cu::upload(b, Tensor<float>::zeros({11}));
  } catch (const shape_error&) {
    threw = true;
  }
  c.expect("buffer: uploading 11 elements into 10 is a shape_error", threw, "size check");
}

void check_elementwise(Checks& c, std::mt19937& rng) {
  const index_t n = 100003;  // not a multiple of the block size
  const std::vector<float> a = random_floats(n, rng), b = random_floats(n, rng), x = random_floats(n, rng, -4, 4);
  std::vector<float> cond(n);
  for (index_t i = 0; i < n; ++i) cond[i] = float(i % 3 == 0);
  const auto da = device_copy(a), db = device_copy(b), dx = device_copy(x), dc = device_copy(cond);
  cu::DeviceArray<float> out(n);
  const Tensor<float> ta = tensor(a, {n}), tb = tensor(b, {n}), tx = tensor(x, {n});

  cu::map(out, fn::Add{}, da, db);
  c.close("map: a + b (fn::Add) vs the CPU expression", host_copy(out), eval(ta + tb).to_vector(), 0, 0);
  cu::map(out, fn::Where{}, dc, da, db);
  std::vector<float> want(n);
  for (index_t i = 0; i < n; ++i) want[i] = fn::Where{}(cond[i], a[i], b[i]);
  c.close("map: where(c, a, b) (three inputs) vs the host functor", host_copy(out), want, 0, 0);
  cu::map(out, cu::bind_right(fn::Mul{}, 0.5f), dx);
  c.close("map: x * 0.5 (bind_right) vs the CPU expression", host_copy(out), eval(tx * 0.5f).to_vector(), 0, 0);
  cu::map(out, cu::bind_left(1.f, fn::Sub{}), dx);
  c.close("map: 1 - x (bind_left) vs the CPU expression", host_copy(out), eval(1.f - tx).to_vector(), 0, 0);
  cu::map(out, cu::GeluForward{}, dx);  // a functor composed from fn:: functors (gelu.cuh)
  // atol: for x near −4, 1 + erf(x/√2) cancels, and an ulp of erf becomes ~1e-7 of GELU's value.
  c.close("map: GELU composed of functors vs ops::gelu", host_copy(out), ops::gelu(Var<float>(tx)).value().to_vector(),
          1e-5, 1e-6);
  auto inplace = device_copy(x);
  cu::map(inplace, fn::Exp{}, inplace);
  c.close("map: exp in place (out aliases the input) vs the CPU expression", host_copy(inplace),
          eval(exp(tx)).to_vector(), 1e-6, 0);
}

void check_bf16(Checks& c, std::mt19937& rng) {
  std::vector<float> x = random_floats(4099, rng, -300, 300);
  x[0] = 1.00390625f;  // exactly halfway between two bf16 values: ties to even (1.0)
  x[1] = 1.01171875f;  // halfway, rounds up to the even 1.015625
  x[2] = 0.f;
  x[3] = -1e-40f;  // subnormal
  const auto dx = device_copy(x);
  cu::DeviceArray<cu::bf16> h(index_t(x.size()));
  cu::to_bf16(h, dx);
  std::vector<std::uint16_t> bits(x.size());
  ELECTRA_CUDA_CHECK(cudaMemcpy(bits.data(), h.data(), h.bytes(), cudaMemcpyDeviceToHost));
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < x.size(); ++i) wrong += bits[i] != bf16_bits(x[i]);
  c.expect("bf16: fp32 -> bf16 rounds to nearest even (bit-exact vs a host reference)", wrong == 0,
           std::to_string(wrong) + " of " + std::to_string(x.size()) + " differ");
  cu::DeviceArray<float> back(index_t(x.size()));
  cu::to_fp32(back, h);
  std::vector<float> want(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::uint32_t u = std::uint32_t(bf16_bits(x[i])) << 16;
    std::memcpy(&want[i], &u, 4);
  }
  c.close("bf16: bf16 -> fp32 is exact", host_copy(back), want, 0, 0);
}

void check_layer_norm(Checks& c, std::mt19937& rng, index_t rows, index_t n) {
  const std::string tag = " [" + std::to_string(rows) + "," + std::to_string(n) + "]";
  const auto x = random_floats(rows * n, rng, -3, 3), gamma = random_floats(n, rng, 0.5, 1.5),
             beta = random_floats(n, rng), dy = random_floats(rows * n, rng);
  const auto dx0 = random_floats(rows * n, rng), dgamma0 = random_floats(n, rng), dbeta0 = random_floats(n, rng);
  std::vector<float> y(rows * n), mean(rows), rstd(rows), dx = dx0, dgamma = dgamma0, dbeta = dbeta0;
  cpu::layer_norm_forward(y.data(), mean.data(), rstd.data(), x.data(), gamma.data(), beta.data(), rows, n, 1e-12);
  cpu::layer_norm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), x.data(), mean.data(), rstd.data(),
                           gamma.data(), rows, n);

  const auto d_x = device_copy(x), d_gamma = device_copy(gamma), d_beta = device_copy(beta), d_dy = device_copy(dy);
  const auto d_dx = device_copy(dx0), d_dgamma = device_copy(dgamma0), d_dbeta = device_copy(dbeta0);
  cu::DeviceArray<float> d_y(rows * n), d_mean(rows), d_rstd(rows);
  cu::layer_norm_forward(d_y.data(), d_mean.data(), d_rstd.data(), d_x.data(), d_gamma.data(), d_beta.data(), rows, n,
                         1e-12);
  cu::layer_norm_backward(d_dx.data(), d_dgamma.data(), d_dbeta.data(), d_dy.data(), d_x.data(), d_mean.data(),
                          d_rstd.data(), d_gamma.data(), rows, n);
  c.close("layer_norm forward y" + tag, host_copy(d_y), y, 1e-5, 1e-6);
  c.close("layer_norm forward mean" + tag, host_copy(d_mean), mean, 1e-5, 1e-7);
  c.close("layer_norm forward rstd" + tag, host_copy(d_rstd), rstd, 1e-5, 0);
  c.close("layer_norm backward dx (accumulated)" + tag, host_copy(d_dx), dx, 1e-5, 1e-5);
  c.close("layer_norm backward dgamma (accumulated)" + tag, host_copy(d_dgamma), dgamma, 1e-4, 1e-4);
  c.close("layer_norm backward dbeta (accumulated)" + tag, host_copy(d_dbeta), dbeta, 1e-4, 1e-4);
}

void check_softmax(Checks& c, std::mt19937& rng, index_t rows, index_t n) {
  const std::string tag = " [" + std::to_string(rows) + "," + std::to_string(n) + "]";
  const auto x = random_floats(rows * n, rng, -8, 8), dy = random_floats(rows * n, rng),
             dx0 = random_floats(rows * n, rng);
  std::vector<float> y(rows * n), ly(rows * n), dx = dx0, ldx = dx0;
  cpu::softmax_forward(y.data(), x.data(), rows, n);
  cpu::softmax_backward(dx.data(), y.data(), dy.data(), rows, n);
  cpu::log_softmax_forward(ly.data(), x.data(), rows, n);
  cpu::log_softmax_backward(ldx.data(), ly.data(), dy.data(), rows, n);

  const auto d_x = device_copy(x), d_dy = device_copy(dy), d_dx = device_copy(dx0), d_ldx = device_copy(dx0);
  cu::DeviceArray<float> d_y(rows * n), d_ly(rows * n);
  cu::softmax_forward(d_y.data(), d_x.data(), rows, n);
  cu::softmax_backward(d_dx.data(), d_y.data(), d_dy.data(), rows, n);
  cu::log_softmax_forward(d_ly.data(), d_x.data(), rows, n);
  cu::log_softmax_backward(d_ldx.data(), d_ly.data(), d_dy.data(), rows, n);
  c.close("softmax forward" + tag, host_copy(d_y), y, 1e-5, 1e-7);
  c.close("softmax backward (accumulated)" + tag, host_copy(d_dx), dx, 1e-5, 1e-6);
  c.close("log_softmax forward" + tag, host_copy(d_ly), ly, 1e-5, 1e-6);
  c.close("log_softmax backward (accumulated)" + tag, host_copy(d_ldx), ldx, 1e-5, 1e-5);
  auto in_place = device_copy(x);
  cu::softmax_forward(in_place.data(), in_place.data(), rows, n);
  c.close("softmax forward in place (y aliases x)" + tag, host_copy(in_place), y, 1e-5, 1e-7);
}

void check_embedding(Checks& c, std::mt19937& rng) {
  const index_t V = 50, E = 24, n = 300, padding = 0;
  std::vector<std::int32_t> ids(n);
  std::uniform_int_distribution<int> pick(0, int(V) - 1);
  for (auto& id : ids) id = pick(rng) % 10 == 0 ? 0 : pick(rng);  // many repeats and some padding
  const auto table = random_floats(V * E, rng), dy = random_floats(n * E, rng), dtable0 = random_floats(V * E, rng);
  auto cpu_table = Var<float>::parameter(tensor(table, {V, E}));
  const Tensor<std::int32_t> cpu_ids = Tensor<std::int32_t>::from(Shape{n}, ids);
  Var<float> y = ops::embedding(cpu_table, cpu_ids, padding);
  y.backward(tensor(dy, {n, E}));
  std::vector<float> dtable = cpu_table.grad().to_vector();
  for (index_t i = 0; i < V * E; ++i) dtable[i] += dtable0[i];

  const auto d_table = device_copy(table), d_dy = device_copy(dy), d_dtable = device_copy(dtable0);
  const auto d_ids = device_copy(ids);
  cu::DeviceArray<float> d_y(n * E);
  cu::embedding_forward(d_y.data(), d_table.data(), d_ids.data(), n, V, E);
  cu::embedding_backward(d_dtable.data(), d_dy.data(), d_ids.data(), n, V, E, padding);
  c.close("embedding forward (gather) vs ops::embedding", host_copy(d_y), y.value().to_vector(), 0, 0);
  c.close("embedding backward (scatter-add, padding row skipped, accumulated)", host_copy(d_dtable), dtable, 1e-5,
          1e-5);
}

void check_cross_entropy(Checks& c, std::mt19937& rng, bool with_rows_and_weights) {
  const std::string tag = with_rows_and_weights ? " (row indices, weights, ignored slots)" : " (all rows, no weights)";
  const index_t C = 1000, N = 25, R = with_rows_and_weights ? 40 : N;
  const float dloss = 2.5f;
  const auto logits = random_floats(R * C, rng, -6, 6), dlogits0 = random_floats(R * C, rng);
  std::vector<std::int32_t> rows(R), targets(N);
  for (index_t r = 0; r < R; ++r) rows[r] = std::int32_t(r);
  std::shuffle(rows.begin(), rows.end(), rng);
  rows.resize(N);  // distinct rows, in no particular order
  std::uniform_int_distribution<int> cls(0, int(C) - 1);
  for (auto& t : targets) t = cls(rng);
  std::vector<float> weights = random_floats(N, rng, 0, 1);
  if (with_rows_and_weights) {
    targets[3] = targets[11] = ops::kIgnoreIndex;
    weights[5] = weights[6] = 0.f;
  } else {
    for (index_t i = 0; i < N; ++i) rows[i] = std::int32_t(i);
  }
  // CPU: the selected rows gathered into [N, C].
  std::vector<float> gathered(N * C);
  for (index_t i = 0; i < N; ++i) std::copy_n(logits.begin() + rows[i] * C, C, gathered.begin() + i * C);
  auto x = Var<float>::parameter(tensor(gathered, {N, C}));
  const Tensor<std::int32_t> t = Tensor<std::int32_t>::from(Shape{N}, targets);
  const Var<float> loss = with_rows_and_weights
                              ? ops::cross_entropy(x, t, tensor(weights, {N}), ops::kIgnoreIndex, 1e-6)
                              : ops::cross_entropy(x, t);
  ops::scale(loss, dloss).backward();
  std::vector<float> dlogits = dlogits0;
  const std::vector<float> g = x.grad().to_vector();
  for (index_t i = 0; i < N; ++i)
    for (index_t k = 0; k < C; ++k) dlogits[rows[i] * C + k] += g[i * C + k];

  const auto d_logits = device_copy(logits), d_dlogits = device_copy(dlogits0), d_weights = device_copy(weights);
  const auto d_rows = device_copy(rows), d_targets = device_copy(targets);
  cu::DeviceArray<float> d_loss(1), d_lse(N), d_scale(N);
  const std::int32_t* row_ptr = with_rows_and_weights ? d_rows.data() : nullptr;
  cu::cross_entropy_forward(d_loss.data(), d_lse.data(), d_scale.data(), d_logits.data(), row_ptr, d_targets.data(),
                            with_rows_and_weights ? d_weights.data() : nullptr, N, C, ops::kIgnoreIndex,
                            with_rows_and_weights ? 1e-6 : 0.0);
  cu::cross_entropy_backward(d_dlogits.data(), d_logits.data(), d_lse.data(), d_scale.data(), row_ptr, d_targets.data(),
                             N, C, dloss);
  c.close("cross_entropy loss" + tag, host_copy(d_loss), {loss.item()}, 1e-6, 0);
  c.close("cross_entropy dlogits (accumulated)" + tag, host_copy(d_dlogits), dlogits, 1e-5, 1e-6);
}

void check_bce(Checks& c, std::mt19937& rng) {
  const index_t n = 5000;
  const float dloss = 50.f;  // the RTD weight
  const auto x = random_floats(n, rng, -6, 6), dx0 = random_floats(n, rng);
  std::vector<float> labels(n), mask(n);
  std::bernoulli_distribution coin(0.3), real(0.9);
  for (index_t i = 0; i < n; ++i) {
    labels[i] = float(coin(rng));
    mask[i] = float(real(rng));
  }
  auto xv = Var<float>::parameter(tensor(x, {n}));
  const Var<float> loss = ops::bce_with_logits(xv, tensor(labels, {n}), tensor(mask, {n}), 1e-6);
  ops::scale(loss, dloss).backward();
  std::vector<float> dx = xv.grad().to_vector();
  for (index_t i = 0; i < n; ++i) dx[i] += dx0[i];

  const auto d_x = device_copy(x), d_labels = device_copy(labels), d_mask = device_copy(mask), d_dx = device_copy(dx0);
  cu::DeviceArray<float> d_loss(1), d_scale(n);
  cu::bce_with_logits_forward(d_loss.data(), d_scale.data(), d_x.data(), d_labels.data(), d_mask.data(), n, 1e-6);
  cu::bce_with_logits_backward(d_dx.data(), d_x.data(), d_labels.data(), d_scale.data(), n, dloss);
  c.close("bce_with_logits loss (masked)", host_copy(d_loss), {loss.item()}, 1e-6, 0);
  c.close("bce_with_logits dx (accumulated)", host_copy(d_dx), dx, 1e-5, 1e-8);
}

// Four parameters: a big decaying weight (several chunks), a LayerNorm weight and a bias
// (no decay), a scalar, and one without a gradient. Three steps: clip active, clip inactive,
// and a NaN gradient (CPU throws, GPU leaves everything unchanged).
void check_adamw(Checks& c, std::mt19937& rng) {
  const std::vector<std::string> names = {
      "electra.encoder.layer.0.intermediate.dense.weight", "electra.encoder.layer.0.output.LayerNorm.weight",
      "electra.encoder.layer.0.output.dense.bias", "discriminator_predictions.scale",
      "electra.embeddings.position_embeddings.weight"};
  const std::vector<index_t> sizes = {40000, 257, 300, 1, 1000};
  const std::vector<double> lr_scales = {1.0, 0.8, 0.5, 1.0, 1.0};
  const std::size_t P = names.size(), no_grad = 4;
  optim::AdamWOptions options;
  options.weight_decay = 0.01;
  nn::ParameterList<float> params;
  std::vector<cu::DeviceArray<float>> p, g, m, v;
  std::vector<cu::AdamWTensor> tensors;
  for (std::size_t i = 0; i < P; ++i) {
    const auto init = random_floats(sizes[i], rng);
    params.push_back({names[i], Var<float>::parameter(tensor(init, {sizes[i]}))});
    p.push_back(device_copy(init));
    g.emplace_back(sizes[i]);
    m.push_back(device_copy(std::vector<float>(sizes[i], 0.f)));
    v.push_back(device_copy(std::vector<float>(sizes[i], 0.f)));
    tensors.push_back({p[i].data(), i == no_grad ? nullptr : g[i].data(), m[i].data(), v[i].data(), sizes[i],
                       lr_scales[i], options.decays(names[i]) ? float(options.weight_decay) : 0.f});
  }
  optim::AdamW<float> cpu_opt(params, options, lr_scales);
  cu::FusedAdamW gpu_opt(tensors, {options.beta1, options.beta2, options.eps});
  c.expect("adamw: the 40000-element tensor spans several chunks", gpu_opt.chunks() >= 5,
           std::to_string(gpu_opt.chunks()) + " chunks");

  const double lrs[] = {5e-4, 3e-4, 1e-4}, max_norms[] = {1.0, 1e6, 1.0};
  for (int step = 0; step < 3; ++step) {
    const bool nan_step = step == 2;
    for (std::size_t i = 0; i < P; ++i) {
      if (i == no_grad) continue;
      auto grad = random_floats(sizes[i], rng, -2, 2);
      if (nan_step && i == 1) grad[7] = NAN;
      params[i].var.impl()->grad_buffer().copy_from(tensor(grad, {sizes[i]}));
      cu::upload(g[i], tensor(grad, {sizes[i]}));
    }
    double cpu_norm = 0;
    bool cpu_threw = false;
    std::vector<std::vector<float>> before;
    for (std::size_t i = 0; i < P; ++i) before.push_back(params[i].var.value().to_vector());
    try {
      cpu_norm = optim::clip_grad_global_norm(params, max_norms[step]);
      cpu_opt.step(lrs[step]);
    } catch (const value_error&) {
      cpu_threw = true;
    }
    gpu_opt.step(lrs[step], max_norms[step]);
    const double gpu_norm = gpu_opt.last_norm();
    const std::string tag = " (step " + std::to_string(step + 1) +
                            (nan_step    ? ", NaN gradient)"
                             : step == 0 ? ", clipped)"
                                         : ", not clipped)");
    if (nan_step) {
      c.expect("adamw: a NaN gradient gives a NaN norm on both sides" + tag, cpu_threw && std::isnan(gpu_norm),
               "cpu threw: " + std::to_string(cpu_threw) + ", gpu norm " + std::to_string(gpu_norm));
      bool threw = false;
      try {
        cu::check_finite_norm(gpu_norm);
      } catch (const value_error&) {
        threw = true;
      }
      c.expect("adamw: check_finite_norm turns it into a value_error", threw, "as the CPU's clip");
      for (std::size_t i = 0; i < P; ++i)
        c.close("adamw: parameter " + std::to_string(i) + " unchanged" + tag, host_copy(p[i]), before[i], 0, 0);
      continue;
    }
    c.expect("adamw: global norm" + tag, std::fabs(gpu_norm - cpu_norm) <= 1e-9 * cpu_norm,
             "gpu " + std::to_string(gpu_norm) + ", cpu " + std::to_string(cpu_norm));
    for (std::size_t i = 0; i < P; ++i) {
      const std::string which = " " + std::to_string(i) + tag;
      c.close("adamw: parameter" + which, host_copy(p[i]), params[i].var.value().to_vector(), 1e-5, 1e-7);
      c.close("adamw: m" + which, host_copy(m[i]), cpu_opt.state(i).m.to_vector(), 1e-5, 1e-9);
      c.close("adamw: v" + which, host_copy(v[i]), cpu_opt.state(i).v.to_vector(), 1e-5, 1e-12);
    }
  }
}

// Dropout forward and backward against the CPU kernel: the same mask bit for bit (so the same
// outputs exactly: one multiply by the same scale), at a size that ends inside a chunk's
// second half, in place too.
void check_dropout(Checks& c, std::mt19937& rng) {
  const index_t n = 4096 * 3 + 2500;
  const float p = 0.1f;
  const std::uint64_t key = 0x5eedu;
  const auto x = random_floats(std::size_t(n), rng), acc = random_floats(std::size_t(n), rng);
  std::vector<float> want_y(static_cast<std::size_t>(n), 0.0f), want_acc = acc;
  ops::detail::apply_dropout_mask<false>(want_y.data(), x.data(), n, p, key);
  ops::detail::apply_dropout_mask<true>(want_acc.data(), x.data(), n, p, key);
  auto dx = device_copy(x), dy = device_copy(std::vector<float>(std::size_t(n), 0.0f)), dacc = device_copy(acc);
  cu::apply_dropout_mask<false>(dy.data(), dx.data(), n, p, key);
  cu::apply_dropout_mask<true>(dacc.data(), dx.data(), n, p, key);
  cu::apply_dropout_mask<false>(dx.data(), dx.data(), n, p, key);  // in place
  c.close("dropout forward (exact)", host_copy(dy), want_y, 0, 0);
  c.close("dropout backward accumulates (exact)", host_copy(dacc), want_acc, 0, 0);
  c.close("dropout in place (exact)", host_copy(dx), want_y, 0, 0);
}

// A "step" that allocates what a training step would: arrays of several sizes and a kernel
// with its own scratch. After the first, repeating it must not call cudaMalloc again.
void check_allocator(Checks& c, std::mt19937& rng) {
  using A = cu::CachingAllocator;
  c.expect("allocator: sizes round up to 512 B below 1 MiB and 2 MiB above",
           A::rounded_size(1) == 512 && A::rounded_size(512) == 512 && A::rounded_size(513) == 1024 &&
               A::rounded_size(std::size_t(1) << 20) == (std::size_t(2) << 20) &&
               A::rounded_size(std::size_t(3) << 20) == (std::size_t(4) << 20),
           "rounded_size");
  cu::CachingAllocator alloc;
  const index_t rows = 600, n = 256;
  const auto x = random_floats(rows * n, rng);
  auto step = [&] {
    cu::DeviceArray<float> dx(rows * n, alloc), dy(rows * n, alloc), xs(rows * n, alloc), mean(rows, alloc),
        rstd(rows, alloc), gamma(n, alloc), dgamma(n, alloc), dbeta(n, alloc), big(3 << 20, alloc);
    cu::upload(xs, tensor(x, {rows * n}));
    cu::upload(dy, tensor(x, {rows * n}));
    for (auto* a : {&dx, &mean, &rstd, &gamma, &dgamma, &dbeta}) a->zero();
    cu::layer_norm_backward(dx.data(), dgamma.data(), dbeta.data(), dy.data(), xs.data(), mean.data(), rstd.data(),
                            gamma.data(), rows, n, nullptr, alloc);
    ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());
  };
  step();
  const cu::AllocatorStats warm = alloc.stats();
  for (int i = 0; i < 5; ++i) step();
  const cu::AllocatorStats after = alloc.stats();
  c.expect("allocator: no cudaMalloc after the warm-up step",
           warm.cuda_malloc_calls > 0 && after.cuda_malloc_calls == warm.cuda_malloc_calls &&
               after.bytes_held == warm.bytes_held,
           std::to_string(warm.cuda_malloc_calls) + " cudaMalloc calls in warm-up, " +
               std::to_string(after.cuda_malloc_calls - warm.cuda_malloc_calls) + " in 5 more steps; " +
               std::to_string(after.bytes_held) + " bytes held");
  c.expect("allocator: nothing in use between steps", after.bytes_in_use == 0,
           std::to_string(after.bytes_in_use) + " bytes in use");
  alloc.release_all();
  const cu::AllocatorStats released = alloc.stats();
  c.expect(
      "allocator: release_all returns every cached block to CUDA",
      released.bytes_held == 0 && released.cached_blocks == 0 && released.cuda_free_calls == released.cuda_malloc_calls,
      std::to_string(released.cuda_free_calls) + " cudaFree calls");
  bool threw = false;
  int not_ours = 0;
  try {
    alloc.deallocate(&not_ours);
  } catch (const value_error&) {
    threw = true;
  }
  c.expect("allocator: freeing a pointer it did not allocate is a value_error", threw, "deallocate");
}

}  // namespace

int main() {
  Checks c;
  check_error_messages(c);  // host-only: runs without a GPU too
  if (!cuda_test::has_device("CUDA kernels vs CPU")) return c.finish() ? 1 : 77;
  std::mt19937 rng(20240607);
  try {
    check_buffers(c, rng);
    check_elementwise(c, rng);
    check_bf16(c, rng);
    check_layer_norm(c, rng, 300, 256);
    check_layer_norm(c, rng, 7, 100);
    check_softmax(c, rng, 64, 128);
    check_softmax(c, rng, 5, 1000);
    check_embedding(c, rng);
    check_cross_entropy(c, rng, true);
    check_cross_entropy(c, rng, false);
    check_bce(c, rng);
    check_dropout(c, rng);
    check_adamw(c, rng);
    check_allocator(c, rng);
  } catch (const std::exception& e) {
    c.expect("no exception", false, e.what());
  }
  return c.finish();
}
