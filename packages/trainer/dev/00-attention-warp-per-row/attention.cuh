// Causal GQA attention for right-padded batches, flash-attention style (online softmax, no (T, T) matrix).
// Layouts: q (B, T, H, D), k and v (B, T, KVH, D) bf16; out (B, T, H, D) bf16; lse (B, H, T) fp32.
// Query i of row b attends keys j <= min(i, len_b - 1) (padding masked as keys; padded queries still
// attend the real keys, as Hugging Face does). Query head h reads kv head h / (H / KVH).
// Backward (FA2 split, no atomics, deterministic): a dQ kernel (one warp per query) and a dK/dV kernel
// (one warp per key, looping over the H/KVH query heads of its group). delta (B, H, T) = rowsum(dO * O).
// Warps own one row; lanes own keys (scores) or head dims (accumulators). D in {16, 32, 64, 128} (static shared memory, fp32 tiles).
// TODO(cuda): tensor-core tiles (mma.sync / wgmma) once the GPU run has confirmed this version.
#pragma once
#include "cuda_utils.cuh"

#define ATTN_WARPS 4
#define ATTN_TILE 32

// --- kernels
template <int D>
__global__ void __launch_bounds__(ATTN_WARPS * 32) attention_forward_kernel(
    bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* lengths,
    int T, int H, int KVH, float scale) {
    constexpr int DPL = (D + 31) / 32;
    __shared__ float Qs[ATTN_WARPS][D];
    __shared__ float Ks[ATTN_TILE][D + 1];   // +1: lane j reads row j, column d without bank conflicts
    __shared__ float Vs[ATTN_TILE][D];
    const int b = blockIdx.z, h = blockIdx.y, kvh = h / (H / KVH);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int i = blockIdx.x * ATTN_WARPS + warp;
    const int len = lengths[b];
    const bool valid_q = i < T;
    for (int d = lane; d < D; d += 32)
        Qs[warp][d] = valid_q ? __bfloat162float(q[(((size_t)b * T + i) * H + h) * D + d]) * scale : 0.f;
    const int i_last = min(blockIdx.x * ATTN_WARPS + ATTN_WARPS - 1, T - 1);
    const int kend = min(i_last, len - 1) + 1;         // keys this block needs
    const int my_kend = min(i, len - 1) + 1;           // keys this warp's query sees
    float m = -INFINITY, l = 0.f, o[DPL];
#pragma unroll
    for (int t = 0; t < DPL; t++) o[t] = 0.f;
    for (int kt = 0; kt < kend; kt += ATTN_TILE) {
        __syncthreads();
        for (int idx = threadIdx.x; idx < ATTN_TILE * D; idx += blockDim.x) {
            int j = idx / D, d = idx % D, kj = kt + j;
            size_t off = (((size_t)b * T + kj) * KVH + kvh) * D + d;
            Ks[j][d] = kj < kend ? __bfloat162float(k[off]) : 0.f;
            Vs[j][d] = kj < kend ? __bfloat162float(v[off]) : 0.f;
        }
        __syncthreads();
        if (!valid_q) continue;
        const int j = kt + lane;
        float s = -INFINITY;
        if (j < my_kend) {
            s = 0.f;
#pragma unroll 16
            for (int d = 0; d < D; d++) s += Qs[warp][d] * Ks[lane][d];
        }
        const float mt = warp_max(s);
        if (mt == -INFINITY) continue;                 // no visible key in this tile (warp-uniform)
        const float m_new = fmaxf(m, mt);
        const float p = j < my_kend ? expf(s - m_new) : 0.f;
        const float corr = expf(m - m_new);            // 0 on the first visible tile
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int t = 0; t < DPL; t++) o[t] *= corr;
#pragma unroll 8
        for (int jj = 0; jj < ATTN_TILE; jj++) {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
            for (int t = 0; t < DPL; t++) {
                int d = lane + 32 * t;
                if (d < D) o[t] += pj * Vs[jj][d];
            }
        }
        m = m_new;
    }
    if (!valid_q) return;
    const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int t = 0; t < DPL; t++) {
        int d = lane + 32 * t;
        if (d < D) out[(((size_t)b * T + i) * H + h) * D + d] = __float2bfloat16(o[t] * inv);
    }
    if (lane == 0) lse[((size_t)b * H + h) * T + i] = l > 0.f ? m + logf(l) : INFINITY;  // +inf: exp(s - lse) = 0
}

// delta (B, H, T) = sum_d dO * O; one warp per (token, head). dout is the fp32 o_proj input gradient.
__global__ void attention_delta_kernel(float* delta, const float* dout, const bf16* out, int B, int T, int H, int D) {
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;   // row = (b * T + t) * H + h
    int lane = threadIdx.x % 32;
    if (row >= B * T * H) return;
    float s = 0.f;
    for (int d = lane; d < D; d += 32) s += dout[(size_t)row * D + d] * __bfloat162float(out[(size_t)row * D + d]);
    s = warp_sum(s);
    int h = row % H, bt = row / H, t = bt % T, b = bt / T;
    if (lane == 0) delta[((size_t)b * H + h) * T + t] = s;
}

// dq (B, T, H, D) fp32. dS_ij = P_ij (dO_i . V_j - delta_i); dQ_i = scale * sum_j dS_ij K_j.
template <int D>
__global__ void __launch_bounds__(ATTN_WARPS * 32) attention_backward_dq_kernel(
    float* dq, const float* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse, const float* delta,
    const int32_t* lengths, int T, int H, int KVH, float scale) {
    constexpr int DPL = (D + 31) / 32;
    __shared__ float Qs[ATTN_WARPS][D];
    __shared__ float dOs[ATTN_WARPS][D];
    __shared__ float Ks[ATTN_TILE][D + 1];
    __shared__ float Vs[ATTN_TILE][D + 1];
    const int b = blockIdx.z, h = blockIdx.y, kvh = h / (H / KVH);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int i = blockIdx.x * ATTN_WARPS + warp;
    const int len = lengths[b];
    const bool valid_q = i < T;
    for (int d = lane; d < D; d += 32) {
        size_t off = (((size_t)b * T + i) * H + h) * D + d;
        Qs[warp][d] = valid_q ? __bfloat162float(q[off]) * scale : 0.f;
        dOs[warp][d] = valid_q ? dout[off] : 0.f;
    }
    const float lse_i = valid_q ? lse[((size_t)b * H + h) * T + i] : 0.f;
    const float delta_i = valid_q ? delta[((size_t)b * H + h) * T + i] : 0.f;
    const int i_last = min(blockIdx.x * ATTN_WARPS + ATTN_WARPS - 1, T - 1);
    const int kend = min(i_last, len - 1) + 1;
    const int my_kend = min(i, len - 1) + 1;
    float acc[DPL];
#pragma unroll
    for (int t = 0; t < DPL; t++) acc[t] = 0.f;
    for (int kt = 0; kt < kend; kt += ATTN_TILE) {
        __syncthreads();
        for (int idx = threadIdx.x; idx < ATTN_TILE * D; idx += blockDim.x) {
            int j = idx / D, d = idx % D, kj = kt + j;
            size_t off = (((size_t)b * T + kj) * KVH + kvh) * D + d;
            Ks[j][d] = kj < kend ? __bfloat162float(k[off]) : 0.f;
            Vs[j][d] = kj < kend ? __bfloat162float(v[off]) : 0.f;
        }
        __syncthreads();
        if (!valid_q) continue;
        const int j = kt + lane;
        float ds = 0.f;
        if (j < my_kend) {
            float s = 0.f, dp = 0.f;
#pragma unroll 16
            for (int d = 0; d < D; d++) { s += Qs[warp][d] * Ks[lane][d]; dp += dOs[warp][d] * Vs[lane][d]; }
            ds = expf(s - lse_i) * (dp - delta_i);
        }
#pragma unroll 8
        for (int jj = 0; jj < ATTN_TILE; jj++) {
            const float dsj = __shfl_sync(0xffffffffu, ds, jj);
#pragma unroll
            for (int t = 0; t < DPL; t++) {
                int d = lane + 32 * t;
                if (d < D) acc[t] += dsj * Ks[jj][d];
            }
        }
    }
    if (!valid_q) return;
#pragma unroll
    for (int t = 0; t < DPL; t++) {
        int d = lane + 32 * t;
        if (d < D) dq[(((size_t)b * T + i) * H + h) * D + d] = acc[t] * scale;
    }
}

// dk (B, T, KVH, D) fp32, dv (B, T, KVH, D) bf16. One warp per key j; queries i >= j of every head in
// the group. dV_j = sum_i P_ij dO_i; dK_j = scale * sum_i dS_ij Q_i.
template <int D>
__global__ void __launch_bounds__(ATTN_WARPS * 32) attention_backward_dkv_kernel(
    float* dk, bf16* dv, const float* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse,
    const float* delta, const int32_t* lengths, int T, int H, int KVH, float scale) {
    constexpr int DPL = (D + 31) / 32;
    __shared__ float Kw[ATTN_WARPS][D];
    __shared__ float Vw[ATTN_WARPS][D];
    __shared__ float Qs[ATTN_TILE][D + 1];
    __shared__ float dOs[ATTN_TILE][D + 1];
    __shared__ float lse_s[ATTN_TILE], delta_s[ATTN_TILE];
    const int b = blockIdx.z, kvh = blockIdx.y, group = H / KVH;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int j = blockIdx.x * ATTN_WARPS + warp;
    const int len = lengths[b];
    const bool live = j < T && j < len;                // keys at or past len are never attended
    for (int d = lane; d < D; d += 32) {
        size_t off = (((size_t)b * T + j) * KVH + kvh) * D + d;
        Kw[warp][d] = live ? __bfloat162float(k[off]) : 0.f;
        Vw[warp][d] = live ? __bfloat162float(v[off]) : 0.f;
    }
    const int j_first = blockIdx.x * ATTN_WARPS;       // smallest key of the block: queries start there
    float dka[DPL], dva[DPL];
#pragma unroll
    for (int t = 0; t < DPL; t++) { dka[t] = 0.f; dva[t] = 0.f; }
    for (int hq = kvh * group; hq < (kvh + 1) * group; hq++) {
        for (int it = j_first; it < T; it += ATTN_TILE) {
            __syncthreads();
            for (int idx = threadIdx.x; idx < ATTN_TILE * D; idx += blockDim.x) {
                int r = idx / D, d = idx % D, qi = it + r;
                size_t off = (((size_t)b * T + qi) * H + hq) * D + d;
                Qs[r][d] = qi < T ? __bfloat162float(q[off]) : 0.f;
                dOs[r][d] = qi < T ? dout[off] : 0.f;
            }
            if (threadIdx.x < ATTN_TILE) {
                int qi = it + threadIdx.x;
                lse_s[threadIdx.x] = qi < T ? lse[((size_t)b * H + hq) * T + qi] : INFINITY;
                delta_s[threadIdx.x] = qi < T ? delta[((size_t)b * H + hq) * T + qi] : 0.f;
            }
            __syncthreads();
            if (!live) continue;
            const int i = it + lane;
            float p = 0.f, ds = 0.f;
            if (i < T && i >= j) {
                float s = 0.f, dp = 0.f;
#pragma unroll 16
                for (int d = 0; d < D; d++) { s += Qs[lane][d] * Kw[warp][d]; dp += dOs[lane][d] * Vw[warp][d]; }
                p = expf(s * scale - lse_s[lane]);
                ds = p * (dp - delta_s[lane]);
            }
#pragma unroll 8
            for (int ii = 0; ii < ATTN_TILE; ii++) {
                const float pi = __shfl_sync(0xffffffffu, p, ii);
                const float dsi = __shfl_sync(0xffffffffu, ds, ii);
#pragma unroll
                for (int t = 0; t < DPL; t++) {
                    int d = lane + 32 * t;
                    if (d < D) { dva[t] += pi * dOs[ii][d]; dka[t] += dsi * Qs[ii][d]; }
                }
            }
        }
    }
    if (j >= T) return;
#pragma unroll
    for (int t = 0; t < DPL; t++) {
        int d = lane + 32 * t;
        if (d < D) {
            size_t off = (((size_t)b * T + j) * KVH + kvh) * D + d;
            dk[off] = dka[t] * scale;
            dv[off] = __float2bfloat16(dva[t]);
        }
    }
}

// --- launchers
// Returns false when head_dim has no instantiation.
template <int D>
inline void attention_forward_d(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* len,
                                int B, int T, int H, int KVH, cudaStream_t s) {
    dim3 grid(ceil_div(T, ATTN_WARPS), H, B);
    LAUNCH(attention_forward_kernel<D>, grid, ATTN_WARPS * 32, s)(out, lse, q, k, v, len, T, H, KVH, 1.f / sqrtf((float)D));
}
template <int D>
inline void attention_backward_d(float* dq, float* dk, bf16* dv, float* delta, const float* dout, const bf16* out,
                                 const bf16* q, const bf16* k, const bf16* v, const float* lse, const int32_t* len,
                                 int B, int T, int H, int KVH, cudaStream_t s) {
    const float scale = 1.f / sqrtf((float)D);
    LAUNCH(attention_delta_kernel, ceil_div((long long)B * T * H, 8), 256, s)(delta, dout, out, B, T, H, D);
    LAUNCH(attention_backward_dq_kernel<D>, dim3(ceil_div(T, ATTN_WARPS), H, B), ATTN_WARPS * 32, s)(
        dq, dout, q, k, v, lse, delta, len, T, H, KVH, scale);
    LAUNCH(attention_backward_dkv_kernel<D>, dim3(ceil_div(T, ATTN_WARPS), KVH, B), ATTN_WARPS * 32, s)(
        dk, dv, dout, q, k, v, lse, delta, len, T, H, KVH, scale);
}

inline bool attention_supports(int D) { return D == 16 || D == 32 || D == 64 || D == 128; }

inline void attention_forward(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* len,
                              int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (B * T == 0) return;
    switch (D) {
        case 16: attention_forward_d<16>(out, lse, q, k, v, len, B, T, H, KVH, s); break;
        case 32: attention_forward_d<32>(out, lse, q, k, v, len, B, T, H, KVH, s); break;
        case 64: attention_forward_d<64>(out, lse, q, k, v, len, B, T, H, KVH, s); break;
        case 128: attention_forward_d<128>(out, lse, q, k, v, len, B, T, H, KVH, s); break;
        default: break;
    }
}
inline void attention_backward(float* dq, float* dk, bf16* dv, float* delta, const float* dout, const bf16* out,
                               const bf16* q, const bf16* k, const bf16* v, const float* lse, const int32_t* len,
                               int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (B * T == 0) return;
    switch (D) {
        case 16: attention_backward_d<16>(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, s); break;
        case 32: attention_backward_d<32>(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, s); break;
        case 64: attention_backward_d<64>(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, s); break;
        case 128: attention_backward_d<128>(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, s); break;
        default: break;
    }
}
