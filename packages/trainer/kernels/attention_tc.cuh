// Causal GQA attention on tensor cores: the interface, layouts and semantics of attention.cuh (right
// padding via lengths, causal, query head h reads kv head h / (H / KVH), lse (B, H, T) fp32, padded
// queries attend the real keys, bf16 in/out), computed with WMMA bf16 16x16x16 products and fp32
// accumulation in the flash-attention 2 structure. attention.cuh keeps the CUDA-core version; the
// backend picks one with TRAINER_ATTENTION=tc|simt (attention_impl_from_env, at the end of this file).
//
// A block (4 warps) owns 64 rows, 16 per warp: queries in the forward and dQ kernels, keys in the dK/dV
// kernel. It walks tiles of 64 columns (keys; queries for dK/dV) staged in shared memory as bf16:
//   forward  S = Q Kᵀ (WMMA) -> online softmax (threads) -> P bf16 -> O += P V (WMMA, summed by threads)
//   dQ       S = Q Kᵀ, dP = dO Vᵀ -> dS = exp(S - lse) (dP - delta) -> dQ += dS K
//   dK/dV    Sᵀ = K Qᵀ, dPᵀ = V dOᵀ -> Pᵀ, dSᵀ -> dV += Pᵀ dO, dK += dSᵀ Q  (every query head of the group)
// Deterministic: each output element is written by one block after a fixed-order sum (no atomics).
// Precision beyond attention.cuh: dO (fp32 in the backend), P and dS are rounded to bf16 as WMMA
// operands, as flash-attention does; softmax statistics, accumulators and delta stay fp32.
//
// Fragments are only loaded from and stored to shared memory, never touched elementwise: the element
// layout of a WMMA fragment is unspecified (dev/emu scrambles it on purpose). So every per-row step
// (masking, softmax, rescaling O, dS, the final scale) runs on ordinary threads over fp32 copies in a
// per-warp scratch: lane l owns row l / 2 of its warp's 16 and every other column (tca_col).
// D in {16, 32, 64, 128} (a multiple of 16 up to 128: the Q / dO tiles are staged in the scratch).
// TODO(cuda): cp.async double buffering of K/V, wgmma on sm_90a, once a GPU run has timed this version.
#pragma once
#ifndef TRAINER_EMU
#include <mma.h>
#endif
#include <cstdlib>
#include <cstring>
#include <string>
#include "attention.cuh"

#define TCA_WARPS 4
#define TCA_ROWS 64                 // rows per block, 16 per warp
#define TCA_COLS 64                 // columns per tile (keys; queries in dK/dV)
#define TCA_SLD (TCA_COLS + 4)      // fp32 scratch row stride (4 banks per row); as bf16: 2 * TCA_SLD
#define TCA_PLD (TCA_COLS + 8)      // bf16 P row stride in the forward

// Shared-memory bytes per kernel (dynamic; > 48 KB for D = 128). Tiles are bf16 (64, D + 8): the +8 puts
// the 8 rows of a fragment load in different banks. Every part is a multiple of 128 bytes.
template <int D> struct TcaSmem {
    static constexpr size_t tile = (size_t)TCA_ROWS * (D + 8) * 2;
    static constexpr size_t scratch = (size_t)TCA_ROWS * TCA_SLD * 4;
    static constexpr size_t fwd = 2 * tile + (size_t)TCA_ROWS * TCA_PLD * 2 + scratch;   // K, V, P, S
    static constexpr size_t dq = 2 * tile + 2 * scratch;                                 // K, V, S, dP
    static constexpr size_t dkv = 4 * tile + 2 * scratch + 2 * TCA_COLS * 4;             // K, V, Q, dO, S, dP, lse, delta
    static_assert(D % 16 == 0 && D <= 128 && tile <= scratch, "the Q / dO tiles are staged in a scratch buffer");
};

// --- device helpers
// Column of the t-th value a lane owns in a row of `width` (a power of two, >= 16) columns: lanes 2r and
// 2r + 1 share row r (even / odd columns); rows 8-15 start two columns later, so that with the 4-bank row
// stride of the scratch the 32 lanes read 32 different banks.
__device__ __forceinline__ int tca_col(int t, int lane, int width) { return (2 * t + (lane & 1) + ((lane >> 4) << 1)) & (width - 1); }

__device__ __forceinline__ void tca_copy8(bf16* dst, const bf16* src) {   // 16-byte aligned both sides
    *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(src);
}
__device__ __forceinline__ void tca_copy8(bf16* dst, const float* src) {  // fp32 dO -> bf16 WMMA operand
    const float4 a = reinterpret_cast<const float4*>(src)[0], b = reinterpret_cast<const float4*>(src)[1];
    const float f[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
    for (int e = 0; e < 8; e++) dst[e] = __float2bfloat16(f[e]);
}

// Rows [r0, r0 + 64) of head `head` of a (B, T, heads, D) tensor -> a bf16 (64, D + 8) tile; rows >= rend
// become zeros (keys past the length or past T: a product never meets garbage).
template <int D, typename Src>
__device__ void tca_load_tile(bf16* tile, const Src* src, int b, int T, int heads, int head, int r0, int rend) {
    for (int c = threadIdx.x; c < TCA_ROWS * D / 8; c += blockDim.x) {
        const int r = c / (D / 8), d = (c % (D / 8)) * 8, t = r0 + r;
        bf16* dst = tile + r * (D + 8) + d;
        if (t < rend) {
            tca_copy8(dst, src + (((size_t)b * T + t) * heads + head) * D + d);
        } else {
            const uint4 z = {0u, 0u, 0u, 0u};
            *reinterpret_cast<uint4*>(dst) = z;
        }
    }
}

typedef nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> TcaAcc;

// A warp's 16 x D accumulators -> rows [row0, row0 + 16) of head `head` of a (B, T, heads, D) tensor, times
// mul; rows >= T are skipped. Through the warp's 16 x 64 fp32 scratch, 64 columns at a time.
template <int D, typename Dst>
__device__ void tca_store_acc(Dst* dst, const TcaAcc (&acc)[D / 16], float* Sw, float mul, int b, int T, int heads,
                              int head, int row0) {
    constexpr int CW = D < TCA_COLS ? D : TCA_COLS;
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int c0 = 0; c0 < D; c0 += CW) {
        __syncwarp();                                   // earlier readers of the scratch are done
#pragma unroll
        for (int n = 0; n < CW / 16; n++)
            nvcuda::wmma::store_matrix_sync(Sw + n * 16, acc[c0 / 16 + n], TCA_SLD, nvcuda::wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 16 * CW; e += 32) {
            const int rr = e / CW, c = e % CW, t = row0 + rr;
            if (t < T) store_f32(dst + (((size_t)b * T + t) * heads + head) * D + c0 + c, Sw[rr * TCA_SLD + c] * mul);
        }
    }
}

// --- kernels
// delta (B, H, T) = sum_d bf16(dO) * O: the dO the WMMA products see, so that for a row attending one key
// (P = 1) dP - delta cancels exactly, as it does in exact arithmetic. One warp per (token, head).
__global__ void attention_tc_delta_kernel(float* delta, const float* dout, const bf16* out, int B, int T, int H, int D) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;   // row = (b * T + t) * H + h
    const int lane = threadIdx.x % 32;
    if (row >= B * T * H) return;
    float s = 0.f;
    for (int d = lane; d < D; d += 32)
        s += __bfloat162float(__float2bfloat16(dout[(size_t)row * D + d])) * __bfloat162float(out[(size_t)row * D + d]);
    s = warp_sum(s);
    const int h = row % H, bt = row / H, t = bt % T, b = bt / T;
    if (lane == 0) delta[((size_t)b * H + h) * T + t] = s;
}

// grid (ceil(T / 64), H, B). out (B, T, H, D) bf16, lse (B, H, T).
template <int D>
__global__ void __launch_bounds__(TCA_WARPS * 32) attention_tc_forward_kernel(
    bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* lengths, int T, int H, int KVH,
    float scale) {
    using namespace nvcuda;
    constexpr int LD = D + 8, CW = D < TCA_COLS ? D : TCA_COLS;   // CW: output columns per P·V pass
    DYNAMIC_SMEM(smem);
    bf16* Ks = reinterpret_cast<bf16*>(smem);                     // (64 keys, D)
    bf16* Vs = Ks + TCA_ROWS * LD;
    bf16* Ps = Vs + TCA_ROWS * LD;                                // (64 queries, 64 keys)
    float* Ss = reinterpret_cast<float*>(Ps + TCA_ROWS * TCA_PLD); // (64 queries, 64) fp32 scratch; first the Q tile
    const int b = blockIdx.z, h = blockIdx.y, kvh = h / (H / KVH);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2;
    const int q0 = blockIdx.x * TCA_ROWS, w0 = q0 + warp * 16, len = lengths[b];
    float* Sw = Ss + warp * 16 * TCA_SLD;
    bf16* Pw = Ps + warp * 16 * TCA_PLD;

    // Q -> fragments, kept for the whole key loop
    tca_load_tile<D>(reinterpret_cast<bf16*>(Ss), q, b, T, H, h, q0, T);
    __syncthreads();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> qf[D / 16];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) wmma::load_matrix_sync(qf[kk], reinterpret_cast<bf16*>(Ss) + warp * 16 * LD + kk * 16, LD);
    __syncthreads();                                              // every warp has its Q: the scratch is free

    const int i = w0 + r;                                         // this lane's query; it sees keys [0, kend_r)
    const int kend_r = i < T ? min(i, len - 1) + 1 : 0;
    const int warp_kend = w0 < T ? min(min(w0 + 15, T - 1), len - 1) + 1 : 0;
    const int kend = min(min(q0 + TCA_ROWS - 1, T - 1), len - 1) + 1;   // keys the block needs
    float m = -INFINITY, l = 0.f, o[D / 2];
#pragma unroll
    for (int t = 0; t < D / 2; t++) o[t] = 0.f;
    for (int kt = 0; kt < kend; kt += TCA_COLS) {
        __syncthreads();                                          // the previous tile is consumed
        tca_load_tile<D>(Ks, k, b, T, KVH, kvh, kt, kend);
        tca_load_tile<D>(Vs, v, b, T, KVH, kvh, kt, kend);
        __syncthreads();
        if (kt >= warp_kend) continue;                            // warp-uniform: no visible key in this tile
        // S = Q Kᵀ (16 queries x 64 keys) into the scratch
#pragma unroll
        for (int n = 0; n < TCA_COLS / 16; n++) {
            TcaAcc acc;
            wmma::fill_fragment(acc, 0.f);
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> kf;   // Kᵀ: K's rows are its columns
                wmma::load_matrix_sync(kf, Ks + n * 16 * LD + kk * 16, LD);
                wmma::mma_sync(acc, qf[kk], kf, acc);
            }
            wmma::store_matrix_sync(Sw + n * 16, acc, TCA_SLD, wmma::mem_row_major);
        }
        __syncwarp();
        // online softmax of row r: this lane's 32 columns, the other 32 are lane ^ 1's
        float s[TCA_COLS / 2], mt = -INFINITY;
#pragma unroll
        for (int t = 0; t < TCA_COLS / 2; t++) {
            const int c = tca_col(t, lane, TCA_COLS);
            s[t] = kt + c < kend_r ? Sw[r * TCA_SLD + c] * scale : -INFINITY;
            mt = fmaxf(mt, s[t]);
        }
        mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 1));
        const float m_new = fmaxf(m, mt);
        const float corr = m_new == -INFINITY ? 1.f : expf(m - m_new);   // 0 on the first visible tile
        float sum = 0.f;
#pragma unroll
        for (int t = 0; t < TCA_COLS / 2; t++) {
            const float p = s[t] == -INFINITY ? 0.f : expf(s[t] - m_new);
            sum += p;
            Pw[r * TCA_PLD + tca_col(t, lane, TCA_COLS)] = __float2bfloat16(p);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        l = l * corr + sum;
        m = m_new;
#pragma unroll
        for (int t = 0; t < D / 2; t++) o[t] *= corr;
        __syncwarp();                                             // P written, S read: the scratch is free
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> pf[TCA_COLS / 16];
#pragma unroll
        for (int kk = 0; kk < TCA_COLS / 16; kk++) wmma::load_matrix_sync(pf[kk], Pw + kk * 16, TCA_PLD);
        // O += P V, CW output columns per pass through the scratch
#pragma unroll
        for (int c0 = 0; c0 < D; c0 += CW) {
#pragma unroll
            for (int n = 0; n < CW / 16; n++) {
                TcaAcc acc;
                wmma::fill_fragment(acc, 0.f);
#pragma unroll
                for (int kk = 0; kk < TCA_COLS / 16; kk++) {
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> vf;
                    wmma::load_matrix_sync(vf, Vs + kk * 16 * LD + c0 + n * 16, LD);
                    wmma::mma_sync(acc, pf[kk], vf, acc);
                }
                wmma::store_matrix_sync(Sw + n * 16, acc, TCA_SLD, wmma::mem_row_major);
            }
            __syncwarp();
#pragma unroll
            for (int t = 0; t < CW / 2; t++) o[c0 / 2 + t] += Sw[r * TCA_SLD + tca_col(t, lane, CW)];
            __syncwarp();
        }
    }
    // O / l -> bf16 rows in the scratch (stride 2 * TCA_SLD >= D), then 16-byte stores to global
    const float inv = l > 0.f ? 1.f / l : 0.f;
    bf16* Ow = reinterpret_cast<bf16*>(Sw);
#pragma unroll
    for (int c0 = 0; c0 < D; c0 += CW)
#pragma unroll
        for (int t = 0; t < CW / 2; t++) Ow[r * 2 * TCA_SLD + c0 + tca_col(t, lane, CW)] = __float2bfloat16(o[c0 / 2 + t] * inv);
    if ((lane & 1) == 0 && i < T) lse[((size_t)b * H + h) * T + i] = l > 0.f ? m + logf(l) : INFINITY;  // +inf: exp(s - lse) = 0
    __syncwarp();
    for (int c = lane; c < 16 * D / 8; c += 32) {
        const int rr = c / (D / 8), d = (c % (D / 8)) * 8;
        if (w0 + rr < T) tca_copy8(out + (((size_t)b * T + w0 + rr) * H + h) * D + d, Ow + rr * 2 * TCA_SLD + d);
    }
}

// grid (ceil(T / 64), H, B). dq (B, T, H, D) fp32 = scale * sum_j dS_ij K_j, dS_ij = P_ij (dO_i . V_j - delta_i).
template <int D>
__global__ void __launch_bounds__(TCA_WARPS * 32) attention_tc_dq_kernel(
    float* dq, const float* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse, const float* delta,
    const int32_t* lengths, int T, int H, int KVH, float scale) {
    using namespace nvcuda;
    constexpr int LD = D + 8;
    DYNAMIC_SMEM(smem);
    bf16* Ks = reinterpret_cast<bf16*>(smem);
    bf16* Vs = Ks + TCA_ROWS * LD;
    float* Ss = reinterpret_cast<float*>(Vs + TCA_ROWS * LD);     // S, then dS (bf16, in place); first the Q tile
    float* Gs = Ss + TCA_ROWS * TCA_SLD;                          // dP; first the dO tile
    const int b = blockIdx.z, h = blockIdx.y, kvh = h / (H / KVH);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2;
    const int q0 = blockIdx.x * TCA_ROWS, w0 = q0 + warp * 16, len = lengths[b];
    float* Sw = Ss + warp * 16 * TCA_SLD;
    float* Gw = Gs + warp * 16 * TCA_SLD;
    bf16* dSw = reinterpret_cast<bf16*>(Sw);

    tca_load_tile<D>(reinterpret_cast<bf16*>(Ss), q, b, T, H, h, q0, T);
    tca_load_tile<D>(reinterpret_cast<bf16*>(Gs), dout, b, T, H, h, q0, T);
    __syncthreads();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> qf[D / 16], gf[D / 16];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        wmma::load_matrix_sync(qf[kk], reinterpret_cast<bf16*>(Ss) + warp * 16 * LD + kk * 16, LD);
        wmma::load_matrix_sync(gf[kk], reinterpret_cast<bf16*>(Gs) + warp * 16 * LD + kk * 16, LD);
    }
    __syncthreads();                                              // every warp has its Q and dO: the scratch is free
    const int i = w0 + r;
    const int kend_r = i < T ? min(i, len - 1) + 1 : 0;
    const int warp_kend = w0 < T ? min(min(w0 + 15, T - 1), len - 1) + 1 : 0;
    const int kend = min(min(q0 + TCA_ROWS - 1, T - 1), len - 1) + 1;
    const float lse_r = i < T ? lse[((size_t)b * H + h) * T + i] : 0.f;
    const float delta_r = i < T ? delta[((size_t)b * H + h) * T + i] : 0.f;
    TcaAcc dqf[D / 16];
#pragma unroll
    for (int n = 0; n < D / 16; n++) wmma::fill_fragment(dqf[n], 0.f);
    for (int kt = 0; kt < kend; kt += TCA_COLS) {
        __syncthreads();
        tca_load_tile<D>(Ks, k, b, T, KVH, kvh, kt, kend);
        tca_load_tile<D>(Vs, v, b, T, KVH, kvh, kt, kend);
        __syncthreads();
        if (kt >= warp_kend) continue;                            // warp-uniform
        // S = Q Kᵀ and dP = dO Vᵀ (16 queries x 64 keys each)
#pragma unroll
        for (int n = 0; n < TCA_COLS / 16; n++) {
            TcaAcc sa, pa;
            wmma::fill_fragment(sa, 0.f);
            wmma::fill_fragment(pa, 0.f);
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> kf, vf;
                wmma::load_matrix_sync(kf, Ks + n * 16 * LD + kk * 16, LD);
                wmma::mma_sync(sa, qf[kk], kf, sa);
                wmma::load_matrix_sync(vf, Vs + n * 16 * LD + kk * 16, LD);
                wmma::mma_sync(pa, gf[kk], vf, pa);
            }
            wmma::store_matrix_sync(Sw + n * 16, sa, TCA_SLD, wmma::mem_row_major);
            wmma::store_matrix_sync(Gw + n * 16, pa, TCA_SLD, wmma::mem_row_major);
        }
        __syncwarp();
        float ds[TCA_COLS / 2];
#pragma unroll
        for (int t = 0; t < TCA_COLS / 2; t++) {
            const int c = tca_col(t, lane, TCA_COLS);
            ds[t] = kt + c < kend_r ? expf(Sw[r * TCA_SLD + c] * scale - lse_r) * (Gw[r * TCA_SLD + c] - delta_r) : 0.f;
        }
        __syncwarp();                                             // row r read by both its lanes before dS overwrites it
#pragma unroll
        for (int t = 0; t < TCA_COLS / 2; t++) dSw[r * 2 * TCA_SLD + tca_col(t, lane, TCA_COLS)] = __float2bfloat16(ds[t]);
        __syncwarp();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> df[TCA_COLS / 16];
#pragma unroll
        for (int kk = 0; kk < TCA_COLS / 16; kk++) wmma::load_matrix_sync(df[kk], dSw + kk * 16, 2 * TCA_SLD);
#pragma unroll
        for (int n = 0; n < D / 16; n++)
#pragma unroll
            for (int kk = 0; kk < TCA_COLS / 16; kk++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> kf;
                wmma::load_matrix_sync(kf, Ks + kk * 16 * LD + n * 16, LD);
                wmma::mma_sync(dqf[n], df[kk], kf, dqf[n]);
            }
    }
    tca_store_acc<D>(dq, dqf, Sw, scale, b, T, H, h, w0);
}

// grid (ceil(T / 64), KVH, B). dk (B, T, KVH, D) fp32 = scale * sum dS_ij Q_i, dv bf16 = sum P_ij dO_i, over the
// queries i >= j of every head of the group.
template <int D>
__global__ void __launch_bounds__(TCA_WARPS * 32) attention_tc_dkv_kernel(
    float* dk, bf16* dv, const float* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse,
    const float* delta, const int32_t* lengths, int T, int H, int KVH, float scale) {
    using namespace nvcuda;
    constexpr int LD = D + 8;
    DYNAMIC_SMEM(smem);
    bf16* Ks = reinterpret_cast<bf16*>(smem);                     // this block's 64 keys
    bf16* Vs = Ks + TCA_ROWS * LD;
    bf16* Qs = Vs + TCA_ROWS * LD;                                // a tile of 64 queries
    bf16* Gs = Qs + TCA_ROWS * LD;                                // their dO
    float* Ss = reinterpret_cast<float*>(Gs + TCA_ROWS * LD);     // Sᵀ, then Pᵀ (bf16, in place)
    float* Ds = Ss + TCA_ROWS * TCA_SLD;                          // dPᵀ, then dSᵀ (bf16, in place)
    float* lse_s = Ds + TCA_ROWS * TCA_SLD;
    float* delta_s = lse_s + TCA_COLS;
    const int b = blockIdx.z, kvh = blockIdx.y, group = H / KVH;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2;
    const int j0 = blockIdx.x * TCA_ROWS, w0 = j0 + warp * 16;
    const int kend = min(lengths[b], T);                          // keys at or past the length are never attended
    if (j0 >= kend) {                                             // block-uniform: zero gradients, nothing to compute
        for (int e = threadIdx.x; e < TCA_ROWS * D; e += blockDim.x) {
            const int j = j0 + e / D;
            if (j >= T) break;
            const size_t off = (((size_t)b * T + j) * KVH + kvh) * D + e % D;
            dk[off] = 0.f;
            dv[off] = __float2bfloat16(0.f);
        }
        return;
    }
    float* Sw = Ss + warp * 16 * TCA_SLD;
    float* Dw = Ds + warp * 16 * TCA_SLD;
    bf16* Pb = reinterpret_cast<bf16*>(Sw);
    bf16* dSb = reinterpret_cast<bf16*>(Dw);
    tca_load_tile<D>(Ks, k, b, T, KVH, kvh, j0, kend);
    tca_load_tile<D>(Vs, v, b, T, KVH, kvh, j0, kend);
    const int j = w0 + r;                                         // this lane's key
    const bool live = j < kend, warp_live = w0 < kend;
    TcaAcc dkf[D / 16], dvf[D / 16];
#pragma unroll
    for (int n = 0; n < D / 16; n++) {
        wmma::fill_fragment(dkf[n], 0.f);
        wmma::fill_fragment(dvf[n], 0.f);
    }
    for (int hq = kvh * group; hq < (kvh + 1) * group; hq++) {
        for (int it = j0; it < T; it += TCA_COLS) {               // queries i >= j0 only (causal)
            __syncthreads();
            tca_load_tile<D>(Qs, q, b, T, H, hq, it, T);
            tca_load_tile<D>(Gs, dout, b, T, H, hq, it, T);
            if (threadIdx.x < TCA_COLS) {
                const int qi = it + threadIdx.x;
                lse_s[threadIdx.x] = qi < T ? lse[((size_t)b * H + hq) * T + qi] : INFINITY;
                delta_s[threadIdx.x] = qi < T ? delta[((size_t)b * H + hq) * T + qi] : 0.f;
            }
            __syncthreads();
            if (!warp_live) continue;                             // warp-uniform
            // Sᵀ = K Qᵀ, then dPᵀ = V dOᵀ (16 keys x 64 queries each; one set of accumulators at a time)
#pragma unroll
            for (int pass = 0; pass < 2; pass++) {
                const bf16* A = pass == 0 ? Ks : Vs;
                const bf16* Bt = pass == 0 ? Qs : Gs;
                TcaAcc acc[TCA_COLS / 16];
#pragma unroll
                for (int n = 0; n < TCA_COLS / 16; n++) wmma::fill_fragment(acc[n], 0.f);
#pragma unroll
                for (int kk = 0; kk < D / 16; kk++) {
                    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> af;
                    wmma::load_matrix_sync(af, A + warp * 16 * LD + kk * 16, LD);
#pragma unroll
                    for (int n = 0; n < TCA_COLS / 16; n++) {
                        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> bf;   // Qᵀ / dOᵀ
                        wmma::load_matrix_sync(bf, Bt + n * 16 * LD + kk * 16, LD);
                        wmma::mma_sync(acc[n], af, bf, acc[n]);
                    }
                }
#pragma unroll
                for (int n = 0; n < TCA_COLS / 16; n++)
                    wmma::store_matrix_sync((pass == 0 ? Sw : Dw) + n * 16, acc[n], TCA_SLD, wmma::mem_row_major);
            }
            __syncwarp();
            float p[TCA_COLS / 2], ds[TCA_COLS / 2];
#pragma unroll
            for (int t = 0; t < TCA_COLS / 2; t++) {
                const int c = tca_col(t, lane, TCA_COLS), i = it + c;
                const bool vis = live && i >= j && i < T;
                p[t] = vis ? expf(Sw[r * TCA_SLD + c] * scale - lse_s[c]) : 0.f;
                ds[t] = p[t] * (Dw[r * TCA_SLD + c] - delta_s[c]);
            }
            __syncwarp();                                         // rows read by both their lanes before the overwrite
#pragma unroll
            for (int t = 0; t < TCA_COLS / 2; t++) {
                const int c = tca_col(t, lane, TCA_COLS);
                Pb[r * 2 * TCA_SLD + c] = __float2bfloat16(p[t]);
                dSb[r * 2 * TCA_SLD + c] = __float2bfloat16(ds[t]);
            }
            __syncwarp();
            // dV += Pᵀ dO, dK += dSᵀ Q
#pragma unroll
            for (int kk = 0; kk < TCA_COLS / 16; kk++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> pa, da;
                wmma::load_matrix_sync(pa, Pb + kk * 16, 2 * TCA_SLD);
                wmma::load_matrix_sync(da, dSb + kk * 16, 2 * TCA_SLD);
#pragma unroll
                for (int n = 0; n < D / 16; n++) {
                    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> bf;
                    wmma::load_matrix_sync(bf, Gs + kk * 16 * LD + n * 16, LD);
                    wmma::mma_sync(dvf[n], pa, bf, dvf[n]);
                    wmma::load_matrix_sync(bf, Qs + kk * 16 * LD + n * 16, LD);
                    wmma::mma_sync(dkf[n], da, bf, dkf[n]);
                }
            }
        }
    }
    tca_store_acc<D>(dk, dkf, Sw, scale, b, T, KVH, kvh, w0);
    tca_store_acc<D>(dv, dvf, Sw, 1.f, b, T, KVH, kvh, w0);
}

// --- launchers
// Dynamic shared memory above 48 KB must be allowed per kernel once (device 0: the backend's only device).
template <typename K> inline bool tca_allow_smem(K* kernel, size_t bytes) {
    return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes) == cudaSuccess;
}

template <int D>
inline void attention_tc_forward_d(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* len,
                                   int B, int T, int H, int KVH, cudaStream_t s) {
    static const bool allowed = tca_allow_smem(attention_tc_forward_kernel<D>, TcaSmem<D>::fwd);
    (void)allowed;   // a failure shows as the launch error
    LAUNCH_SMEM(attention_tc_forward_kernel<D>, dim3(ceil_div(T, TCA_ROWS), H, B), TCA_WARPS * 32, TcaSmem<D>::fwd, s)(
        out, lse, q, k, v, len, T, H, KVH, 1.f / sqrtf((float)D));
}
template <int D>
inline void attention_tc_backward_d(float* dq, float* dk, bf16* dv, float* delta, const float* dout, const bf16* out,
                                    const bf16* q, const bf16* k, const bf16* v, const float* lse, const int32_t* len,
                                    int B, int T, int H, int KVH, cudaStream_t s) {
    static const bool allowed = tca_allow_smem(attention_tc_dq_kernel<D>, TcaSmem<D>::dq) &&
                                tca_allow_smem(attention_tc_dkv_kernel<D>, TcaSmem<D>::dkv);
    (void)allowed;
    const float scale = 1.f / sqrtf((float)D);
    LAUNCH(attention_tc_delta_kernel, ceil_div((long long)B * T * H, 8), 256, s)(delta, dout, out, B, T, H, D);
    LAUNCH_SMEM(attention_tc_dq_kernel<D>, dim3(ceil_div(T, TCA_ROWS), H, B), TCA_WARPS * 32, TcaSmem<D>::dq, s)(
        dq, dout, q, k, v, lse, delta, len, T, H, KVH, scale);
    LAUNCH_SMEM(attention_tc_dkv_kernel<D>, dim3(ceil_div(T, TCA_ROWS), KVH, B), TCA_WARPS * 32, TcaSmem<D>::dkv, s)(
        dk, dv, dout, q, k, v, lse, delta, len, T, H, KVH, scale);
}

// The 16-byte vector loads and stores need 16-byte aligned tensors (cudaMalloc and the backend's
// workspace give 256); other pointers fall back to the CUDA-core kernels.
inline bool tca_aligned(std::initializer_list<const void*> ps) {
    for (const void* p : ps) if (reinterpret_cast<uintptr_t>(p) & 15) return false;
    return true;
}

inline void attention_tc_forward(bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v, const int32_t* len,
                                 int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (B * T == 0) return;
    if (!tca_aligned({out, q, k, v})) return attention_forward(out, lse, q, k, v, len, B, T, H, KVH, D, s);
    with_head_dim(D, [&](auto d) { attention_tc_forward_d<decltype(d)::value>(out, lse, q, k, v, len, B, T, H, KVH, s); });
}
inline void attention_tc_backward(float* dq, float* dk, bf16* dv, float* delta, const float* dout, const bf16* out,
                                  const bf16* q, const bf16* k, const bf16* v, const float* lse, const int32_t* len,
                                  int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (B * T == 0) return;
    if (!tca_aligned({dq, dk, dv, dout, q, k, v}))
        return attention_backward(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, D, s);
    with_head_dim(D, [&](auto d) {
        attention_tc_backward_d<decltype(d)::value>(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, s);
    });
}

// --- selection: TRAINER_ATTENTION=simt|tc, read by the backend at init. Unset = simt until a GPU run has
// confirmed the tensor-core kernels (dev/NOTES.md, experiment 6); any other value is an error.
enum AttentionImpl { ATTENTION_SIMT = 0, ATTENTION_TC = 1 };

inline std::string attention_impl_from_env(AttentionImpl* impl) {
    int c;
    std::string err = env_choice("TRAINER_ATTENTION", {"simt", "tc"}, ATTENTION_SIMT, &c);
    *impl = (AttentionImpl)c;
    return err;
}
inline const char* attention_impl_name(AttentionImpl impl) {
    return impl == ATTENTION_TC ? "tc (WMMA tensor cores)" : "simt (CUDA cores)";
}

inline void attention_forward(AttentionImpl impl, bf16* out, float* lse, const bf16* q, const bf16* k, const bf16* v,
                              const int32_t* len, int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (impl == ATTENTION_TC) attention_tc_forward(out, lse, q, k, v, len, B, T, H, KVH, D, s);
    else attention_forward(out, lse, q, k, v, len, B, T, H, KVH, D, s);
}
inline void attention_backward(AttentionImpl impl, float* dq, float* dk, bf16* dv, float* delta, const float* dout,
                               const bf16* out, const bf16* q, const bf16* k, const bf16* v, const float* lse,
                               const int32_t* len, int B, int T, int H, int KVH, int D, cudaStream_t s) {
    if (impl == ATTENTION_TC) attention_tc_backward(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, D, s);
    else attention_backward(dq, dk, dv, delta, dout, out, q, k, v, lse, len, B, T, H, KVH, D, s);
}
