// Causal GQA attention for right-padded batches, flash-attention style (online softmax, no (T, T) matrix).
// Layouts: q (B, T, H, D), k and v (B, T, KVH, D) bf16; out (B, T, H, D) bf16; lse (B, H, T) fp32.
// Query i of row b attends keys j <= min(i, len_b - 1) (padding masked as keys; padded queries still
// attend the real keys, as Hugging Face does). Query head h reads kv head h / (H / KVH).
// Backward (FA2 split, no atomics, deterministic): a dQ kernel (one warp per query) and a dK/dV kernel
// (one warp per key, looping over the H/KVH query heads of its group). delta (B, H, T) = rowsum(dO * O).
// A warp owns ATTN_RPW rows (each shared-memory K/V/Q element read serves all of them); lanes own keys
// (scores) or head dims (accumulators). D in {16, 32, 64, 128} (static shared memory, fp32 tiles).
// attention_tc.cuh has the same on tensor cores (WMMA); the backend picks one with TRAINER_ATTENTION=tc|simt.
#pragma once
#include <type_traits>
#include "cuda_utils.cuh"

#define ATTN_WARPS 4
#define ATTN_TILE 32
#define ATTN_RPW 4                          // query rows (fwd, dQ) or keys (dK/dV) per warp: smem reuse
#define ATTN_ROWS (ATTN_WARPS * ATTN_RPW)   // rows per block

// --- kernels
template <int D>
__global__ void __launch_bounds__(ATTN_WARPS * 32) attention_forward_kernel(
    bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* lengths,
    int T, int H, int KVH, float scale) {
    constexpr int DPL = (D + 31) / 32, R = ATTN_RPW;
    __shared__ float Qs[ATTN_ROWS][D];
    __shared__ float Ks[ATTN_TILE][D + 1];   // +1: lane j reads row j, column d without bank conflicts
    __shared__ float Vs[ATTN_TILE][D];
    const int b = blockIdx.z, h = blockIdx.y, kvh = h / (H / KVH);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int i0 = blockIdx.x * ATTN_ROWS + warp * R;    // this warp's first query
    const int len = lengths[b];
    int kend_r[R];                                       // keys visible to each row (0 = row past T)
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int i = i0 + r;
        kend_r[r] = i < T ? min(i, len - 1) + 1 : 0;
        for (int d = lane; d < D; d += 32)
            Qs[warp * R + r][d] = i < T ? __bfloat162float(q[(((size_t)b * T + i) * H + h) * D + d]) * scale : 0.f;
    }
    const int i_last = min(blockIdx.x * ATTN_ROWS + ATTN_ROWS - 1, T - 1);
    const int kend = min(i_last, len - 1) + 1;         // keys this block needs
    int warp_kend = 0;
#pragma unroll
    for (int r = 0; r < R; r++) warp_kend = max(warp_kend, kend_r[r]);
    float m[R], l[R], o[R][DPL];
#pragma unroll
    for (int r = 0; r < R; r++) {
        m[r] = -INFINITY; l[r] = 0.f;
#pragma unroll
        for (int t = 0; t < DPL; t++) o[r][t] = 0.f;
    }
    for (int kt = 0; kt < kend; kt += ATTN_TILE) {
        __syncthreads();
        for (int idx = threadIdx.x; idx < ATTN_TILE * D; idx += blockDim.x) {
            int j = idx / D, d = idx % D, kj = kt + j;
            size_t off = (((size_t)b * T + kj) * KVH + kvh) * D + d;
            Ks[j][d] = kj < kend ? __bfloat162float(k[off]) : 0.f;
            Vs[j][d] = kj < kend ? __bfloat162float(v[off]) : 0.f;
        }
        __syncthreads();
        if (kt >= warp_kend) continue;                 // warp-uniform: no visible key for any row
        const int j = kt + lane;
        float s[R];
#pragma unroll
        for (int r = 0; r < R; r++) s[r] = 0.f;
        if (j < warp_kend) {
#pragma unroll 8
            for (int d = 0; d < D; d++) {
                const float kd = Ks[lane][d];
#pragma unroll
                for (int r = 0; r < R; r++) s[r] += Qs[warp * R + r][d] * kd;
            }
        }
        float p[R];
#pragma unroll
        for (int r = 0; r < R; r++) {
            if (j >= kend_r[r]) s[r] = -INFINITY;
            const float mt = warp_max(s[r]);
            p[r] = 0.f;
            if (mt == -INFINITY) continue;             // warp-uniform
            const float m_new = fmaxf(m[r], mt);
            p[r] = j < kend_r[r] ? expf(s[r] - m_new) : 0.f;
            const float corr = expf(m[r] - m_new);     // 0 on the first visible tile
            l[r] = l[r] * corr + warp_sum(p[r]);
#pragma unroll
            for (int t = 0; t < DPL; t++) o[r][t] *= corr;
            m[r] = m_new;
        }
#pragma unroll 4
        for (int jj = 0; jj < ATTN_TILE; jj++) {
            float pj[R];
#pragma unroll
            for (int r = 0; r < R; r++) pj[r] = __shfl_sync(0xffffffffu, p[r], jj);
#pragma unroll
            for (int t = 0; t < DPL; t++) {
                const int d = lane + 32 * t;
                if (d < D) {
                    const float vd = Vs[jj][d];
#pragma unroll
                    for (int r = 0; r < R; r++) o[r][t] += pj[r] * vd;
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int i = i0 + r;
        if (i >= T) continue;
        const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
#pragma unroll
        for (int t = 0; t < DPL; t++) {
            int d = lane + 32 * t;
            if (d < D) out[(((size_t)b * T + i) * H + h) * D + d] = __float2bfloat16(o[r][t] * inv);
        }
        if (lane == 0) lse[((size_t)b * H + h) * T + i] = l[r] > 0.f ? m[r] + logf(l[r]) : INFINITY;  // +inf: exp(s - lse) = 0
    }
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
    constexpr int DPL = (D + 31) / 32, R = ATTN_RPW;
    __shared__ bf16 Qs[ATTN_ROWS][D];                  // q as stored (bf16), scaled in the score
    __shared__ float dOs[ATTN_ROWS][D];
    __shared__ float Ks[ATTN_TILE][D + 1];
    __shared__ float Vs[ATTN_TILE][D + 1];
    const int b = blockIdx.z, h = blockIdx.y, kvh = h / (H / KVH);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int i0 = blockIdx.x * ATTN_ROWS + warp * R;
    const int len = lengths[b];
    int kend_r[R];
    float lse_r[R], delta_r[R];
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int i = i0 + r;
        const bool valid = i < T;
        kend_r[r] = valid ? min(i, len - 1) + 1 : 0;
        lse_r[r] = valid ? lse[((size_t)b * H + h) * T + i] : 0.f;
        delta_r[r] = valid ? delta[((size_t)b * H + h) * T + i] : 0.f;
        for (int d = lane; d < D; d += 32) {
            size_t off = (((size_t)b * T + i) * H + h) * D + d;
            Qs[warp * R + r][d] = valid ? q[off] : __float2bfloat16(0.f);
            dOs[warp * R + r][d] = valid ? dout[off] : 0.f;
        }
    }
    const int i_last = min(blockIdx.x * ATTN_ROWS + ATTN_ROWS - 1, T - 1);
    const int kend = min(i_last, len - 1) + 1;
    int warp_kend = 0;
#pragma unroll
    for (int r = 0; r < R; r++) warp_kend = max(warp_kend, kend_r[r]);
    float acc[R][DPL];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int t = 0; t < DPL; t++) acc[r][t] = 0.f;
    for (int kt = 0; kt < kend; kt += ATTN_TILE) {
        __syncthreads();
        for (int idx = threadIdx.x; idx < ATTN_TILE * D; idx += blockDim.x) {
            int j = idx / D, d = idx % D, kj = kt + j;
            size_t off = (((size_t)b * T + kj) * KVH + kvh) * D + d;
            Ks[j][d] = kj < kend ? __bfloat162float(k[off]) : 0.f;
            Vs[j][d] = kj < kend ? __bfloat162float(v[off]) : 0.f;
        }
        __syncthreads();
        if (kt >= warp_kend) continue;                 // warp-uniform
        const int j = kt + lane;
        float s[R], dp[R], ds[R];
#pragma unroll
        for (int r = 0; r < R; r++) { s[r] = 0.f; dp[r] = 0.f; }
        if (j < warp_kend) {
#pragma unroll 8
            for (int d = 0; d < D; d++) {
                const float kd = Ks[lane][d], vd = Vs[lane][d];
#pragma unroll
                for (int r = 0; r < R; r++) {
                    s[r] += __bfloat162float(Qs[warp * R + r][d]) * kd;
                    dp[r] += dOs[warp * R + r][d] * vd;
                }
            }
        }
#pragma unroll
        for (int r = 0; r < R; r++) ds[r] = j < kend_r[r] ? expf(s[r] * scale - lse_r[r]) * (dp[r] - delta_r[r]) : 0.f;
#pragma unroll 4
        for (int jj = 0; jj < ATTN_TILE; jj++) {
            float dsj[R];
#pragma unroll
            for (int r = 0; r < R; r++) dsj[r] = __shfl_sync(0xffffffffu, ds[r], jj);
#pragma unroll
            for (int t = 0; t < DPL; t++) {
                const int d = lane + 32 * t;
                if (d < D) {
                    const float kd = Ks[jj][d];
#pragma unroll
                    for (int r = 0; r < R; r++) acc[r][t] += dsj[r] * kd;
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int i = i0 + r;
        if (i >= T) continue;
#pragma unroll
        for (int t = 0; t < DPL; t++) {
            int d = lane + 32 * t;
            if (d < D) dq[(((size_t)b * T + i) * H + h) * D + d] = acc[r][t] * scale;
        }
    }
}

// dk (B, T, KVH, D) fp32, dv (B, T, KVH, D) bf16. A warp owns ATTN_RPW keys; lanes take queries i >= j of
// every head in the group. dV_j = sum_i P_ij dO_i; dK_j = scale * sum_i dS_ij Q_i.
template <int D>
__global__ void __launch_bounds__(ATTN_WARPS * 32) attention_backward_dkv_kernel(
    float* dk, bf16* dv, const float* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse,
    const float* delta, const int32_t* lengths, int T, int H, int KVH, float scale) {
    constexpr int DPL = (D + 31) / 32, R = ATTN_RPW;
    __shared__ bf16 Kw[ATTN_ROWS][D];                  // k, v as stored (bf16)
    __shared__ bf16 Vw[ATTN_ROWS][D];
    __shared__ float Qs[ATTN_TILE][D + 1];
    __shared__ float dOs[ATTN_TILE][D + 1];
    __shared__ float lse_s[ATTN_TILE], delta_s[ATTN_TILE];
    const int b = blockIdx.z, kvh = blockIdx.y, group = H / KVH;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int j0 = blockIdx.x * ATTN_ROWS + warp * R;  // this warp's first key
    const int len = lengths[b];
    bool live[R];                                      // keys at or past len are never attended
    bool any_live = false;
#pragma unroll
    for (int c = 0; c < R; c++) {
        const int j = j0 + c;
        live[c] = j < T && j < len;
        any_live = any_live || live[c];
        for (int d = lane; d < D; d += 32) {
            size_t off = (((size_t)b * T + j) * KVH + kvh) * D + d;
            Kw[warp * R + c][d] = live[c] ? k[off] : __float2bfloat16(0.f);
            Vw[warp * R + c][d] = live[c] ? v[off] : __float2bfloat16(0.f);
        }
    }
    const int j_first = blockIdx.x * ATTN_ROWS;        // smallest key of the block: queries start there
    float dka[R][DPL], dva[R][DPL];
#pragma unroll
    for (int c = 0; c < R; c++)
#pragma unroll
        for (int t = 0; t < DPL; t++) { dka[c][t] = 0.f; dva[c][t] = 0.f; }
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
            if (!any_live) continue;                   // warp-uniform
            const int i = it + lane;
            float s[R], dp[R], p[R], ds[R];
#pragma unroll
            for (int c = 0; c < R; c++) { s[c] = 0.f; dp[c] = 0.f; }
            if (i < T && i >= j0) {
#pragma unroll 8
                for (int d = 0; d < D; d++) {
                    const float qd = Qs[lane][d], gd = dOs[lane][d];
#pragma unroll
                    for (int c = 0; c < R; c++) {
                        s[c] += qd * __bfloat162float(Kw[warp * R + c][d]);
                        dp[c] += gd * __bfloat162float(Vw[warp * R + c][d]);
                    }
                }
            }
#pragma unroll
            for (int c = 0; c < R; c++) {
                const bool vis = live[c] && i < T && i >= j0 + c;
                p[c] = vis ? expf(s[c] * scale - lse_s[lane]) : 0.f;
                ds[c] = p[c] * (dp[c] - delta_s[lane]);
            }
#pragma unroll 4
            for (int ii = 0; ii < ATTN_TILE; ii++) {
                float pi[R], dsi[R];
#pragma unroll
                for (int c = 0; c < R; c++) {
                    pi[c] = __shfl_sync(0xffffffffu, p[c], ii);
                    dsi[c] = __shfl_sync(0xffffffffu, ds[c], ii);
                }
#pragma unroll
                for (int t = 0; t < DPL; t++) {
                    const int d = lane + 32 * t;
                    if (d < D) {
                        const float gd = dOs[ii][d], qd = Qs[ii][d];
#pragma unroll
                        for (int c = 0; c < R; c++) { dva[c][t] += pi[c] * gd; dka[c][t] += dsi[c] * qd; }
                    }
                }
            }
        }
    }
#pragma unroll
    for (int c = 0; c < R; c++) {
        const int j = j0 + c;
        if (j >= T) continue;
#pragma unroll
        for (int t = 0; t < DPL; t++) {
            int d = lane + 32 * t;
            if (d < D) {
                size_t off = (((size_t)b * T + j) * KVH + kvh) * D + d;
                dk[off] = dka[c][t] * scale;
                dv[off] = __float2bfloat16(dva[c][t]);
            }
        }
    }
}

// --- launchers
// Returns false when head_dim has no instantiation.
template <int D>
inline void attention_forward_d(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* len,
                                int B, int T, int H, int KVH, cudaStream_t s) {
    dim3 grid(ceil_div(T, ATTN_ROWS), H, B);
    LAUNCH(attention_forward_kernel<D>, grid, ATTN_WARPS * 32, s)(out, lse, q, k, v, len, T, H, KVH, 1.f / sqrtf((float)D));
}
template <int D>
inline void attention_backward_d(float* dq, float* dk, bf16* dv, float* delta, const float* dout, const bf16* out,
                                 const bf16* q, const bf16* k, const bf16* v, const float* lse, const int32_t* len,
                                 int B, int T, int H, int KVH, cudaStream_t s) {
    const float scale = 1.f / sqrtf((float)D);
    LAUNCH(attention_delta_kernel, ceil_div((long long)B * T * H, 8), 256, s)(delta, dout, out, B, T, H, D);
    LAUNCH(attention_backward_dq_kernel<D>, dim3(ceil_div(T, ATTN_ROWS), H, B), ATTN_WARPS * 32, s)(
        dq, dout, q, k, v, lse, delta, len, T, H, KVH, scale);
    LAUNCH(attention_backward_dkv_kernel<D>, dim3(ceil_div(T, ATTN_ROWS), KVH, B), ATTN_WARPS * 32, s)(
        dk, dv, dout, q, k, v, lse, delta, len, T, H, KVH, scale);
}

// The head dims the kernels are instantiated for, in one place for the CUDA-core and the tensor-core
// dispatch: calls f(std::integral_constant<int, D>{}) and answers true for a supported D, else false.
template <class F>
inline bool with_head_dim(int D, F&& f) {
    switch (D) {
        case 16: f(std::integral_constant<int, 16>{}); return true;
        case 32: f(std::integral_constant<int, 32>{}); return true;
        case 64: f(std::integral_constant<int, 64>{}); return true;
        case 128: f(std::integral_constant<int, 128>{}); return true;
        default: return false;
    }
}
inline bool attention_supports(int D) { return with_head_dim(D, [](auto) {}); }

inline void attention_forward(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* len,
                              int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (B * T == 0) return;
    with_head_dim(D, [&](auto d) { attention_forward_d<decltype(d)::value>(out, lse, q, k, v, len, B, T, H, KVH, s); });
}
inline void attention_backward(float* dq, float* dk, bf16* dv, float* delta, const float* dout, const bf16* out,
                               const bf16* q, const bf16* k, const bf16* v, const float* lse, const int32_t* len,
                               int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (B * T == 0) return;
    with_head_dim(D, [&](auto d) {
        attention_backward_d<decltype(d)::value>(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, s);
    });
}
