// Shared by the CUDA-vs-CPU test programs: the no-GPU skip, random inputs, copies between host
// vectors and device arrays, one comparison that prints a line per check (name, worst error,
// tolerance) and counts failures, and a comparison of every parameter gradient by name.
// Tolerance: |got − want| <= atol + rtol·|want| element by element.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <electra/backend/cuda/buffer.cuh>
#include <electra/nn/parameter.hpp>
#include <random>
#include <string>
#include <vector>

namespace electra::cuda_test {

// True when a CUDA device is present; otherwise prints why the checks are skipped.
inline bool has_device(const char* program) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: %s skipped (it compiled)\n", program);
    return false;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    std::printf("device 0: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  return true;
}

// Host vector <-> device array, element for element (any trivially copyable T, bf16 too).
template <class T>
cuda::DeviceArray<T> device_copy(const std::vector<T>& v) {
  cuda::DeviceArray<T> d(index_t(v.size()));
  ELECTRA_CUDA_CHECK(cudaMemcpy(d.data(), v.data(), d.bytes(), cudaMemcpyHostToDevice));
  return d;
}
template <class T>
std::vector<T> host_copy(const cuda::DeviceArray<T>& d) {
  std::vector<T> v(std::size_t(d.size()));
  ELECTRA_CUDA_CHECK(cudaMemcpy(v.data(), d.data(), d.bytes(), cudaMemcpyDeviceToHost));
  return v;
}
inline Tensor<float> tensor(const std::vector<float>& v, const Shape& s) { return Tensor<float>::from(s, v); }

inline std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

class Checks {
 public:
  // Element-wise comparison; one printed line.
  bool close(const std::string& name, const float* got, const float* want, std::size_t n, double rtol, double atol) {
    double worst = 0;
    std::size_t bad = 0, first_bad = n;
    for (std::size_t i = 0; i < n; ++i) {
      const double g = got[i], w = want[i], err = std::fabs(g - w);
      const bool ok = err <= atol + rtol * std::fabs(w) || (std::isnan(g) && std::isnan(w));
      if (!(err <= worst) && !std::isnan(err)) worst = err;
      if (!ok) {
        if (first_bad == n) first_bad = i;
        ++bad;
      }
    }
    if (bad) {
      std::printf(
          "FAIL %s: %zu of %zu elements outside tolerance (rtol %g, atol %g); first at %zu: got %.9g, want %.9g\n",
          name.c_str(), bad, n, rtol, atol, first_bad, double(got[first_bad]), double(want[first_bad]));
      ++failures_;
      return false;
    }
    std::printf("ok   %s: %zu elements, max |diff| %.3g (rtol %g, atol %g)\n", name.c_str(), n, worst, rtol, atol);
    return true;
  }
  bool close(const std::string& name, const std::vector<float>& got, const std::vector<float>& want, double rtol,
             double atol) {
    if (got.size() != want.size()) return expect(name, false, "sizes differ");
    return close(name, got.data(), want.data(), got.size(), rtol, atol);
  }
  // A yes/no property with a short explanation.
  bool expect(const std::string& name, bool ok, const std::string& detail) {
    std::printf("%s %s: %s\n", ok ? "ok  " : "FAIL", name.c_str(), detail.c_str());
    if (!ok) ++failures_;
    return ok;
  }
  int finish() const {
    std::printf("%s: %d failed check%s\n", failures_ ? "FAIL" : "ok", failures_, failures_ == 1 ? "" : "s");
    return failures_ ? 1 : 0;
  }

 private:
  int failures_ = 0;
};

// Every parameter's gradient, GPU against CPU, one line per tensor that fails (and a summary).
// A tensor passes when max |diff| <= rel · scale + 1e-7, scale its largest |gradient|; for a
// bias, scale is at least its layer's weight gradient's: some biases' exact gradient is zero
// by an invariance (attention keys' bias under softmax's shift, the span head's bias under each
// row's softmax − one-hot), so what remains is rounding of terms as large as the weight's.
inline void compare_gradients(Checks& c, const std::string& tag, const nn::ParameterList<float>& cpu,
                              const nn::ParameterList<float>& gpu, double rel) {
  auto largest = [](const std::vector<float>& v) {
    double m = 0;
    for (float x : v) m = std::max(m, double(std::fabs(x)));
    return m;
  };
  auto cpu_grad = [&](std::size_t i) {
    return cpu[i].var.has_grad() ? cpu[i].var.grad().to_vector()
                                 : std::vector<float>(std::size_t(cpu[i].var.shape().numel()), 0.f);
  };
  int bad = 0;
  double worst = 0;
  std::string worst_name;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    const std::vector<float> want = cpu_grad(i);
    const std::vector<float> got = gpu[i].var.grad().to_vector();
    double scale = largest(want), diff = 0;
    const std::string& name = cpu[i].name;
    if (name.size() > 5 && name.ends_with(".bias"))
      for (std::size_t j = 0; j < cpu.size(); ++j)
        if (cpu[j].name == name.substr(0, name.size() - 5) + ".weight") scale = std::max(scale, largest(cpu_grad(j)));
    for (std::size_t k = 0; k < want.size(); ++k) {
      const double e = std::fabs(double(got[k]) - double(want[k]));
      diff = std::isnan(e) ? INFINITY : std::max(diff, e);
    }
    const double ratio = diff / (scale + 1e-30);
    if (ratio > worst) worst = ratio, worst_name = name;
    if (!(diff <= rel * scale + 1e-7)) {
      ++bad;
      c.expect(tag + ": gradient of " + name, false,
               "max |diff| " + std::to_string(diff) + " against a scale of " + std::to_string(scale));
    }
  }
  c.expect(tag + ": all " + std::to_string(cpu.size()) + " parameter gradients", bad == 0,
           std::to_string(bad) + " outside " + std::to_string(rel) + " of their scale; worst " + worst_name + " at " +
               std::to_string(worst));
}

// Runs `step` three times with the default allocator: the third may not call cudaMalloc.
template <class Step>
void expect_no_malloc_after_warmup(Checks& c, const std::string& what, Step&& step) {
  std::size_t mallocs[3] = {};
  for (auto& count : mallocs) {
    step();
    ELECTRA_CUDA_CHECK(cudaDeviceSynchronize());
    count = cuda::default_allocator().stats().cuda_malloc_calls;
  }
  c.expect(what + ": no cudaMalloc after the warm-up steps", mallocs[2] == mallocs[1],
           std::to_string(mallocs[0]) + ", " + std::to_string(mallocs[1]) + ", " + std::to_string(mallocs[2]) +
               " cudaMalloc calls after steps 1, 2, 3");
}

// Runs one group of checks; an exception fails that group alone, so later groups still run.
template <class F>
void guarded(Checks& c, const std::string& name, F&& checks) {
  try {
    checks();
  } catch (const std::exception& e) {
    c.expect(name + ": no exception", false, e.what());
  }
}

}  // namespace electra::cuda_test
