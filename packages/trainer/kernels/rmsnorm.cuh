// RMSNorm over the hidden dim with the residual stream kept in fp32.
// forward: out (N, C) bf16 = x * rstd * w, rstd (N) saved for backward.
// backward (fused residual): dres (N, C) fp32 += d(out)/d(x) applied to dout; dres may be any fp32
// buffer holding the residual-stream gradient (the residual add's backward is the identity).
// One warp per row; fp32 math throughout (Hugging Face rounds the normalised x to bf16 before the weight).
#pragma once
#include "cuda_utils.cuh"

// --- kernels
__global__ void rmsnorm_forward_kernel(bf16* out, float* rstd, const float* x, const bf16* w, int N, int C, float eps) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* xr = x + (size_t)row * C;
    float ss = 0.f;
    for (int c = lane; c < C; c += 32) ss += xr[c] * xr[c];
    ss = warp_sum(ss);
    float r = rsqrtf(ss / C + eps);
    for (int c = lane; c < C; c += 32) out[(size_t)row * C + c] = __float2bfloat16(xr[c] * r * __bfloat162float(w[c]));
    if (lane == 0) rstd[row] = r;
}

// dx = rstd * (g - xhat * mean(g * xhat)), g = dout * w, xhat = x * rstd; dres += dx.
__global__ void rmsnorm_backward_kernel(float* dres, const float* dout, const float* x, const float* rstd, const bf16* w, int N, int C) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= N) return;
    const float* xr = x + (size_t)row * C;
    const float* dr = dout + (size_t)row * C;
    float r = rstd[row];
    float dot = 0.f;
    for (int c = lane; c < C; c += 32) dot += dr[c] * __bfloat162float(w[c]) * xr[c] * r;
    dot = warp_sum(dot) / C;
    for (int c = lane; c < C; c += 32) {
        float g = dr[c] * __bfloat162float(w[c]);
        dres[(size_t)row * C + c] += r * (g - xr[c] * r * dot);
    }
}

// --- launchers
inline void rmsnorm_forward(bf16* out, float* rstd, const float* x, const bf16* w, int N, int C, float eps, cudaStream_t s) {
    if (N > 0) LAUNCH(rmsnorm_forward_kernel, ceil_div(N, 8), 256, s)(out, rstd, x, w, N, C, eps);
}
inline void rmsnorm_backward(float* dres, const float* dout, const float* x, const float* rstd, const bf16* w, int N, int C, cudaStream_t s) {
    if (N > 0) LAUNCH(rmsnorm_backward_kernel, ceil_div(N, 8), 256, s)(dres, dout, x, rstd, w, N, C);
}
