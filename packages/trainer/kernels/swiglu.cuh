// SwiGLU: h = silu(g) * u. forward reads the fp32 GEMM outputs g, u (N, I), writes bf16 copies of g and u for
// backward (what Hugging Face keeps too) and h (N, I) bf16 (the down-projection input), computed from the bf16
// copies. backward: dh (N, I) fp32 -> dg, du (N, I) bf16 (inputs of the gate/up backward GEMMs), and, when
// h is not null, h again from the same bf16 g, u: bit-identical to forward's, so the layer need not keep h.
#pragma once
#include "cuda_utils.cuh"

// --- kernels
__device__ __forceinline__ float silu_times(float gv, float uv) {
    float sig = 1.f / (1.f + expf(-gv));
    return gv * sig * uv;
}

__global__ void swiglu_forward_kernel(bf16* h, bf16* g_save, bf16* u_save, const float* g, const float* u, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gv = bf16_round(g[i]), uv = bf16_round(u[i]);
        h[i] = __float2bfloat16(silu_times(gv, uv));
        g_save[i] = __float2bfloat16(gv);
        u_save[i] = __float2bfloat16(uv);
    }
}

__global__ void swiglu_backward_kernel(bf16* dg, bf16* du, bf16* h, const float* dh, const bf16* g, const bf16* u, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gv = __bfloat162float(g[i]), uv = __bfloat162float(u[i]), d = dh[i];
        float sig = 1.f / (1.f + expf(-gv));
        float silu = gv * sig;
        dg[i] = __float2bfloat16(d * uv * sig * (1.f + gv * (1.f - sig)));
        du[i] = __float2bfloat16(d * silu);
        if (h) h[i] = __float2bfloat16(silu_times(gv, uv));
    }
}

// --- launchers
inline void swiglu_forward(bf16* h, bf16* g_save, bf16* u_save, const float* g, const float* u, size_t n, cudaStream_t s) {
    LAUNCH(swiglu_forward_kernel, elementwise_blocks(n), 256, s)(h, g_save, u_save, g, u, n);
}
inline void swiglu_backward(bf16* dg, bf16* du, bf16* h, const float* dh, const bf16* g, const bf16* u, size_t n, cudaStream_t s) {
    LAUNCH(swiglu_backward_kernel, elementwise_blocks(n), 256, s)(dg, du, h, dh, g, u, n);
}
