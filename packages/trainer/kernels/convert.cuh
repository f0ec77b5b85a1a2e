// Elementwise dtype conversion: fp32 -> bf16 (GEMM operands made from fp32 results, e.g. v and the
// residual-stream gradient), and a fill used to poison or clear buffers.
#pragma once
#include "cuda_utils.cuh"

// --- kernels
__global__ void convert_f32_to_bf16_kernel(bf16* out, const float* in, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16(in[i]);
}

// --- launchers
inline void convert_f32_to_bf16(bf16* out, const float* in, size_t n, cudaStream_t s) {
    if (n) LAUNCH(convert_f32_to_bf16_kernel, elementwise_blocks(n), 256, s)(out, in, n);
}
