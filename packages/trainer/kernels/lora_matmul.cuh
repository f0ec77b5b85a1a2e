// The small LoRA products in fp32 on CUDA cores: C (M, N) = alpha * A·B (+ beta * C), with A and B read
// through arbitrary strides (A(m, k) = A[m * sam + k * sak], B(k, n) = B[k * sbk + n * sbn]) so that
// every LoRA forward/backward product (x·Aᵀ, u·Bᵀ, dyᵀ·u, dy·B, duᵀ·x, du·A) is one call without
// transposes. Dropout multipliers are applied on the fly to the operand or output that is the LoRA
// input x (see dropout.cuh), so no mask and no dropped copy of x is stored.
// Rank r is small (4-64): these are ~r/out of the base FLOPs; the tile is 64x64x16, 4x4 outputs/thread.
// Products that reduce over the tokens (dA, dB: K = B*T, output r x in or out x r) have few output tiles:
// they split K over gridDim.z into fixed chunks written to a scratch buffer, then a second kernel sums the
// chunks in a fixed order (deterministic, no atomics).
// TODO(cuda): fuse x·Aᵀ into the base GEMM's A-tile loads and u·Bᵀ into its epilogue (issue #7).
#pragma once
#include "cuda_utils.cuh"
#include "dropout.cuh"
#include <algorithm>

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

// --- launchers
#define LORA_MAX_SPLITS 32
// scratch: LORA_MAX_SPLITS * M * N floats enable split-K for long reductions (null = never split).
template <typename TA, typename TB>
inline void lora_matmul(float* C, long long ldc, const TA* A, long long sam, long long sak, const TB* B, long long sbk,
                        long long sbn, int M, int N, int K, float alpha, float beta, const DropoutSpec& drop,
                        LoraDropWhere where, cudaStream_t s, float* scratch = nullptr) {
    if (M <= 0 || N <= 0) return;
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
