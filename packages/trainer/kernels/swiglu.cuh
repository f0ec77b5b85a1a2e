// SwiGLU: h = silu(g) * u. forward reads the fp32 GEMM outputs g, u (N, I), writes h (N, I) bf16 (the
// down-projection input) and bf16 copies of g and u for backward (what Hugging Face keeps too).
// backward: dh (N, I) fp32 -> dg, du (N, I) bf16 (inputs of the gate/up backward GEMMs).
#pragma once
#include "cuda_utils.cuh"

// --- kernels
__global__ void swiglu_forward_kernel(bf16* h, bf16* g_save, bf16* u_save, const float* g, const float* u, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gv = g[i], uv = u[i];
        float sig = 1.f / (1.f + expf(-gv));
        h[i] = __float2bfloat16(gv * sig * uv);
        g_save[i] = __float2bfloat16(gv);
        u_save[i] = __float2bfloat16(uv);
    }
}

__global__ void swiglu_backward_kernel(bf16* dg, bf16* du, const float* dh, const bf16* g, const bf16* u, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gv = __bfloat162float(g[i]), uv = __bfloat162float(u[i]), d = dh[i];
        float sig = 1.f / (1.f + expf(-gv));
        float silu = gv * sig;
        dg[i] = __float2bfloat16(d * uv * sig * (1.f + gv * (1.f - sig)));
        du[i] = __float2bfloat16(d * silu);
    }
}

// --- launchers
inline void swiglu_forward(bf16* h, bf16* g_save, bf16* u_save, const float* g, const float* u, size_t n, cudaStream_t s) {
    LAUNCH(swiglu_forward_kernel, elementwise_blocks(n), 256, s)(h, g_save, u_save, g, u, n);
}
inline void swiglu_backward(bf16* dg, bf16* du, const float* dh, const bf16* g, const bf16* u, size_t n, cudaStream_t s) {
    LAUNCH(swiglu_backward_kernel, elementwise_blocks(n), 256, s)(dg, du, dh, g, u, n);
}
