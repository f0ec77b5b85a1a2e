// Embedding gather: x (N, C) fp32 residual stream = table (V, C) bf16 rows of tokens (N).
// Token ids are checked on the host (0 <= id < V) before any launch.
#pragma once
#include "cuda_utils.cuh"

// --- kernels
__global__ void embedding_forward_kernel(float* x, const int32_t* tokens, const bf16* table, int N, int C) {
    int n = blockIdx.x;
    if (n >= N) return;
    const bf16* row = table + (size_t)tokens[n] * C;
    float* out = x + (size_t)n * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[c] = __bfloat162float(row[c]);
}

// --- launchers
inline void embedding_forward(float* x, const int32_t* tokens, const bf16* table, int N, int C, cudaStream_t s) {
    if (N > 0) LAUNCH(embedding_forward_kernel, N, 256, s)(x, tokens, table, N, C);
}
