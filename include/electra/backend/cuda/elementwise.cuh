// Elementwise maps on the device over the SAME functors the CPU assign loop evaluates
// (expr/functors.hpp, whose scalar forms are __host__ __device__): elementwise math is
// written once. One generic grid-stride kernel:
//   map(out, f, a [, b [, c]], stream)     out[i] = f(a[i], b[i], c[i])   all of n elements
// out may alias any input (each element is read before it is written, by the same thread).
// Scalars enter through bind_right / bind_left:
//   map(y, bind_right(fn::Mul{}, 0.5f), x)   y = x · 0.5
// A composite formula is a functor of your own whose operator() is ELECTRA_HD and calls
// the fn:: functors; it then runs unchanged on host and device.
#pragma once
#include "buffer.cuh"
#include "launch.cuh"

namespace electra::cuda {

// f(x, s) with s fixed: bind_right(fn::Sub{}, 1.f)(x) = x − 1.
template <class F, class S>
struct BoundRight {
  F f;
  S s;
  template <class X>
  ELECTRA_HD auto operator()(X x) const {
    return f(x, X(s));
  }
};
// f(s, x) with s fixed: bind_left(1.f, fn::Sub{})(x) = 1 − x.
template <class F, class S>
struct BoundLeft {
  S s;
  F f;
  template <class X>
  ELECTRA_HD auto operator()(X x) const {
    return f(X(s), x);
  }
};
template <class F, class S>
BoundRight<F, S> bind_right(F f, S s) {
  return {f, s};
}
template <class S, class F>
BoundLeft<F, S> bind_left(S s, F f) {
  return {s, f};
}

namespace detail {
// out[i] = f(in[i]...) for i in [0, n)
template <class Out, class F, class... In>
static __global__ void map_kernel(Out* out, index_t n, F f, const In*... in) {
  for (index_t i = global_thread_index(); i < n; i += grid_threads()) out[i] = Out(f(in[i]...));
}

template <class Out, class F, class... In>
void launch_map(cudaStream_t stream, Out* out, index_t n, F f, const In*... in) {
  if (n <= 0) return;
  map_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(out, n, f, in...);
  ELECTRA_CUDA_CHECK_LAUNCH(map_kernel);
}

template <class Out, class... In>
void check_map_sizes(const DeviceArray<Out>& out, const DeviceArray<In>&... in) {
  const index_t sizes[] = {in.size()...};
  for (index_t s : sizes)
    ELECTRA_CHECK(s == out.size(), shape_error, "cuda::map: an input has ", s, " elements, the output ", out.size());
}
}  // namespace detail

// Raw-pointer form: n elements at out and at each input.
template <class Out, class F, class... In>
void map_n(Out* out, index_t n, F f, cudaStream_t stream, const In*... in) {
  detail::launch_map(stream, out, n, f, in...);
}

template <class Out, class F, class A>
void map(const DeviceArray<Out>& out, F f, const DeviceArray<A>& a, cudaStream_t stream = nullptr) {
  detail::check_map_sizes(out, a);
  detail::launch_map(stream, out.data(), out.size(), f, static_cast<const A*>(a.data()));
}

template <class Out, class F, class A, class B>
void map(const DeviceArray<Out>& out, F f, const DeviceArray<A>& a, const DeviceArray<B>& b,
         cudaStream_t stream = nullptr) {
  detail::check_map_sizes(out, a, b);
  detail::launch_map(stream, out.data(), out.size(), f, static_cast<const A*>(a.data()),
                     static_cast<const B*>(b.data()));
}

template <class Out, class F, class A, class B, class C>
void map(const DeviceArray<Out>& out, F f, const DeviceArray<A>& a, const DeviceArray<B>& b, const DeviceArray<C>& c,
         cudaStream_t stream = nullptr) {
  detail::check_map_sizes(out, a, b, c);
  detail::launch_map(stream, out.data(), out.size(), f, static_cast<const A*>(a.data()),
                     static_cast<const B*>(b.data()), static_cast<const C*>(c.data()));
}

}  // namespace electra::cuda
