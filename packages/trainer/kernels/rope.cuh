// Fused per-head q/k RMSNorm + RoPE (Hugging Face rotate_half, half-split layout: dims i and i + D/2 form
// a pair rotated by angle t * theta^(-2i/D)).
// forward: x (N, nh, D) fp32 GEMM output -> raw (N, nh, D) bf16 (x rounded, as Hugging Face's bf16 projection
// output; saved for backward), rstd (N, nh) and out (N, nh, D) bf16 (attention input), all from raw.
// rebuild: out again from raw and rstd, bit-identical to forward's (same qk_rope_pair), so the backward
// need not keep out. Position of token n is n % T (right-padded batches).
// cos/sin tables (T, D/2) fp32 are computed once on the host in double precision.
// backward: dout (N, nh, D) fp32 -> dx (N, nh, D) bf16 (input gradient of the q or k projection).
// One warp per (token, head); lane handles pairs (i, i + D/2) for i = lane, lane + 32, ...
#pragma once
#include "cuda_utils.cuh"

// --- kernels
// Normalised, weighted and rotated pair (a, b) = raw[i], raw[i + D/2] -> out[i], out[i + D/2]. The one place
// this arithmetic is written: forward and rebuild must round the same way.
__device__ __forceinline__ void qk_rope_pair(bf16* o, float a, float b, float r, const bf16* w, const float* cos_t, const float* sin_t,
                                             int t, int i, int half) {
    float an = a * r * __bfloat162float(w[i]), bn = b * r * __bfloat162float(w[i + half]);
    float c = cos_t[t * half + i], s = sin_t[t * half + i];
    o[i] = __float2bfloat16(an * c - bn * s);
    o[i + half] = __float2bfloat16(bn * c + an * s);
}

__global__ void qk_norm_rope_forward_kernel(bf16* out, bf16* raw, float* rstd, const float* x, const bf16* w,
                                            const float* cos_t, const float* sin_t, int N, int T, int nh, int D, float eps) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;   // row = n * nh + head
    int lane = threadIdx.x % 32;
    if (row >= N * nh) return;
    int t = (row / nh) % T, half = D / 2;
    const float* xr = x + (size_t)row * D;
    float ss = 0.f;
    for (int i = lane; i < D; i += 32) {
        float v = bf16_round(xr[i]);
        ss += v * v;
    }
    ss = warp_sum(ss);
    float r = rsqrtf(ss / D + eps);
    for (int i = lane; i < half; i += 32) {
        float a = bf16_round(xr[i]), b = bf16_round(xr[i + half]);
        raw[(size_t)row * D + i] = __float2bfloat16(a);
        raw[(size_t)row * D + i + half] = __float2bfloat16(b);
        qk_rope_pair(out + (size_t)row * D, a, b, r, w, cos_t, sin_t, t, i, half);
    }
    if (lane == 0) rstd[row] = r;
}

__global__ void qk_norm_rope_rebuild_kernel(bf16* out, const bf16* raw, const float* rstd, const bf16* w,
                                            const float* cos_t, const float* sin_t, int N, int T, int nh, int D) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= N * nh) return;
    int t = (row / nh) % T, half = D / 2;
    const bf16* rr = raw + (size_t)row * D;
    float r = rstd[row];
    for (int i = lane; i < half; i += 32)
        qk_rope_pair(out + (size_t)row * D, __bfloat162float(rr[i]), __bfloat162float(rr[i + half]), r, w, cos_t, sin_t, t, i, half);
}

__global__ void qk_norm_rope_backward_kernel(bf16* dx, const float* dout, const bf16* raw, const float* rstd, const bf16* w,
                                             const float* cos_t, const float* sin_t, int N, int T, int nh, int D) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= N * nh) return;
    int t = (row / nh) % T, half = D / 2;
    float r = rstd[row];
    const float* dr = dout + (size_t)row * D;
    const bf16* xr = raw + (size_t)row * D;
    // Pass 1: mean(g * xhat) where g = d(normed)*w is the gradient after undoing the rotation.
    float dot = 0.f;
    for (int i = lane; i < half; i += 32) {
        float c = cos_t[t * half + i], s = sin_t[t * half + i];
        float ga = (dr[i] * c + dr[i + half] * s) * __bfloat162float(w[i]);
        float gb = (dr[i + half] * c - dr[i] * s) * __bfloat162float(w[i + half]);
        dot += ga * __bfloat162float(xr[i]) * r + gb * __bfloat162float(xr[i + half]) * r;
    }
    dot = warp_sum(dot) / D;
    for (int i = lane; i < half; i += 32) {
        float c = cos_t[t * half + i], s = sin_t[t * half + i];
        float ga = (dr[i] * c + dr[i + half] * s) * __bfloat162float(w[i]);
        float gb = (dr[i + half] * c - dr[i] * s) * __bfloat162float(w[i + half]);
        dx[(size_t)row * D + i] = __float2bfloat16(r * (ga - __bfloat162float(xr[i]) * r * dot));
        dx[(size_t)row * D + i + half] = __float2bfloat16(r * (gb - __bfloat162float(xr[i + half]) * r * dot));
    }
}

// --- launchers
inline void qk_norm_rope_forward(bf16* out, bf16* raw, float* rstd, const float* x, const bf16* w, const float* cos_t,
                                 const float* sin_t, int N, int T, int nh, int D, float eps, cudaStream_t s) {
    if (N > 0) LAUNCH(qk_norm_rope_forward_kernel, ceil_div((long long)N * nh, 8), 256, s)(out, raw, rstd, x, w, cos_t, sin_t, N, T, nh, D, eps);
}
inline void qk_norm_rope_rebuild(bf16* out, const bf16* raw, const float* rstd, const bf16* w, const float* cos_t,
                                 const float* sin_t, int N, int T, int nh, int D, cudaStream_t s) {
    if (N > 0) LAUNCH(qk_norm_rope_rebuild_kernel, ceil_div((long long)N * nh, 8), 256, s)(out, raw, rstd, w, cos_t, sin_t, N, T, nh, D);
}
inline void qk_norm_rope_backward(bf16* dx, const float* dout, const bf16* raw, const float* rstd, const bf16* w, const float* cos_t,
                                  const float* sin_t, int N, int T, int nh, int D, cudaStream_t s) {
    if (N > 0) LAUNCH(qk_norm_rope_backward_kernel, ceil_div((long long)N * nh, 8), 256, s)(dx, dout, raw, rstd, w, cos_t, sin_t, N, T, nh, D);
}
