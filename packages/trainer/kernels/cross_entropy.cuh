// lm_head + cross-entropy only at label positions. The backend gathers the M label rows of the final
// normed hidden state (gather_rows), multiplies them by the lm_head (matmul.cuh: logits (M, V) fp32,
// in row chunks), then cross_entropy_kernel does an online max/sum over V per row and writes the
// per-row loss and dlogits = grad_scale * (softmax - onehot) in bf16 (the next GEMM's operand); the
// hidden-state gradient (M, C) is scattered back to the label positions (scatter_rows).
// loss_sum_kernel adds the per-row losses in a fixed order (deterministic) into one double.
#pragma once
#include "cuda_utils.cuh"

// --- kernels
__global__ void gather_rows_kernel(bf16* out, const bf16* src, const int32_t* rows, int M, int C) {
    int m = blockIdx.x;
    if (m >= M) return;
    const bf16* s = src + (size_t)rows[m] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[(size_t)m * C + c] = s[c];
}

__global__ void scatter_rows_kernel(float* dst, const float* src, const int32_t* rows, int M, int C) {
    int m = blockIdx.x;
    if (m >= M) return;
    float* d = dst + (size_t)rows[m] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) d[c] = src[(size_t)m * C + c];
}

// One block (256 threads) per row. dlogits may be null (loss only).
__global__ void cross_entropy_kernel(float* losses, bf16* dlogits, const float* logits, const int32_t* targets, int V,
                                     float grad_scale) {
    __shared__ float sm[32], ss[32];
    const int m = blockIdx.x;
    const float* row = logits + (size_t)m * V;
    float mx = -INFINITY, sum = 0.f;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        float x = row[i];
        if (x > mx) { sum = sum * expf(mx - x) + 1.f; mx = x; } else sum += expf(x - mx);
    }
    // Combine (max, sum) pairs: warp, then block.
    for (int o = 16; o > 0; o >>= 1) {
        float om = __shfl_xor_sync(0xffffffffu, mx, o), os = __shfl_xor_sync(0xffffffffu, sum, o);
        float nm = fmaxf(mx, om);
        sum = (mx == -INFINITY ? 0.f : sum * expf(mx - nm)) + (om == -INFINITY ? 0.f : os * expf(om - nm));
        mx = nm;
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, nw = blockDim.x / 32;
    if (lane == 0) { sm[warp] = mx; ss[warp] = sum; }
    __syncthreads();
    if (warp == 0) {
        mx = lane < nw ? sm[lane] : -INFINITY;
        sum = lane < nw ? ss[lane] : 0.f;
        for (int o = 16; o > 0; o >>= 1) {
            float om = __shfl_xor_sync(0xffffffffu, mx, o), os = __shfl_xor_sync(0xffffffffu, sum, o);
            float nm = fmaxf(mx, om);
            sum = (mx == -INFINITY ? 0.f : sum * expf(mx - nm)) + (om == -INFINITY ? 0.f : os * expf(om - nm));
            mx = nm;
        }
        if (lane == 0) { sm[0] = mx; ss[0] = sum; }
    }
    __syncthreads();
    const float lse = sm[0] + logf(ss[0]);
    const int tgt = targets[m];
    if (threadIdx.x == 0) losses[m] = lse - row[tgt];
    if (dlogits == nullptr) return;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        dlogits[(size_t)m * V + i] = __float2bfloat16(grad_scale * (expf(row[i] - lse) - (i == tgt ? 1.f : 0.f)));
}

__global__ void loss_sum_kernel(double* out, const float* losses, int M) {
    __shared__ double part[256];
    double s = 0.0;
    for (int i = threadIdx.x; i < M; i += blockDim.x) s += losses[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) *out += part[0];
}

// --- launchers
inline void gather_rows(bf16* out, const bf16* src, const int32_t* rows, int M, int C, cudaStream_t s) {
    if (M > 0) LAUNCH(gather_rows_kernel, M, 256, s)(out, src, rows, M, C);
}
inline void scatter_rows(float* dst, const float* src, const int32_t* rows, int M, int C, cudaStream_t s) {
    if (M > 0) LAUNCH(scatter_rows_kernel, M, 256, s)(dst, src, rows, M, C);
}
inline void cross_entropy(float* losses, bf16* dlogits, const float* logits, const int32_t* targets, int M, int V,
                          float grad_scale, cudaStream_t s) {
    if (M > 0) LAUNCH(cross_entropy_kernel, M, 256, s)(losses, dlogits, logits, targets, V, grad_scale);
}
// *out += sum(losses[0..M)) (out is a device double, cleared by the caller once per micro-batch).
inline void loss_sum_add(double* out, const float* losses, int M, cudaStream_t s) {
    if (M > 0) LAUNCH(loss_sum_kernel, 1, 256, s)(out, losses, M);
}
