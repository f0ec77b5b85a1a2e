// Optimizer over the ONE flat fp32 LoRA buffer (params, grads, m, v; canonical order of lora.h).
// grad_norm: deterministic two-pass sum of squares (fixed grid of partials, then one block in fixed
// order) into a device double. adamw: g' = g * grad_mult (clipping), PyTorch AdamW update with bias
// corrections bc1 = 1 - b1^t, bc2 = 1 - b2^t computed on the host in double.
#pragma once
#include "cuda_utils.cuh"

#define GRAD_NORM_BLOCKS 256

// --- kernels
__global__ void sumsq_partial_kernel(double* partial, const float* g, size_t n) {
    __shared__ double part[256];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        s += (double)g[i] * g[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = part[0];
}

__global__ void sumsq_final_kernel(double* out, const double* partial, int n) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += partial[i];
    *out = s;
}

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, size_t n, float lr, float b1, float b2,
                             float eps, float wd, float grad_mult, float bc1, float bc2_sqrt) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gi = g[i] * grad_mult;
        float mi = b1 * m[i] + (1.f - b1) * gi;
        float vi = b2 * v[i] + (1.f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i] * (1.f - lr * wd);
        p[i] = pi - (lr / bc1) * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

// --- launchers
// partial: GRAD_NORM_BLOCKS doubles of scratch. *out = sum of squares (the caller takes the sqrt).
inline void grad_sumsq(double* out, double* partial, const float* g, size_t n, cudaStream_t s) {
    LAUNCH(sumsq_partial_kernel, GRAD_NORM_BLOCKS, 256, s)(partial, g, n);
    LAUNCH(sumsq_final_kernel, 1, 32, s)(out, partial, GRAD_NORM_BLOCKS);
}
inline void adamw_update(float* p, const float* g, float* m, float* v, size_t n, float lr, float b1, float b2, float eps,
                         float wd, float grad_mult, int step, cudaStream_t s) {
    double bc1 = 1.0 - std::pow((double)b1, step), bc2 = 1.0 - std::pow((double)b2, step);
    if (n) LAUNCH(adamw_kernel, elementwise_blocks(n), 256, s)(p, g, m, v, n, lr, b1, b2, eps, wd, grad_mult, (float)bc1,
                                                             (float)std::sqrt(bc2));
}
