// fp32 <-> bf16 conversion for mixed precision (bf16 operands, fp32 master weights and
// accumulation). Rounding to bf16 is round-to-nearest-even (__float2bfloat16_rn), as
// PyTorch's .to(torch.bfloat16); bf16 -> fp32 is exact.
//   to_bf16(out, in):   out[i] = bf16(in[i])     in fp32 [n], out bf16 [n]
//   to_fp32(out, in):   out[i] = float(in[i])    in bf16 [n], out fp32 [n]
#pragma once
#include <cuda_bf16.h>

#include "elementwise.cuh"

namespace electra::cuda {

using bf16 = __nv_bfloat16;

struct ToBf16 {
  __host__ __device__ bf16 operator()(float x) const { return __float2bfloat16_rn(x); }
};
struct ToFp32 {
  __host__ __device__ float operator()(bf16 x) const { return __bfloat162float(x); }
};

inline void to_bf16(bf16* out, const float* in, index_t n, cudaStream_t stream = nullptr) {
  map_n(out, n, ToBf16{}, stream, in);
}
inline void to_fp32(float* out, const bf16* in, index_t n, cudaStream_t stream = nullptr) {
  map_n(out, n, ToFp32{}, stream, in);
}
inline void to_bf16(const DeviceArray<bf16>& out, const DeviceArray<float>& in, cudaStream_t stream = nullptr) {
  map(out, ToBf16{}, in, stream);
}
inline void to_fp32(const DeviceArray<float>& out, const DeviceArray<bf16>& in, cudaStream_t stream = nullptr) {
  map(out, ToFp32{}, in, stream);
}

}  // namespace electra::cuda
