// The small LoRA products in fp32 on CUDA cores: C (M, N) = alpha * A·B (+ beta * C), with A and B read
// through arbitrary strides (A(m, k) = A[m * sam + k * sak], B(k, n) = B[k * sbk + n * sbn]) so that
// every LoRA forward/backward product (x·Aᵀ, u·Bᵀ, dyᵀ·u, dy·B, duᵀ·x, du·A) is one call without
// transposes. Dropout multipliers are applied on the fly to the operand or output that is the LoRA
// input x (see dropout.cuh), so no mask and no dropped copy of x is stored.
// Rank r is small (4-64): these are ~r/out of the base FLOPs; the tile is 64x64x16, 4x4 outputs/thread.
// TODO(cuda): fuse x·Aᵀ into the base GEMM's A-tile loads and u·Bᵀ into its epilogue (issue #7).
#pragma once
#include "cuda_utils.cuh"
#include "dropout.cuh"

enum LoraDropWhere { LORA_DROP_NONE = 0, LORA_DROP_A = 1, LORA_DROP_B = 2, LORA_DROP_C = 3 };

// --- kernels
template <typename TA, typename TB>
__global__ void __launch_bounds__(256) lora_matmul_kernel(
    float* C, long long ldc, const TA* A, long long sam, long long sak, const TB* B, long long sbk, long long sbn,
    int M, int N, int K, float alpha, float beta, DropoutSpec drop, int drop_where) {
    constexpr int BM = 64, BN = 64, BK = 16;
    __shared__ float As[BK][BM + 1];
    __shared__ float Bs[BK][BN + 1];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int e = 0; e < 4; e++) {
            int idx = tid + 256 * e, mm, kk;
            if (sak == 1) { mm = idx / BK; kk = idx % BK; } else { kk = idx / BM; mm = idx % BM; }   // coalesce
            int m = m0 + mm, k = k0 + kk;
            float a = 0.f;
            if (m < M && k < K) {
                a = to_f32(A[m * sam + k * sak]);
                if (drop_where == LORA_DROP_A) a *= dropout_scale(drop, (uint64_t)m * drop.ld + k);
            }
            As[kk][mm] = a;
            int nn;
            if (sbn == 1) { kk = idx / BN; nn = idx % BN; } else { nn = idx / BK; kk = idx % BK; }
            int n = n0 + nn;
            k = k0 + kk;
            float bv = 0.f;
            if (n < N && k < K) {
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

// --- launchers
template <typename TA, typename TB>
inline void lora_matmul(float* C, long long ldc, const TA* A, long long sam, long long sak, const TB* B, long long sbk,
                        long long sbn, int M, int N, int K, float alpha, float beta, const DropoutSpec& drop,
                        LoraDropWhere where, cudaStream_t s) {
    if (M <= 0 || N <= 0) return;
    dim3 grid(ceil_div(N, 64), ceil_div(M, 64));
    auto kern = lora_matmul_kernel<TA, TB>;
    LAUNCH(kern, grid, 256, s)(C, ldc, A, sam, sak, B, sbk, sbn, M, N, K, alpha, beta, drop, (int)where);
}
