// cuBLASLt GEMM (backend/cuda/gemm.cuh) against the CPU's reference GEMM, with the CPU's
// row-major arguments: every transpose combination, padded leading dimensions, alpha and
// beta, strided batches (attention's shapes), K = 0, and each compute mode. Prints one line
// per check; exits 1 on any failure and 77 (ctest: skipped) when no GPU is present.
//
// Tolerances. Errors are measured against the scale of each output, Σ_k |a_ik|·|b_kj| (the
// magnitude a rounding error of the products is proportional to), so one bound fits every
// element whatever the cancellation:
//   fp32          1e-5  IEEE products, different summation order (K ≤ 1024: ~K·2^-24 worst case)
//   tf32          4e-3  inputs rounded to a 10-bit mantissa: each product off by up to 2·2^-11
//   bf16 inputs   1e-5  against a reference on the same bf16-rounded inputs (only the fp32
//                       accumulation order differs)
//   bf16 inputs   8e-3  against the unrounded fp32 inputs: each input off by up to 2^-9,
//                       each product by 2·2^-9 ≈ 3.9e-3, with a 2x margin
//   bf16 output   8e-3  plus one bf16 rounding of the result (2^-9 relative)
#include <cstdint>
#include <cstring>
#include <electra/backend/cpu/gemm.hpp>
#include <electra/backend/cuda/convert.cuh>
#include <electra/backend/cuda/gemm.cuh>
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

float round_to_bf16(float f) {  // round to nearest even, as __float2bfloat16_rn
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&f, &u, 4);
  return f;
}
std::vector<float> rounded_to_bf16(std::vector<float> v) {
  for (float& x : v) x = round_to_bf16(x);
  return v;
}

// One GEMM problem in the CPU's row-major terms, with its batch layout.
struct Problem {
  bool trans_a, trans_b;
  index_t M, N, K, lda, ldb, ldc, batch = 1;
  index_t stride_a = 0, stride_b = 0, stride_c = 0;
  float alpha = 0.7f, beta = 0.3f;
  std::string name() const {
    return "trans_a=" + std::to_string(trans_a) + " trans_b=" + std::to_string(trans_b) + " M=" + std::to_string(M) +
           " N=" + std::to_string(N) + " K=" + std::to_string(K) + (batch > 1 ? " batch=" + std::to_string(batch) : "");
  }
  index_t a_elems() const { return (batch - 1) * stride_a + (trans_a ? K : M) * lda; }
  index_t b_elems() const { return (batch - 1) * stride_b + (trans_b ? N : K) * ldb; }
  index_t c_elems() const { return (batch - 1) * stride_c + M * ldc; }
};

// A padded problem: leading dimensions 3 larger than needed, batches 5 elements apart.
Problem padded(bool ta, bool tb, index_t M, index_t N, index_t K, index_t batch = 1) {
  Problem p{ta, tb, M, N, K, (ta ? M : K) + 3, (tb ? K : N) + 3, N + 3, batch};
  if (batch > 1) {
    p.stride_a = (ta ? K : M) * p.lda + 5;
    p.stride_b = (tb ? N : K) * p.ldb + 5;
    p.stride_c = M * p.ldc + 5;
  }
  return p;
}

// want = the CPU reference on (a, b, c0); scale = Σ_k |a|·|b| per output element.
void reference(const Problem& p, const std::vector<float>& a, const std::vector<float>& b, std::vector<float>& want,
               std::vector<float>& scale) {
  std::vector<float> abs_a(a.size()), abs_b(b.size());
  for (std::size_t i = 0; i < a.size(); ++i) abs_a[i] = std::fabs(a[i]);
  for (std::size_t i = 0; i < b.size(); ++i) abs_b[i] = std::fabs(b[i]);
  scale.assign(want.size(), 0.f);
  for (index_t i = 0; i < p.batch; ++i) {
    cpu::gemm_reference(p.trans_a, p.trans_b, p.M, p.N, p.K, p.alpha, a.data() + i * p.stride_a, p.lda,
                        b.data() + i * p.stride_b, p.ldb, p.beta, want.data() + i * p.stride_c, p.ldc);
    cpu::gemm_reference(p.trans_a, p.trans_b, p.M, p.N, p.K, std::fabs(p.alpha), abs_a.data() + i * p.stride_a, p.lda,
                        abs_b.data() + i * p.stride_b, p.ldb, 0.f, scale.data() + i * p.stride_c, p.ldc);
  }
}

// |got − want| <= tol · (scale + |β·c0|) on the output elements; padding must be untouched.
void compare(Checks& c, const std::string& name, const Problem& p, const std::vector<float>& got,
             const std::vector<float>& want, const std::vector<float>& scale, const std::vector<float>& c0,
             double tol) {
  std::vector<float> g, w, bound;
  bool padding_intact = true;
  for (index_t i = 0; i < index_t(got.size()); ++i) {
    const index_t in_batch = p.batch > 1 ? i % p.stride_c : i, batch = p.batch > 1 ? i / p.stride_c : 0;
    const bool inside = batch < p.batch && in_batch < p.M * p.ldc && in_batch % p.ldc < p.N;
    if (!inside) {
      padding_intact &= got[i] == c0[i];
      continue;
    }
    g.push_back(got[i] - want[i]);
    w.push_back(0.f);
    bound.push_back(float(tol * (scale[i] + std::fabs(p.beta * c0[i]))));
  }
  // close(): |g − 0| <= atol + rtol·0 with a per-element atol, done here by normalising.
  std::vector<float> ratio(g.size()), zero(g.size(), 0.f);
  for (std::size_t i = 0; i < g.size(); ++i) ratio[i] = bound[i] > 0 ? g[i] / bound[i] : g[i];
  c.close(name + " (error / tolerance)", ratio, zero, 0, 1.0);
  c.expect(name + ": padding between rows and batches untouched", padding_intact, "ldc and stride_c respected");
}

void check_fp32_and_tf32(Checks& c, cu::GemmContext& ctx, std::mt19937& rng, const Problem& p) {
  const auto a = random_floats(p.a_elems(), rng), b = random_floats(p.b_elems(), rng),
             c0 = random_floats(p.c_elems(), rng);
  std::vector<float> want = c0, scale;
  reference(p, a, b, want, scale);
  const auto da = device_copy(a), db = device_copy(b);
  for (const cu::ComputeMode mode : {cu::ComputeMode::fp32, cu::ComputeMode::tf32}) {
    const auto dc = device_copy(c0);
    if (p.batch > 1)
      cu::gemm_strided_batched(ctx, mode, p.trans_a, p.trans_b, p.M, p.N, p.K, p.alpha, da.data(), p.lda, p.stride_a,
                               db.data(), p.ldb, p.stride_b, p.beta, dc.data(), p.ldc, p.stride_c, p.batch);
    else
      cu::gemm(ctx, mode, p.trans_a, p.trans_b, p.M, p.N, p.K, p.alpha, da.data(), p.lda, db.data(), p.ldb, p.beta,
               dc.data(), p.ldc);
    compare(c, std::string(cu::to_string(mode)) + " " + p.name(), p, host_copy(dc), want, scale, c0,
            mode == cu::ComputeMode::fp32 ? 1e-5 : 4e-3);
  }
}

void check_bf16(Checks& c, cu::GemmContext& ctx, std::mt19937& rng, const Problem& p) {
  const auto a = random_floats(p.a_elems(), rng), b = random_floats(p.b_elems(), rng),
             c0 = random_floats(p.c_elems(), rng);
  std::vector<float> want_exact = c0, want_rounded = c0, scale, scale_rounded;
  reference(p, a, b, want_exact, scale);
  reference(p, rounded_to_bf16(a), rounded_to_bf16(b), want_rounded, scale_rounded);
  const auto da = device_copy(a), db = device_copy(b);
  cu::DeviceArray<cu::bf16> ha(da.size()), hb(db.size());
  cu::to_bf16(ha, da);  // the fp32 -> bf16 copies a mixed-precision step makes
  cu::to_bf16(hb, db);
  auto run = [&](auto* out) {
    if (p.batch > 1)
      cu::gemm_strided_batched(ctx, cu::ComputeMode::bf16, p.trans_a, p.trans_b, p.M, p.N, p.K, p.alpha, ha.data(),
                               p.lda, p.stride_a, hb.data(), p.ldb, p.stride_b, p.beta, out, p.ldc, p.stride_c,
                               p.batch);
    else
      cu::gemm(ctx, cu::ComputeMode::bf16, p.trans_a, p.trans_b, p.M, p.N, p.K, p.alpha, ha.data(), p.lda, hb.data(),
               p.ldb, p.beta, out, p.ldc);
  };
  const auto dc = device_copy(c0);
  run(dc.data());
  const auto got = host_copy(dc);
  compare(c, "bf16 in, fp32 out vs bf16-rounded inputs, " + p.name(), p, got, want_rounded, scale_rounded, c0, 1e-5);
  compare(c, "bf16 in, fp32 out vs fp32 inputs, " + p.name(), p, got, want_exact, scale, c0, 8e-3);
  // bf16 output: C starts as bf16(c0).
  cu::DeviceArray<cu::bf16> hc(dc.size());
  const auto dc0 = device_copy(c0);
  cu::to_bf16(hc, dc0);
  run(hc.data());
  cu::DeviceArray<float> back(hc.size());
  cu::to_fp32(back, hc);
  compare(c, "bf16 in, bf16 out vs fp32 inputs, " + p.name(), p, host_copy(back), want_exact, scale,
          rounded_to_bf16(c0), 8e-3);
}

void check_k_zero_and_errors(Checks& c, cu::GemmContext& ctx) {
  Problem p{false, false, 4, 5, 0, 1, 5, 5};
  std::vector<float> c0(20, 2.f);
  auto dc = device_copy(c0);
  cu::DeviceArray<float> dummy(1);
  cu::gemm(ctx, cu::ComputeMode::fp32, false, false, p.M, p.N, 0, 1.f, dummy.data(), 1, dummy.data(), 5, 0.5f,
           dc.data(), 5);
  c.close("K = 0: C = beta · C", host_copy(dc), std::vector<float>(20, 1.f), 0, 0);
  bool threw = false;
  try {
    cu::gemm(ctx, cu::ComputeMode::fp32, false, false, 4, 5, 6, 1.f, dummy.data(), 5, dummy.data(), 5, 0.f, dc.data(),
             5);  // lda 5 < K 6
  } catch (const shape_error& e) {
    threw = std::string(e.what()).find("lda 5") != std::string::npos;
  }
  c.expect("a leading dimension smaller than the matrix is a shape_error naming it", threw, "lda check");
  threw = false;
  try {
    cu::gemm(ctx, cu::ComputeMode::bf16, false, false, 4, 5, 5, 1.f, dummy.data(), 5, dummy.data(), 5, 0.f, dc.data(),
             5);
  } catch (const value_error&) {
    threw = true;
  }
  c.expect("float inputs in bf16 mode are a value_error", threw, "mode check");
}

}  // namespace

int main() {
  Checks c;
  if (!cuda_test::has_device("cuBLASLt GEMM vs CPU")) return 77;
  std::mt19937 rng(7);
  try {
    cu::GemmContext ctx;
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) {
        check_fp32_and_tf32(c, ctx, rng, padded(ta, tb, 37, 53, 71));
        check_bf16(c, ctx, rng, padded(ta, tb, 37, 53, 71));
      }
    // Unpadded ELECTRA-Small-like shapes: a projection's forward (x·Wᵀ) and weight gradient (dyᵀ·x).
    check_fp32_and_tf32(c, ctx, rng, Problem{false, true, 512, 256, 1024, 1024, 1024, 256});
    check_fp32_and_tf32(c, ctx, rng, Problem{true, false, 256, 1024, 512, 256, 1024, 1024});
    // Attention: scores = Q·Kᵀ and context = P·V per (batch, head), strided.
    check_fp32_and_tf32(c, ctx, rng, padded(false, true, 40, 40, 16, 6));
    check_fp32_and_tf32(c, ctx, rng, padded(false, false, 40, 16, 40, 6));
    check_bf16(c, ctx, rng, padded(false, true, 40, 40, 16, 6));
    check_k_zero_and_errors(c, ctx);
    const std::size_t plans = ctx.cached_plans();
    check_fp32_and_tf32(c, ctx, rng, Problem{false, true, 512, 256, 1024, 1024, 1024, 256});
    c.expect("a repeated problem reuses its cached plan", ctx.cached_plans() == plans,
             std::to_string(ctx.cached_plans()) + " plans");
  } catch (const std::exception& e) {
    c.expect("no exception", false, e.what());
  }
  return c.finish();
}
