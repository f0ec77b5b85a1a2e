// LoRA dropout without a stored mask: keep(seed, stream, idx) is a counter-based hash (splitmix64 of the
// seed, the stream = layer * 8 + target, and the element index n * in + i of the LoRA input x (N, in)).
// The same (seed, stream, idx) always gives the same decision, so forward, backward and recomputation
// agree, and runs are deterministic per seed. Kept elements are scaled by 1 / (1 - p).
#pragma once
#include "cuda_utils.cuh"

struct DropoutSpec {
    uint64_t seed = 0;
    uint32_t stream = 0;
    float p = 0.f;     // 0 = no dropout (inference, or dropout off)
    int ld = 0;        // row length of x (= in features), to turn (row, col) into an element index
};

// --- kernels
__host__ __device__ __forceinline__ uint64_t dropout_hash(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
// Multiplier for element idx: 0 or 1 / (1 - p).
__host__ __device__ __forceinline__ float dropout_scale(const DropoutSpec& d, uint64_t idx) {
    if (d.p <= 0.f) return 1.f;
    uint64_t h = dropout_hash(dropout_hash(d.seed ^ ((uint64_t)d.stream << 40)) + idx);
    float u = (float)(h >> 40) * (1.0f / 16777216.0f);    // 24 uniform bits in [0, 1)
    return u >= d.p ? 1.f / (1.f - d.p) : 0.f;
}

// Materialises the multipliers (N, ld) for tests.
__global__ void dropout_mask_kernel(float* out, DropoutSpec d, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = dropout_scale(d, i);
}

// --- launchers
inline void dropout_mask(float* out, const DropoutSpec& d, size_t n, cudaStream_t s) {
    if (n) LAUNCH(dropout_mask_kernel, elementwise_blocks(n), 256, s)(out, d, n);
}
