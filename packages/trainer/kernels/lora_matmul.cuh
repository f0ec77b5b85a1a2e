// The small LoRA products in fp32 on CUDA cores: C (M, N) = alpha * A·B (+ beta * C), with A and B read
// through arbitrary strides (A(m, k) = A[m * sam + k * sak], B(k, n) = B[k * sbk + n * sbn]) so that
// every LoRA forward/backward product (x·Aᵀ, u·Bᵀ, dyᵀ·u, dy·B, duᵀ·x, du·A) is one call without
// transposes. Dropout multipliers are applied on the fly to the operand or output that is the LoRA
// input x (see dropout.cuh), so no mask and no dropped copy of x is stored.
// Rank r is small (4-64): these are ~r/out of the base FLOPs; the tile is 64x64x16, 4x4 outputs/thread.
// Products that reduce over the tokens (dA, dB: K = B*T, output r x in or out x r) have few output tiles:
// they split K over gridDim.z into fixed chunks written to a scratch buffer, then a second kernel sums the
// chunks in a fixed order (deterministic, no atomics).
// Skinny products (rank r <= LORA_SKINNY_MAX_R on one side, a long K): a 64-wide tile wastes 1 - r/64 of
// its work and x·Aᵀ gets fewer blocks than SMs, so lora_matmul routes them to two kernels shaped for them:
//   rows:   C (M, r) = drop(X) (M, K) · W (K, r)   x·Aᵀ, s·dy·B: 4 rows per warp, W staged in shared memory
//   tokens: G (r, C) = Uᵀ (r, N) · drop(V) (N, C)  duᵀ·x, dyᵀ·u: a column slice per block, tokens split
//           over warps (fixed-order sum in shared memory) and over gridDim.y (split-K scratch, ordered sum)
// Both read the long operand once, vectorised. TRAINER_LORA=tiled|skinny picks (lora_impl_from_env).
// TODO(cuda): fuse x·Aᵀ into the base GEMM's A-tile loads and u·Bᵀ into its epilogue (issue #7).
#pragma once
#include "cuda_utils.cuh"
#include "dropout.cuh"
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

enum LoraDropWhere { LORA_DROP_NONE = 0, LORA_DROP_A = 1, LORA_DROP_B = 2, LORA_DROP_C = 3 };

// --- kernels
template <typename TA, typename TB>
__global__ void __launch_bounds__(256) lora_matmul_kernel(
    float* C, long long ldc, const TA* A, long long sam, long long sak, const TB* B, long long sbk, long long sbn,
    int M, int N, int K, float alpha, float beta, DropoutSpec drop, int drop_where, int k_chunk, long long split_stride) {
    constexpr int BM = 64, BN = 64, BK = 16;
    const int kb = blockIdx.z * k_chunk, ke = min(K, kb + k_chunk);   // this split's share of K
    C += blockIdx.z * split_stride;
    __shared__ float As[BK][BM + 1];
    __shared__ float Bs[BK][BN + 1];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    float acc[4][4] = {};
    for (int k0 = kb; k0 < ke; k0 += BK) {
        for (int e = 0; e < 4; e++) {
            int idx = tid + 256 * e, mm, kk;
            if (sak == 1) { mm = idx / BK; kk = idx % BK; } else { kk = idx / BM; mm = idx % BM; }   // coalesce
            int m = m0 + mm, k = k0 + kk;
            float a = 0.f;
            if (m < M && k < ke) {
                a = to_f32(A[m * sam + k * sak]);
                if (drop_where == LORA_DROP_A) a *= dropout_scale(drop, (uint64_t)m * drop.ld + k);
            }
            As[kk][mm] = a;
            int nn;
            if (sbn == 1) { kk = idx / BN; nn = idx % BN; } else { nn = idx / BK; kk = idx % BK; }
            int n = n0 + nn;
            k = k0 + kk;
            float bv = 0.f;
            if (n < N && k < ke) {
                bv = to_f32(B[k * sbk + n * sbn]);
                if (drop_where == LORA_DROP_B) bv *= dropout_scale(drop, (uint64_t)k * drop.ld + n);
            }
            Bs[kk][nn] = bv;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) { a[i] = As[kk][ty + 16 * i]; bv[i] = Bs[kk][tx + 16 * i]; }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * bv[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            float v = alpha * acc[i][j];
            if (drop_where == LORA_DROP_C) v *= dropout_scale(drop, (uint64_t)m * drop.ld + n);
            float* c = C + m * ldc + n;
            *c = beta != 0.f ? v + beta * *c : v;
        }
    }
}

// C (M, N) = alpha * sum over splits of part[split] (M, N) + beta * C, summed in split order.
__global__ void lora_splitk_reduce_kernel(float* C, long long ldc, const float* part, int splits, int M, int N, float alpha,
                                          float beta) {
    const long long n_out = (long long)M * N;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n_out; i += (long long)gridDim.x * blockDim.x) {
        float v = 0.f;
        for (int z = 0; z < splits; z++) v += part[z * n_out + i];
        float* c = C + (i / N) * ldc + i % N;
        *c = beta != 0.f ? alpha * v + beta * *c : alpha * v;
    }
}

// Loads 8 (rows kernel) or 4 (tokens kernel) consecutive elements as fp32; vectorised when the caller has
// checked alignment and range, else one guarded element at a time (ragged edges, odd strides).
__device__ __forceinline__ void lora_load8(const bf16* p, float* v) {
    uint4 w = *reinterpret_cast<const uint4*>(p);
    const bf16* h = reinterpret_cast<const bf16*>(&w);
#pragma unroll
    for (int q = 0; q < 8; q++) v[q] = to_f32(h[q]);
}
__device__ __forceinline__ void lora_load8(const float* p, float* v) {
    float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}
__device__ __forceinline__ void lora_load4(const bf16* p, float* v) {
    uint2 w = *reinterpret_cast<const uint2*>(p);
    const bf16* h = reinterpret_cast<const bf16*>(&w);
#pragma unroll
    for (int q = 0; q < 4; q++) v[q] = to_f32(h[q]);
}
__device__ __forceinline__ void lora_load4(const float* p, float* v) {
    float4 a = *reinterpret_cast<const float4*>(p);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
}

// rows: C (M, r) = alpha * drop(X) (M, K) · W (K, r) + beta * C, X(m, k) = X[m * ldx + k], W(k, j) =
// W[k * swk + j * swj], dropout index m * drop.ld + k (as LORA_DROP_A above). R = r rounded up (4, 8, 16).
// A block is 8 warps x 4 rows; per 256-wide K chunk the block stages W (R x 256) in shared memory, each lane
// takes 8 consecutive k of its warp's 4 rows (one 16-byte load per bf16 row), so every W value read from
// shared memory feeds 4 rows. Each lane sums its k in order, then a butterfly over the warp: deterministic.
#define LORA_ROWS_KC 256
#define LORA_ROWS_PER_WARP 4
template <int R, typename TX, typename TW>
__global__ void __launch_bounds__(256) lora_rows_kernel(float* C, long long ldc, const TX* X, long long ldx, const TW* W,
                                                        long long swk, long long swj, int M, int r, int K, float alpha,
                                                        float beta, DropoutSpec drop, int drop_x, int vec) {
    constexpr int KC = LORA_ROWS_KC, ROWS = LORA_ROWS_PER_WARP, PAD = KC + KC / 8;   // 4 pad words per 32
    __shared__ __align__(16) float Ws[R][PAD];   // W chunk, k-major per j; padded so float4 reads are conflict-free
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int m0 = (blockIdx.x * 8 + warp) * ROWS;
    float acc[ROWS][R];
#pragma unroll
    for (int i = 0; i < ROWS; i++)
#pragma unroll
        for (int j = 0; j < R; j++) acc[i][j] = 0.f;
    for (int kc = 0; kc < K; kc += KC) {
        for (int e = threadIdx.x; e < R * KC; e += 256) {   // consecutive threads read consecutive W addresses
            int j, kk;
            if (swj == 1) { kk = e / R; j = e % R; } else { j = e / KC; kk = e % KC; }
            const int k = kc + kk;
            Ws[j][kk + (kk >> 5) * 4] = (j < r && k < K) ? to_f32(W[k * swk + j * swj]) : 0.f;
        }
        __syncthreads();
        const int kl = lane * 8, k0 = kc + kl;
        float xv[ROWS][8];
#pragma unroll
        for (int i = 0; i < ROWS; i++) {
            const int m = m0 + i;
            const TX* xp = X + (long long)m * ldx + k0;
            if (m < M && vec && k0 + 8 <= K) lora_load8(xp, xv[i]);
            else
#pragma unroll
                for (int q = 0; q < 8; q++) xv[i][q] = (m < M && k0 + q < K) ? to_f32(xp[q]) : 0.f;
            if (drop_x && m < M)
#pragma unroll
                for (int q = 0; q < 8; q++) xv[i][q] *= dropout_scale(drop, (uint64_t)m * drop.ld + k0 + q);
        }
        const int p = kl + (kl >> 5) * 4;
#pragma unroll
        for (int j = 0; j < R; j++) {
            const float4 w0 = *reinterpret_cast<const float4*>(&Ws[j][p]);
            const float4 w1 = *reinterpret_cast<const float4*>(&Ws[j][p + 4]);
            const float w[8] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
#pragma unroll
            for (int q = 0; q < 8; q++)
#pragma unroll
                for (int i = 0; i < ROWS; i++) acc[i][j] += xv[i][q] * w[q];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < ROWS; i++) {
        float mine = 0.f;   // lane j keeps the sum of column j
#pragma unroll
        for (int j = 0; j < R; j++) {
            const float v = warp_sum(acc[i][j]);
            if (lane == j) mine = v;
        }
        const int m = m0 + i;
        if (m < M && lane < r) {
            float* c = C + m * ldc + lane;
            *c = beta != 0.f ? alpha * mine + beta * *c : alpha * mine;
        }
    }
}

// tokens: G(j, c) = alpha * sum over n of U(n, j) * drop(V)(n, c) + beta * G(j, c), j < r, c < Cn, where
// U(n, j) = U[n * sun + j * suj] (N, r), V(n, c) = V[n * svn + c] (N, Cn), dropout index n * dn + c * dc, and
// G(j, c) at G[j * sgj + c * sgc]. A block owns 128 columns (4 per lane, one 8- or 16-byte load per token) and
// the tokens [blockIdx.y * n_chunk, + n_chunk); warp w takes tokens w, w + 8, ... of that chunk. The 8 warps'
// sums are added in warp order in shared memory; with gridDim.y > 1 the chunk sums go to G + blockIdx.y *
// split_stride (the split-K scratch) and lora_splitk_reduce_kernel adds them in chunk order.
#define LORA_TOK_COLS 128
template <int R, typename TU, typename TV>
__global__ void __launch_bounds__(256) lora_tokens_kernel(float* G, long long sgj, long long sgc, const TU* U, long long sun,
                                                          long long suj, const TV* V, long long svn, int r, int Cn, int N,
                                                          float alpha, float beta, DropoutSpec drop, long long dn,
                                                          long long dc, int drop_v, int vec, int n_chunk,
                                                          long long split_stride) {
    constexpr int CB = LORA_TOK_COLS, WARPS = 8;
    __shared__ float red[WARPS][4][CB];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int c0 = blockIdx.x * CB + lane * 4;
    const int nb = blockIdx.y * n_chunk, ne = min(N, nb + n_chunk);
    G += blockIdx.y * split_stride;
    float acc[R][4];
#pragma unroll
    for (int j = 0; j < R; j++)
#pragma unroll
        for (int q = 0; q < 4; q++) acc[j][q] = 0.f;
#pragma unroll 2
    for (int n = nb + warp; n < ne; n += WARPS) {
        float v[4];
        const TV* vp = V + (long long)n * svn + c0;
        if (vec && c0 + 4 <= Cn) lora_load4(vp, v);
        else
#pragma unroll
            for (int q = 0; q < 4; q++) v[q] = c0 + q < Cn ? to_f32(vp[q]) : 0.f;
        if (drop_v)
#pragma unroll
            for (int q = 0; q < 4; q++) v[q] *= dropout_scale(drop, (uint64_t)n * dn + (uint64_t)(c0 + q) * dc);
#pragma unroll
        for (int j = 0; j < R; j++) {
            const float uj = j < r ? to_f32(U[(long long)n * sun + j * suj]) : 0.f;
#pragma unroll
            for (int q = 0; q < 4; q++) acc[j][q] += uj * v[q];
        }
    }
#pragma unroll
    for (int j0 = 0; j0 < R; j0 += 4) {
#pragma unroll
        for (int jj = 0; jj < 4; jj++)
#pragma unroll
            for (int q = 0; q < 4; q++) red[warp][jj][lane * 4 + q] = acc[j0 + jj][q];
        __syncthreads();
        for (int e = threadIdx.x; e < 4 * CB; e += 256) {
            const int jj = e / CB, cc = e % CB, j = j0 + jj, c = blockIdx.x * CB + cc;
            float s = 0.f;
#pragma unroll
            for (int w = 0; w < WARPS; w++) s += red[w][jj][cc];
            if (j < r && c < Cn) {
                float* g = G + j * sgj + c * sgc;
                *g = beta != 0.f ? alpha * s + beta * *g : alpha * s;
            }
        }
        __syncthreads();
    }
}

// --- launchers
#define LORA_MAX_SPLITS 32
// Rank limit of the skinny kernels: their per-lane accumulators are 4 x R (rows) and R x 4 (tokens) floats,
// 64 at R = 16; R = 32 would double that to 128 registers and spill, for a rank the recipes do not use.
#define LORA_SKINNY_MAX_R 16
// TRAINER_LORA=skinny|tiled, read by the backend at init. Unset = skinny (emulator-tested against the
// double-precision products, dev/NOTES.md experiment 7; plain fp32 SIMT code, which the emulator models).
enum LoraImpl { LORA_TILED = 0, LORA_SKINNY = 1 };
inline std::string lora_impl_from_env(LoraImpl* impl) {
    int c;
    std::string err = env_choice("TRAINER_LORA", {"tiled", "skinny"}, LORA_SKINNY, &c);
    *impl = (LoraImpl)c;
    return err;
}
inline const char* lora_impl_name(LoraImpl impl) {
    return impl == LORA_SKINNY ? "skinny (rows/tokens kernels for rank <= 16, tiled otherwise)" : "tiled (64x64 SIMT)";
}
inline bool lora_aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

template <typename TX, typename TW>
inline void lora_rows(float* C, long long ldc, const TX* X, long long ldx, const TW* W, long long swk, long long swj,
                      int M, int r, int K, float alpha, float beta, const DropoutSpec& drop, bool drop_x, cudaStream_t s) {
    const int vec = lora_aligned(X, 8 * sizeof(TX)) && ldx % 8 == 0;
    const int blocks = ceil_div(M, 8 * LORA_ROWS_PER_WARP);
    auto kern = r <= 4 ? lora_rows_kernel<4, TX, TW> : r <= 8 ? lora_rows_kernel<8, TX, TW> : lora_rows_kernel<16, TX, TW>;
    LAUNCH(kern, blocks, 256, s)(C, ldc, X, ldx, W, swk, swj, M, r, K, alpha, beta, drop, (int)drop_x, vec);
}

// (dn, dc): the dropout index of V(n, c) is n * dn + c * dc. scratch: LORA_MAX_SPLITS * r * Cn floats, or null.
template <typename TU, typename TV>
inline void lora_tokens(float* G, long long sgj, long long sgc, const TU* U, long long sun, long long suj, const TV* V,
                        long long svn, int r, int Cn, int N, float alpha, float beta, const DropoutSpec& drop, bool drop_v,
                        long long dn, long long dc, cudaStream_t s, float* scratch) {
    const int vec = lora_aligned(V, 4 * sizeof(TV)) && svn % 4 == 0;
    dim3 grid(ceil_div(Cn, LORA_TOK_COLS), 1);
    int splits = 1;
    if (scratch) {   // ~4 blocks of 8 warps per SM on 132 SMs, >= 64 tokens (8 per warp) per split
        int want = ceil_div(528, grid.x);
        splits = std::max(1, std::min(std::min(want, LORA_MAX_SPLITS), ceil_div(N, 64)));
    }
    const int n_chunk = ceil_div(ceil_div(N, splits), 8) * 8;
    splits = std::max(1, ceil_div(N, n_chunk));
    grid.y = splits;
    float* out = splits == 1 ? G : scratch;
    // the scratch holds each split's (r, Cn) sums in G's own layout, packed: (j, c) at j * sgj' + c * sgc'
    const long long pj = splits == 1 ? sgj : (sgc == 1 ? Cn : 1), pc = splits == 1 ? sgc : (sgc == 1 ? 1 : r);
    const float a = splits == 1 ? alpha : 1.f, b = splits == 1 ? beta : 0.f;
    auto kern = r <= 4   ? lora_tokens_kernel<4, TU, TV>
                : r <= 8 ? lora_tokens_kernel<8, TU, TV>
                         : lora_tokens_kernel<16, TU, TV>;
    LAUNCH(kern, grid, 256, s)(out, pj, pc, U, sun, suj, V, svn, r, Cn, N, a, b, drop, dn, dc, (int)drop_v, vec, n_chunk,
                               (long long)r * Cn);
    if (splits == 1) return;
    // G as the reduce kernel's (M, N) row-major view: (r, Cn) with ld sgj, or (Cn, r) with ld sgc
    const int blocks = elementwise_blocks((size_t)r * Cn);
    if (sgc == 1) LAUNCH(lora_splitk_reduce_kernel, blocks, 256, s)(G, sgj, scratch, splits, r, Cn, alpha, beta);
    else LAUNCH(lora_splitk_reduce_kernel, blocks, 256, s)(G, sgc, scratch, splits, Cn, r, alpha, beta);
}

// C (M, N) = alpha * A·B + beta * C with dropout on one operand or the output (see the top of this file).
// scratch: LORA_MAX_SPLITS * M * N floats enable split-K for long reductions (null = never split).
// With LORA_SKINNY, products with an output of <= LORA_SKINNY_MAX_R rows or columns and a contiguous long
// operand go to the rows / tokens kernels; the rest (K = r: u·Bᵀ, du·A) stay on the tiled kernel.
template <typename TA, typename TB>
inline void lora_matmul(float* C, long long ldc, const TA* A, long long sam, long long sak, const TB* B, long long sbk,
                        long long sbn, int M, int N, int K, float alpha, float beta, const DropoutSpec& drop,
                        LoraDropWhere where, cudaStream_t s, float* scratch = nullptr, LoraImpl impl = LORA_SKINNY) {
    if (M <= 0 || N <= 0) return;
    if (impl == LORA_SKINNY && K > LORA_SKINNY_MAX_R && where != LORA_DROP_C) {
        const int RM = LORA_SKINNY_MAX_R;
        if (N <= RM && sak == 1 && where != LORA_DROP_B) {   // x·Aᵀ, s·dy·B: C (M, N=r) over rows of A
            lora_rows(C, ldc, A, sam, B, sbk, sbn, M, N, K, alpha, beta, drop, where == LORA_DROP_A, s);
            return;
        }
        if (M <= RM && sbn == 1 && where != LORA_DROP_A) {   // duᵀ·x: C (M=r, N) = Uᵀ V with U = A, V = B
            lora_tokens(C, ldc, 1LL, A, sak, sam, B, sbk, M, N, K, alpha, beta, drop, where == LORA_DROP_B,
                        (long long)drop.ld, 1LL, s, scratch);
            return;
        }
        if (N <= RM && sam == 1 && where != LORA_DROP_B) {   // dyᵀ·u: C (M, N=r) = (Uᵀ V)ᵀ with V = Aᵀ, U = B
            lora_tokens(C, 1LL, ldc, B, sbk, sbn, A, sak, N, M, K, alpha, beta, drop, where == LORA_DROP_A, 1LL,
                        (long long)drop.ld, s, scratch);
            return;
        }
    }
    dim3 grid(ceil_div(N, 64), ceil_div(M, 64));
    auto kern = lora_matmul_kernel<TA, TB>;
    int splits = 1;
    if (scratch && where != LORA_DROP_C) {   // aim for ~2 waves of 132 SMs, >= 256 K per split
        int want = ceil_div(264, (long long)grid.x * grid.y);
        splits = std::max(1, std::min(std::min(want, LORA_MAX_SPLITS), K / 256));
    }
    if (splits == 1) {
        LAUNCH(kern, grid, 256, s)(C, ldc, A, sam, sak, B, sbk, sbn, M, N, K, alpha, beta, drop, (int)where, K, 0LL);
        return;
    }
    const int k_chunk = ceil_div(ceil_div(K, splits), 16) * 16;
    splits = ceil_div(K, k_chunk);
    grid.z = splits;
    LAUNCH(kern, grid, 256, s)(scratch, (long long)N, A, sam, sak, B, sbk, sbn, M, N, K, 1.f, 0.f, drop, (int)where, k_chunk,
                               (long long)M * N);
    LAUNCH(lora_splitk_reduce_kernel, elementwise_blocks((size_t)M * N), 256, s)(C, ldc, scratch, splits, M, N, alpha, beta);
}
